"""The main window's size and place on the screen it opens on.

First launch: a size taken from the screen's available geometry (the part not covered by panels), so the
window fits a 1024x640 laptop as well as a 1920x1080 monitor. A saved geometry is restored, then pulled
back inside the current screen (it may come from a bigger monitor that is no longer attached).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

PREFERRED = QSize(1280, 800)  # on a big screen the window does not fill it
MARGIN_SHARE = 0.9           # on smaller screens: this share of the available width and height


def first_size(available: QSize) -> QSize:
    """The first-launch window size on a screen whose available area is ``available``."""
    width = min(PREFERRED.width(), int(available.width() * MARGIN_SHARE))
    height = min(PREFERRED.height(), int(available.height() * MARGIN_SHARE))
    if available.width() <= 1100 or available.height() <= 700:  # a small laptop screen: use all of it
        width, height = available.width(), available.height()
    return QSize(width, height)


def clamp(frame: QRect, available: QRect) -> QRect:
    """``frame`` made to fit inside ``available``: shrunk if bigger, moved if partly off it."""
    width = min(frame.width(), available.width())
    height = min(frame.height(), available.height())
    x = min(max(frame.x(), available.x()), available.right() + 1 - width)
    y = min(max(frame.y(), available.y()), available.bottom() + 1 - height)
    return QRect(x, y, width, height)


def _screen_of(window: QWidget) -> QScreen | None:
    return window.screen() or QGuiApplication.primaryScreen()


def place_window(window: QWidget, saved: object) -> None:
    """Restore ``saved`` (a ``saveGeometry()`` value) or choose a first size; always inside the screen."""
    screen = _screen_of(window)
    restored = isinstance(saved, QByteArray) and not saved.isEmpty() and window.restoreGeometry(saved)
    if screen is None:
        if not restored:
            window.resize(PREFERRED)
        return
    available = screen.availableGeometry()
    if not restored:
        size = first_size(available.size())
        window.resize(size.boundedTo(available.size()))
        window.move(available.x() + (available.width() - window.width()) // 2,
                    available.y() + (available.height() - window.height()) // 2)
        return
    if window.isMaximized() or window.isFullScreen():
        return
    inside = clamp(window.geometry(), available)
    if inside != window.geometry():
        window.setGeometry(inside)
