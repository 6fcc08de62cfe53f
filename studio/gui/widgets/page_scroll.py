"""A page inside a frameless scroll area: the window can always shrink to a laptop screen; a page whose
content needs more room than the window has scrolls instead of growing the window past the screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class PageScroll(QScrollArea):
    """The page fills the visible area, or keeps its minimum size and scrolls. Not ``widgetResizable``: that
    sizes a page with wrapped text by its height-for-width, which adds up the *preferred* heights of
    everything else and so scrolled pages that fit."""

    def __init__(self, page: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # a parent already in the window: the page is reparented (restyled) once
        self.setObjectName(f"{page.objectName() or type(page).__name__}Scroll")
        self.setWidget(page)
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setProperty("pageScroll", True)  # a safety net, not a view: layout checks look through it
        page.installEventFilter(self)

    def fit(self) -> None:
        page = self.widget()
        if page is None:
            return
        need = page.minimumSizeHint().expandedTo(page.minimumSize())
        view = self.maximumViewportSize()
        width = max(view.width(), need.width())
        if width > view.width():  # a horizontal scroll bar takes height
            view.setHeight(view.height() - self.horizontalScrollBar().sizeHint().height())
        height = max(view.height(), need.height())
        if height > view.height() and width == view.width():
            width = max(view.width() - self.verticalScrollBar().sizeHint().width(), need.width())
        page.resize(width, height)

    def resizeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit()
        return super().eventFilter(watched, event)


def scrollable(page: QWidget, parent: QWidget | None = None) -> QScrollArea:
    return PageScroll(page, parent)


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
