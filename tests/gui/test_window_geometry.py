"""The window's first size comes from the screen, and a geometry saved on a bigger monitor is pulled back
inside the current screen (issue 23). The real-window check on Xvfb screens is test_real_window.py."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication

from studio.gui.main_window import MainWindow
from studio.gui.window_geometry import clamp, first_size


def test_first_size_fits_small_and_big_screens() -> None:
    assert first_size(QSize(1024, 640)) == QSize(1024, 640)
    small = first_size(QSize(1366, 768))
    assert small.width() <= 1366 and small.height() <= 768
    assert first_size(QSize(1920, 1080)) == QSize(1280, 800)


def test_clamp_moves_and_shrinks_into_the_screen() -> None:
    screen = QRect(0, 0, 1024, 640)
    assert clamp(QRect(1500, 900, 1280, 800), screen) == screen
    assert clamp(QRect(900, -40, 400, 300), screen) == QRect(624, 0, 400, 300)
    assert clamp(QRect(10, 10, 400, 300), screen) == QRect(10, 10, 400, 300)


def test_window_opens_inside_the_screen_even_with_a_saved_bigger_geometry(qtbot) -> None:  # noqa: ANN001
    available = QGuiApplication.primaryScreen().availableGeometry()
    first = MainWindow(warm_up=False)
    qtbot.addWidget(first)
    assert first.width() <= available.width() and first.height() <= available.height()
    first.setGeometry(QRect(available.right() + 300, 200, available.width() + 900, available.height() + 500))
    QSettings().setValue("window/geometry", first.saveGeometry())  # as saved on a bigger monitor
    first.close()
    win = MainWindow(warm_up=False)
    qtbot.addWidget(win)
    assert available.contains(win.geometry()), (win.geometry(), available)
    win.close()
