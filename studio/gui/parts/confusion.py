"""The confusion matrix as a clickable heatmap with counts: rows are true classes, columns predictions.

Shading is per row (the share of that true class), blue on the diagonal (right) and red off it (wrong),
so errors stand out whatever the class sizes are. Clicking a cell emits ``cell_clicked(true, predicted)``.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

RIGHT = QColor(33, 102, 172)
WRONG = QColor(202, 0, 32)
SELECTED = QColor(255, 170, 0)


def _mix(color: QColor, share: float) -> QColor:
    """White at share 0, ``color`` at share 1."""
    share = max(0.0, min(1.0, share))
    return QColor(int(255 + (color.red() - 255) * share), int(255 + (color.green() - 255) * share),
                  int(255 + (color.blue() - 255) * share))


class ConfusionMatrixWidget(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.matrix: list[list[int]] = []
        self.selected: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Click a cell to see those test images")

    def set_matrix(self, labels: list[str], matrix: list[list[int]]) -> None:
        self.labels = [str(x) for x in labels]
        self.matrix = [[int(v) for v in row] for row in matrix]
        self.selected = None
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(460, 460)

    # ----- geometry ------------------------------------------------------------------------------
    def _layout(self) -> tuple[int, int, int]:
        """(left, top, cell) of the grid inside the widget."""
        n = max(1, len(self.labels))
        label_w = self._label_width()
        left, top = label_w + 22, 32
        cell = max(12, min((self.width() - left - 8) // n, (self.height() - top - label_w - 8) // n))
        # Centre the grid in the space there is (the labels stay just left of it).
        left = max(left, (self.width() - n * cell) // 2)
        return left, top, cell

    def _label_width(self) -> int:
        return min(110, max(30, 8 * max((len(s) for s in self.labels), default=1) + 10))

    def cell_rect(self, true: int, predicted: int) -> QRect:
        left, top, cell = self._layout()
        return QRect(left + predicted * cell, top + true * cell, cell, cell)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        left, top, cell = self._layout()
        col, row = (pos.x() - left) // cell, (pos.y() - top) // cell
        n = len(self.labels)
        if pos.x() >= left and pos.y() >= top and 0 <= row < n and 0 <= col < n:
            return int(row), int(col)
        return None

    # ----- events --------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        hit = self.cell_at(event.position().toPoint())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = hit
            self.update()
            self.cell_clicked.emit(*hit)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        hit = self.cell_at(event.position().toPoint())
        if hit is None:
            self.setToolTip("Click a cell to see those test images")
            return
        t, p = hit
        self.setToolTip(f"true {self.labels[t]}, predicted {self.labels[p]}: {self.matrix[t][p]} images")

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        if not self.matrix:
            painter.setPen(QColor("#888"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No report yet")
            return
        left, top, cell = self._layout()
        n = len(self.labels)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(11.0, cell / 4.2)))
        painter.setFont(font)
        for t in range(n):
            total = sum(self.matrix[t]) or 1
            for p in range(n):
                value = self.matrix[t][p]
                share = value / total
                color = _mix(RIGHT if t == p else WRONG, share if t == p else min(1.0, share * 2.5))
                rect = self.cell_rect(t, p)
                painter.fillRect(rect, color)
                painter.setPen(QColor("#e3e6ea"))
                painter.drawRect(rect)
                if value or t == p:
                    dark = (0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()) < 140
                    painter.setPen(QColor("white") if dark else QColor("#222"))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(value))
        if self.selected is not None:
            painter.setPen(SELECTED)
            pen = painter.pen()
            pen.setWidth(3)
            painter.setPen(pen)
            painter.drawRect(self.cell_rect(*self.selected).adjusted(1, 1, -1, -1))

        painter.setPen(QColor("#333"))
        for i, name in enumerate(self.labels):
            r = self.cell_rect(i, 0)
            label_w = self._label_width()
            painter.drawText(QRect(left - label_w - 6, r.top(), label_w, cell),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            c = self.cell_rect(n - 1, i)
            painter.save()
            painter.translate(c.center().x(), c.bottom() + 6)
            painter.rotate(-90 if len(name) > 3 else 0)
            flags = (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) if len(name) > 3 \
                else Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
            box = QRect(-100, -cell // 2, 100, cell) if len(name) > 3 else QRect(-cell // 2, 0, cell, 20)
            painter.drawText(box, flags, name)
            painter.restore()
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        grid_w = n * cell
        # The titles are centred on the grid but never narrower than their text: a small grid must not clip
        # them ("redicted clas" at 1024x640).
        title_w = painter.fontMetrics().horizontalAdvance("predicted class") + 12
        centre = left + grid_w // 2
        title_x = max(0, min(centre - title_w // 2, self.width() - title_w))
        painter.drawText(QRect(title_x, 4, title_w, 24), Qt.AlignmentFlag.AlignCenter, "predicted class")
        painter.save()
        painter.translate(left - self._label_width() - 10, top + grid_w // 2)
        painter.rotate(-90)
        side_w = max(grid_w, painter.fontMetrics().horizontalAdvance("true class") + 12)
        painter.drawText(QRect(-side_w // 2, -10, side_w, 20), Qt.AlignmentFlag.AlignCenter, "true class")
        painter.restore()
