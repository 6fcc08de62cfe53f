"""The Images page on a real project: drop import + report, keyboard labelling, undo/redo, class edits,
filters, trash, drag onto a class, preview, and no label lost when the app is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.core.project.store import Project
from studio.gui.main_window import MainWindow
from tests.gui.conftest import write_images

ROOT = Path(__file__).resolve().parents[2]


def _drop_urls(target, paths: list[Path]) -> QDropEvent:  # noqa: ANN001
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(target.width() // 2, target.height() // 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return drop


def test_drop_a_folder_imports_it_and_reports(window: MainWindow, qtbot, tmp_path: Path, demo_path: Path) -> None:  # noqa: ANN001
    page = window.images_page
    folder = tmp_path / "drop"
    write_images(folder / "cats", 6, seed=1)
    write_images(folder / "dogs", 5, seed=2)
    (folder / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (folder / "notes.jpg").write_text("hello")
    project = window.session.project
    shutil.copy(project.image_path(project.images()[0]), folder / "cats" / "copy_of_demo.png")

    with qtbot.waitSignal(page.import_finished, timeout=30_000) as blocker:
        drop = _drop_urls(window, [folder])
        assert drop.isAccepted()
        assert page.progress.isVisible()  # progress strip with Cancel while the import runs
    report = blocker.args[0]
    assert len(report.added) == 11
    assert len(report.duplicates) == 1
    reasons = {Path(r["path"]).name: r["reason"] for r in report.rejected}
    assert set(reasons) == {"broken.png", "notes.jpg"}
    assert "not an image" in reasons["notes.jpg"]

    dialog = page.last_report_dialog
    assert dialog is not None and dialog.isVisible()
    assert "11 images added" in dialog.headline.text() and "2 files rejected" in dialog.headline.text()
    assert dialog.rejected_table.rowCount() == 2
    assert dialog.duplicates_table.rowCount() == 1
    cells = {dialog.rejected_table.item(r, 1).text() for r in range(2)}
    assert any("not an image" in c for c in cells)
    dialog.close()

    counts = project.counts()
    assert sum(counts["cats"].values()) == 6 and sum(counts["dogs"].values()) == 5
    qtbot.waitUntil(lambda: page.model.rowCount() == 211)
    assert not page.progress.isVisible()


def test_cancel_an_import(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    page = window.images_page
    write_images(tmp_path / "many", 300, size=16, seed=3)
    with qtbot.waitSignal(page.import_finished, timeout=30_000) as blocker:
        page.import_paths([str(tmp_path / "many")])
        page.progress.cancel_button.click()
    report = blocker.args[0]
    # A cancel at once stops the child while it starts or after its batch; a fast machine may finish the one
    # batch first, and then the report says so (the cancel mid-import is the next test's).
    assert (report.cancelled and len(report.added) < 300) or (not report.cancelled and len(report.added) == 300)
    # What was imported before the cancel is complete and shown.
    assert len(window.session.project.images()) == 200 + len(report.added)


def test_cancel_mid_import_reports_what_the_child_process_kept(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    """The import runs in a child process; a cancel after it has started stops it after a batch, and the
    report it sends back is exactly what the project now holds."""
    page = window.images_page
    write_images(tmp_path / "many", 3000, size=16, seed=4)
    job = page.import_paths([str(tmp_path / "many")])
    assert job is not None and job.is_running()
    seen: list[int] = []
    job.progress.connect(lambda event: (seen.append(event.done), len(seen) == 1 and page.cancel_import()))
    with qtbot.waitSignal(page.import_finished, timeout=60_000) as blocker:
        pass
    report = blocker.args[0]
    assert seen and report.cancelled and len(report.added) < 3000
    assert len(window.session.project.images()) == 200 + len(report.added)
    assert page.import_job is None and not page.progress.isVisible()
    qtbot.waitUntil(lambda: page.model.rowCount() == 200 + len(report.added))


def test_a_killed_import_is_reported_and_keeps_its_batches(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    page = window.images_page
    write_images(tmp_path / "many", 3000, size=16, seed=5)
    job = page.import_paths([str(tmp_path / "many")])
    job.progress.connect(lambda event: event.added >= 256 and job.kill())
    qtbot.waitUntil(lambda: page.last_error_box is not None, timeout=60_000)
    assert "crashed or was killed" in page.last_error_box.text()
    kept = len(window.session.project.images())
    assert 200 < kept < 3200  # whole batches only, each with its file
    for record in window.session.project.images():
        assert window.session.project.image_path(record).is_file()
    page.last_error_box.close()
    qtbot.waitUntil(lambda: page.model.rowCount() == kept)


def _ids(page, rows) -> list[int]:  # noqa: ANN001
    return [page.model.record(r).id for r in rows]


def test_keyboard_labelling_of_20_images_then_undo_and_redo(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    project = window.session.project
    page.grid.setFocus()
    first = _ids(page, range(20))
    page.grid.select_ids(first[:1])
    # Digit-named classes: the digit key labels the class of that name; "-" unlabels (0 is a class here).
    assert [page.class_panel.tree.topLevelItem(r).text(0) for r in (0, 1, 10)] == ["0", "1", "-"]
    keys = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_Minus] * 5
    for key in keys:
        qtbot.keyClick(page.grid, key)  # labels the selected image and moves on to the next
    names = project.class_names()
    expected = {0: "1", 1: "2", 2: "3", 3: None}
    labels = {r.id: r.label for r in project.images(ids=first)}
    assert [labels[i] for i in first] == [expected[k % 4] for k in range(20)]
    assert window.session.undo_stack.count() == 20

    # Ctrl+Z through the real shortcut of the Edit menu.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(page.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.image(first[19]).label == "0"  # the 20th label (unlabel) is undone
    for _ in range(19):
        window.undo_action.trigger()
    assert [r.label for r in project.images(ids=first)] == ["0"] * 20
    qtbot.keyClick(page.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert project.image(first[0]).label == "1" and names[1] == "1"
    assert project.image(first[1]).label == "0"


def test_a_click_on_a_class_only_picks_it_the_label_button_or_a_double_click_labels(window: MainWindow,
                                                                                  qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    ids = _ids(page, range(5, 12))
    page.grid.select_ids(ids)
    tree = page.class_panel.tree
    item = tree.topLevelItem(4)  # class "4"
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert {r.label for r in window.session.project.images(ids=ids)} == {"0"}  # a click is no relabel
    assert page.class_panel.label_button.text() == "Label as 4"
    qtbot.mouseClick(page.class_panel.label_button, Qt.MouseButton.LeftButton)
    assert {r.label for r in window.session.project.images(ids=ids)} == {"4"}
    page.grid.select_ids(ids[:2])
    rect = tree.visualItemRect(tree.topLevelItem(5))
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert {r.label for r in window.session.project.images(ids=ids[:2])} == {"5"}
    qtbot.waitUntil(lambda: tree.topLevelItem(4).text(2) == str(19 + 5))  # counts refreshed


def test_drag_thumbnails_onto_a_class(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    rows = [0, 1, 2]
    mime = page.model.mimeData([page.model.index(r) for r in rows])
    tree = page.class_panel.tree
    target = tree.visualItemRect(tree.topLevelItem(6)).center()
    enter = QDragEnterEvent(target, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tree.viewport(), enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(target), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tree.viewport(), drop)
    assert {r.label for r in window.session.project.images(ids=_ids(page, rows))} == {"6"}


def test_class_add_rename_recolour_merge_and_undo(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    panel = window.images_page.class_panel
    project = window.session.project
    stack = window.session.undo_stack
    by_name = {c.name: c for c in project.classes()}
    panel.rename_class(by_name["1"], "one")
    panel.recolor_class(by_name["2"], "#123456")
    added = panel.add_class("extra")
    assert project.class_names()[-1] == "extra" and added.color
    n_three = sum(project.counts()["3"].values())
    n_seven = sum(project.counts()["7"].values())
    panel.merge_classes(by_name["3"], by_name["7"])
    assert "3" not in project.class_names()
    assert sum(project.counts()["7"].values()) == n_three + n_seven
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == len(project.classes()) + 1)

    stack.undo()  # merge
    assert sum(project.counts()["3"].values()) == n_three and sum(project.counts()["7"].values()) == n_seven
    stack.undo()  # add
    assert "extra" not in project.class_names()
    stack.undo()  # recolour
    assert project.class_by_name("2").color == by_name["2"].color
    stack.undo()  # rename
    assert project.class_by_name("1") is not None
    stack.redo()
    stack.redo()
    stack.redo()
    stack.redo()
    assert "one" in project.class_names() and "extra" in project.class_names() and "3" not in project.class_names()


def test_delete_class_asks_first(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    panel = window.images_page.class_panel
    project = window.session.project
    info = project.class_by_name("5")
    n = sum(project.counts()["5"].values())

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox) and "5" in box.text()
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    assert panel.delete_class(info) is False
    assert "5" in project.class_names()
    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Yes))
    assert panel.delete_class(info) is True
    assert "5" not in project.class_names()
    assert sum(project.counts()[None].values()) == n  # its images are now unlabelled
    window.session.undo_stack.undo()
    assert sum(project.counts()["5"].values()) == n


def test_filters_and_search(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    project = window.session.project
    three = project.class_by_name("3")
    page.set_filter("class", three.id)
    assert {r.label for r in page.model.records()} == {"3"}
    assert page.model.rowCount() == sum(project.counts()["3"].values())
    page.set_filter("class", three.id, split="val")
    assert {(r.label, r.split) for r in page.model.records()} == {("3", "val")}
    page.set_filter("unlabelled")
    assert page.model.rowCount() == 0 and page.views.currentWidget() is page.empty
    assert "No image matches" in page.empty.body.text()
    page.set_filter("all", search="digit_001")
    assert sorted(r.original_name for r in page.model.records()) == [f"digit_001{i}.png" for i in range(10)
                                                                       if f"digit_001{i}.png" in
                                                                       {x.original_name for x in project.images()}]
    assert page.model.rowCount() > 0
    # typing in the search box filters after a short pause
    page.set_filter("all")
    page.search.setText("digit_0000")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)


def test_delete_moves_to_trash_and_restore(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    project = window.session.project
    ids = _ids(page, range(3))
    page.grid.select_ids(ids)
    page.grid.setFocus()
    qtbot.keyClick(page.grid, Qt.Key.Key_Delete)
    assert len(project.images()) == 197 and len(project.images(trashed=True)) == 3
    qtbot.waitUntil(lambda: page.model.rowCount() == 197)
    page.set_filter("trash")
    assert sorted(r.id for r in page.model.records()) == sorted(ids)
    assert page.restore_button.isVisible()
    page.grid.select_ids(ids[:2])
    page.restore_button.click()
    assert len(project.images(trashed=True)) == 1
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    window.session.undo_stack.undo()  # the restore
    window.session.undo_stack.undo()  # the delete
    assert len(project.images(trashed=True)) == 0


def test_double_click_opens_preview_with_arrow_navigation(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    # QListView lays out its items on a deferred timer after the model fills.
    qtbot.waitUntil(lambda: page.grid.visualRect(page.model.index(2)).isValid())
    rect = page.grid.visualRect(page.model.index(2))
    # A real double click is press, release, then a double-click event (QTest sends only the last).
    qtbot.mouseClick(page.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = page.preview_dialog
    assert dialog is not None and dialog.isVisible() and dialog.index == 2
    qtbot.waitUntil(lambda: dialog.picture.pixmap() is not None and not dialog.picture.pixmap().isNull())
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.record.id == page.model.record(3).id
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert dialog.index == 1
    assert dialog.record.original_name in dialog.windowTitle()
    details = [dialog.details.itemAt(i).widget().text() for i in range(dialog.details.count())
               if dialog.details.itemAt(i).widget() is not None]
    assert "64 × 64 px" in details and "0" in details
    dialog.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_right_after_labelling_loses_no_label(demo_path: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QSettings, Qt, QTimer
        from PySide6.QtTest import QTest
        from studio.gui.app import create_application
        app = create_application()
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, {str(tmp_path)!r})
        from studio.gui.main_window import MainWindow
        w = MainWindow(warm_up=False)
        w.show()
        w.open_project({str(demo_path)!r})
        page = w.images_page
        def label():
            page.grid.select_ids([page.model.record(r).id for r in range(25)])
            QTest.keyClick(page.grid, Qt.Key.Key_9)
            page.grid.select_ids([page.model.record(r).id for r in range(25, 30)])
            QTest.keyClick(page.grid, Qt.Key.Key_Minus)
            print("labelled", flush=True)
        QTimer.singleShot(0, label)
        app.exec()
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STUDIO_NO_WARMUP="1")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "labelled"
        proc.send_signal(signal.SIGKILL)  # no chance to close or flush anything
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with Project.open(demo_path) as project:
        records = project.images()
        assert [r.label for r in records[:25]] == ["9"] * 25  # key 9 = the class called "9"
        assert [r.label for r in records[25:30]] == [None] * 5
        assert project.integrity_check() == "ok"


def test_tiles_are_made_within_a_budget_per_frame_then_all_shown(window: MainWindow, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """When every visible thumbnail arrives at once, one paint makes only as many tiles as fit in the frame
    budget; the others follow in the next frames, and in the end every visible tile shows its image.
    (Uncontended, a tile takes ~0.2 ms here; with the GIL contended it took up to ~3 ms, hence the budget.
    The budget is made small so that one frame cannot hold all the tiles on any machine.)"""
    from studio.gui.widgets import thumbnail_grid as tg

    monkeypatch.setattr(tg, "TILE_BUDGET_S", 0.0005)

    page = window.images_page
    grid, model = page.grid, page.model
    delegate = grid.itemDelegate()
    qtbot.waitUntil(grid.settled, timeout=20_000)
    visible = [r for r in range(model.rowCount()) if grid.visualRect(model.index(r)).intersects(
        grid.viewport().rect())]
    assert len(visible) >= 12
    # Forget every made tile: the next paint has them all to make again.
    delegate._tiles.clear()
    grid.viewport().repaint()
    made_first = sum(1 for r in visible if model.record(r).id in delegate._tiles)
    assert delegate._spent >= tg.TILE_BUDGET_S and 1 <= made_first < len(visible)
    qtbot.waitUntil(grid.settled, timeout=20_000)
    for r in visible:
        key, _pixmap = delegate._tiles[model.record(r).id]
        assert key[3] is True  # the tile was made with its thumbnail
