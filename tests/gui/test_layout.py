"""The studio on a laptop and on a big screen: at 1024x640, 1366x768 and 1920x1080 every page and dialog fits
(no child past the window, no page that needs scrolling, the main action visible) and nothing the user does
grows the window. Screenshots of every page at each size go to test-artifacts/layout_*.png."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget

from studio.gui.main_window import MainWindow
from studio.gui.widgets.page_scroll import needs_scrolling
from tests.gui.helpers import trained_demo

SIZES = ((1024, 640), (1366, 768), (1920, 1080))
PAGE_NAMES = ("images", "augment", "train", "evaluate", "export")


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_demo(tmp_path_factory.mktemp("layout") / "demo", "dense", 1)


@pytest.fixture
def laptop(qtbot, trained_template: Path, tmp_path: Path) -> MainWindow:  # noqa: ANN001
    path = tmp_path / "demo"
    shutil.copytree(trained_template, path)
    win = MainWindow(warm_up=False)
    qtbot.addWidget(win)
    win.resize(1024, 640)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(path)
    yield win
    win.close()


def _inside_scrolled_view(widget: QWidget, top: QWidget) -> bool:
    """Inside an inner scroll area's viewport (a list, a table, a scrolled settings panel): clipped by design."""
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        grand = parent.parentWidget()
        if isinstance(grand, QAbstractScrollArea) and parent is grand.viewport() and \
                not grand.property("pageScroll"):
            return True
        parent = grand
    return False


def overflowing(top: QWidget) -> list[str]:
    """Visible widgets that extend past ``top`` (the window or a dialog)."""
    bounds = top.rect()
    out = []
    for child in top.findChildren(QWidget):
        if not child.isVisible() or child.isWindow() or _inside_scrolled_view(child, top):
            continue
        rect = QRect(child.mapTo(top, child.rect().topLeft()), child.size())
        if not bounds.adjusted(-1, -1, 1, 1).contains(rect):
            out.append(f"{type(child).__name__}#{child.objectName()} {rect.getRect()} in {bounds.getRect()}")
    return out


def main_actions(win: MainWindow) -> list[QWidget]:
    return [win.images_page.import_button, win.pages.augment.preset, win.pages.train.queue_button,
            win.pages.evaluate.save_json_button, win.pages.export.export_button]


def test_every_page_fits_each_screen_size(laptop: MainWindow, qtbot, artifacts_dir: Path) -> None:  # noqa: ANN001
    win = laptop
    assert win.minimumSizeHint().width() <= 1024 and win.minimumSizeHint().height() <= 640
    for width, height in SIZES:
        win.resize(width, height)
        for row, name in enumerate(PAGE_NAMES):
            win.show_page(row)
            QApplication.processEvents()
            assert (win.width(), win.height()) == (width, height), f"{name} resized the window"
            area = win.page_stack.currentWidget()
            assert not needs_scrolling(area), f"{name} needs {area.widget().minimumSizeHint()} at {width}x{height}"
            assert overflowing(win) == [], name
            action = main_actions(win)[row]
            assert action.isVisible() and action.visibleRegion().boundingRect().size() == action.size(), name
            if row == 0:
                qtbot.waitUntil(win.images_page.grid.settled, timeout=20_000)
            win.grab().save(str(artifacts_dir / f"layout_{width}x{height}_{row + 1}_{name}.png"))


def test_nothing_the_user_does_grows_the_window(laptop: MainWindow, qtbot) -> None:  # noqa: ANN001
    win = laptop
    page = win.images_page
    page.grid.select_ids([page.model.record(r).id for r in range(3)])
    page.trash_selection()
    page.set_filter("trash")
    assert page.restore_button.isVisible()
    QApplication.processEvents()
    assert win.width() == 1024 and overflowing(win) == []

    evaluate = win.pages.evaluate
    win.show_page(3)
    qtbot.waitUntil(lambda: evaluate.report is not None, timeout=60_000)
    win.session.images_changed.emit()  # "labels changed since this report"
    QApplication.processEvents()
    assert "Labels changed" in evaluate.status.text()
    assert win.width() == 1024 and overflowing(win) == []
    assert evaluate.save_json_button.visibleRegion().boundingRect().size() == evaluate.save_json_button.size()


def test_dialogs_fit_a_laptop_screen(laptop: MainWindow, qtbot, artifacts_dir: Path) -> None:  # noqa: ANN001
    from studio.gui.widgets.help_views import GettingStartedDialog, ShortcutSheet

    win = laptop
    page = win.images_page
    page.open_preview(0)
    page.open_camera(source=str(artifacts_dir / "no-such-video.mp4"))
    dialogs = {"preview": page.preview_dialog, "camera": page.camera_dialog,
               "guide": GettingStartedDialog(win), "shortcuts": ShortcutSheet(win)}
    for name, dialog in dialogs.items():
        dialog.show()
        qtbot.waitExposed(dialog)
        for width, height in SIZES:
            assert dialog.minimumSizeHint().width() <= width and dialog.minimumSizeHint().height() <= height - 40
        assert dialog.width() <= 1024 and dialog.height() <= 640 - 40, name
        QApplication.processEvents()
        assert overflowing(dialog) == [], name
        dialog.grab().save(str(artifacts_dir / f"layout_dialog_{name}.png"))
        dialog.close()
