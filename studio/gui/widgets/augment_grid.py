"""A grid of model-input images (float 0..1, gray or RGB), drawn pixel-sharp at a readable size."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QWidget


def array_to_qimage(image: np.ndarray) -> QImage:
    """``H x W`` / ``H x W x 1`` / ``H x W x 3`` array, float 0..1 or uint8 -> a QImage that owns its pixels."""
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
    def __init__(self, count: int = 16, columns: int = 4, cell: int = 112, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell
        self.cells: list[QLabel] = []
        grid = QGridLayout(self)
        grid.setSpacing(8)
        grid.setContentsMargins(0, 0, 0, 0)
        for i in range(count):
            label = QLabel()
            label.setFixedSize(cell + 4, cell + 4)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setFrameShape(QFrame.Shape.StyledPanel)
            label.setStyleSheet("QLabel{background:#eef0f3;border:1px solid #d5d9e0;border-radius:3px}")
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            self.cells.append(label)
            grid.addWidget(label, i // columns, i % columns)

    def set_images(self, images: list[np.ndarray]) -> None:
        for label, image in zip(self.cells, images):
            label.setPixmap(pixmap_for(image, self.cell))
        for label in self.cells[len(images):]:
            label.clear()

    def clear(self, text: str = "") -> None:
        for label in self.cells:
            label.clear()
        if self.cells and text:
            self.cells[0].setText(text)

    def shown_count(self) -> int:
        return sum(1 for c in self.cells if c.pixmap() is not None and not c.pixmap().isNull())
