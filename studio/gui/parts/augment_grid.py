"""A grid of model-input images (float 0..1, gray or RGB), drawn pixel-sharp at a readable size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:
    import numpy as np


def array_to_qimage(image: np.ndarray) -> QImage:
    """``H x W`` / ``H x W x 1`` / ``H x W x 3`` array, float 0..1 or uint8 -> a QImage that owns its pixels."""
    import numpy as np  # on first use: NumPy is not on the window's start-up path

    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()


def pixmap_for(image: np.ndarray, size: int) -> QPixmap:
    """Scaled up without smoothing, so the user sees the very pixels the model gets."""
    return QPixmap.fromImage(array_to_qimage(image)).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


class AugmentGrid(QWidget):
    """``count`` images in ``columns`` columns, painted pixel-sharp; the cells grow and shrink with the widget
    (between ``min_cell`` and ``max_cell`` pixels), so the page reflows on a laptop and fills a big screen."""

    def __init__(self, count: int = 16, columns: int = 4, cell: int = 112, parent: QWidget | None = None, *,
                 min_cell: int = 56, max_cell: int = 200) -> None:
        super().__init__(parent)
        self.count, self.columns, self.cell = count, columns, cell
        self.min_cell, self.max_cell, self.spacing = min_cell, max_cell, 8
        self.images: list[QImage] = []
        self.message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def rows(self) -> int:
        return -(-self.count // self.columns)

    def _extent(self, cell: int, n: int) -> int:
        return n * (cell + 4) + (n - 1) * self.spacing

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self._extent(self.cell, self.columns), self._extent(self.cell, self.rows))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self._extent(self.min_cell, self.columns), self._extent(self.min_cell, self.rows))

    def cell_size(self) -> int:
        """The side of one cell at the widget's current size."""
        fit_w = (self.width() - (self.columns - 1) * self.spacing) // self.columns - 4
        fit_h = (self.height() - (self.rows - 1) * self.spacing) // self.rows - 4
        return max(self.min_cell, min(self.max_cell, fit_w, fit_h))

    def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        cell = self.cell_size()
        painter.setPen(QColor("#d5d9e0"))
        for i in range(self.count):
            x = (i % self.columns) * (cell + 4 + self.spacing)
            y = (i // self.columns) * (cell + 4 + self.spacing)
            painter.fillRect(x, y, cell + 4, cell + 4, QColor("#eef0f3"))
            painter.drawRect(x, y, cell + 3, cell + 3)
            if i < len(self.images):
                image = self.images[i].scaled(cell, cell, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.FastTransformation)
                painter.drawImage(x + 2 + (cell - image.width()) // 2, y + 2 + (cell - image.height()) // 2, image)
            elif i == 0 and self.message:
                painter.setPen(QColor("#555"))
                painter.drawText(x, y, cell + 4, cell + 4, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                 self.message)
                painter.setPen(QColor("#d5d9e0"))
        painter.end()

    def set_images(self, images: list[np.ndarray]) -> None:
        self.images = [array_to_qimage(image) for image in images[:self.count]]
        self.message = ""
        self.update()

    def clear(self, text: str = "") -> None:
        self.images = []
        self.message = text
        self.update()

    def shown_count(self) -> int:
        return len(self.images)
