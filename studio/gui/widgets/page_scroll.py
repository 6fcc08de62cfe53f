"""A page inside a frameless scroll area: the window can always shrink to a laptop screen; a page whose
content needs more room than the window has scrolls instead of growing the window past the screen."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


def scrollable(page: QWidget, *, horizontal: bool = True) -> QScrollArea:
    area = QScrollArea()
    area.setObjectName(f"{page.objectName() or type(page).__name__}Scroll")
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setProperty("pageScroll", True)  # a safety net, not a view: layout checks look through it
    if not horizontal:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def needs_scrolling(area: QScrollArea) -> bool:
    """True when the page does not fit: its minimum size is larger than the visible part."""
    page = area.widget()
    if page is None:
        return False
    need = page.minimumSizeHint().expandedTo(page.minimumSize())
    view = area.viewport().size()
    return need.width() > view.width() or need.height() > view.height()


class VerticalScroll(QScrollArea):
    """A panel that scrolls up and down only: always as wide as its content needs (never clipped sideways)."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        content = self.widget()
        width = content.minimumSizeHint().width() if content is not None else 0
        return QSize(width + self.verticalScrollBar().sizeHint().width() + 2, 80)
