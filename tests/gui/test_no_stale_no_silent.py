"""Regression tests: nothing of the previous project stays on show, and every failed action says what happened.
Also the labelling keys and type-to-label that a first-time user relies on, and tooltips on number fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QApplication, QInputDialog, QMessageBox

from studio.core.project.store import Project
from studio.gui.main_window import MainWindow
from studio.gui.parts.camera_widget import CameraWidget
from tests.gui.conftest import write_images


def _new_project(window: MainWindow, path: Path) -> Project:
    Project.create(path).close()
    assert window.open_project(path)
    return window.session.project


def test_switching_project_leaves_nothing_of_the_old_one(window: MainWindow, tmp_path: Path) -> None:
    train, export = window.pages.train, window.pages.export
    train.progress_title.setText("Finished cnn")  # what a finished run leaves on the banner
    train.progress_detail.setText("run 20260101-000000-001-cnn · best val accuracy 0.99")
    export.out_edit.setText("/somewhere/Handwritten-digits-demo-run-none")  # the old project's folder
    _new_project(window, tmp_path / "fresh")
    assert train.progress_title.text() == "No run is training"
    assert "run 2026" not in train.progress_detail.text()
    assert export.out_edit.text() == "" and "Train a model first" in export.out_edit.placeholderText()


def test_training_form_is_kept_with_the_project(window: MainWindow, tmp_path: Path) -> None:
    train = window.pages.train
    train.set_arch("cnn_dropout")
    train.with_aug.setChecked(False)
    train.epochs.setValue(7)
    train.settings.image_size.setValue(24)
    train.settings.save()
    path = window.session.project.root
    _new_project(window, tmp_path / "other")
    assert train.settings.arch() != "cnn_dropout" or train.epochs.value() != 7
    assert window.open_project(path)  # reopened: the form reads as it was left
    assert train.settings.arch() == "cnn_dropout" and train.epochs.value() == 7
    assert not train.with_aug.isChecked() and train.settings.image_size.value() == 24


def test_import_with_a_class_filter_shows_the_new_images(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    page = window.images_page
    page.show_reports = False
    first = window.session.project.classes()[3]
    page.set_filter("class", first.id)
    with qtbot.waitSignal(page.import_finished, timeout=120_000):
        page.import_paths([str(p) for p in write_images(tmp_path / "new", 5, seed=9)])
    assert page.current_filter() == ("all", None)
    qtbot.waitUntil(lambda: page.model.rowCount() == 205, timeout=20_000)


def test_import_and_capture_without_a_project_say_so(qtbot) -> None:  # noqa: ANN001
    win = MainWindow(warm_up=False)
    qtbot.addWidget(win)
    win.show()
    win.import_action.trigger()  # File > Import Images… with no project open
    box = win.images_page.last_error_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "needs an open project" in box.text()
    assert "New Project" in box.informativeText()
    box.close()
    win.images_page.open_camera()
    assert win.images_page.camera_dialog is None and win.images_page.last_error_box.isVisible()
    win.images_page.last_error_box.close()


def test_capture_with_no_camera_says_what_to_do(window: MainWindow, qtbot, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("studio.gui.parts.camera_widget.list_cameras", lambda: [])
    camera = CameraWidget(window.session)
    qtbot.addWidget(camera)
    camera.capture_one()
    assert "no camera is open" in camera.status.text() and "Video file" in camera.status.text()
    camera.start_burst()
    assert not camera.recording


def test_failed_browser_and_file_manager_give_the_address(window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtGui import QDesktopServices

    export = window.pages.export
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "index.html").write_text("<html>ok</html>")
    export.last_export = {"out": str(bundle)}
    # No handler: like a desktop with no browser or file manager registered, openUrl fails.
    for scheme in ("http", "file"):
        QDesktopServices.unsetUrlHandler(scheme)
    window.show_page(4)
    export.preview()
    try:
        url = export.server.url
        notice = export.link_notice  # said in the window, not only on the terminal
        assert notice.isVisible() and url in notice.text.text() and "No web browser" in notice.text.text()
        notice.copy_button.click()
        assert QApplication.clipboard().text() == url
        export.open_folder()
        assert str(bundle) in notice.text.text() and notice.copy_button.text() == "Copy folder"
    finally:
        export.stop_preview()


def test_browser_that_cannot_start_is_said_in_the_window(window: MainWindow, tmp_path: Path, qtbot,  # noqa: ANN001
                                                         monkeypatch) -> None:
    """Issue 23: on a Linux desktop Qt starts xdg-open and calls that success even when no browser then starts.
    Here the real xdg-open runs with a browser that cannot start ($BROWSER=/bin/false)."""
    import shutil as sh

    if sh.which("xdg-open") is None:
        pytest.skip("xdg-open is not installed")
    monkeypatch.setenv("BROWSER", "/bin/false")
    monkeypatch.delenv("XDG_CURRENT_DESKTOP", raising=False)
    monkeypatch.delenv("DESKTOP_SESSION", raising=False)
    export = window.pages.export
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "index.html").write_text("<html>ok</html>")
    export.last_export = {"out": str(bundle)}
    export.browser.use_xdg_open = True  # what a Linux desktop (xcb or wayland) uses; offscreen has no xdg-open path
    window.show_page(4)
    export.preview()
    try:
        url = export.server.url
        qtbot.waitUntil(export.link_notice.isVisible, timeout=20_000)
        assert url in export.link_notice.text.text()
        export.link_notice.copy_button.click()
        assert QApplication.clipboard().text() == url
    finally:
        export.stop_preview()


def test_duplicate_class_name_keeps_what_was_typed(window: MainWindow) -> None:
    panel = window.images_page.class_panel
    dialog = panel._ask_add()
    dialog.setTextValue(" 3 ")
    dialog.accept()
    again = panel.name_dialog
    assert again is not dialog and again.isVisible()
    assert again.textValue() == "3" and "already a class called “3”" in again.labelText()
    again.setTextValue("three")
    again.accept()
    assert window.session.project.class_by_name("three") is not None
    assert isinstance(again, QInputDialog)


def test_keys_work_across_the_page_and_typing_labels(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    page = window.images_page
    project = window.session.project
    ids = [page.model.record(r).id for r in range(3)]
    page.grid.select_ids(ids[:1])
    page.filter_box.setFocus()
    qtbot.keyClick(page.filter_box, Qt.Key.Key_7)  # focus on the filter box: still labels
    assert project.image(ids[0]).label == "7"
    page.grid.select_ids(ids[1:3])
    qtbot.keyClicks(page.grid, "ei")  # type-to-label: a new class "eight"… the completer offers names
    assert page.type_to_label.hasFocus() or page.type_to_label.text() == "ei"
    page.type_to_label.setText("eighty")
    qtbot.keyClick(page.type_to_label, Qt.Key.Key_Return)
    assert {r.label for r in project.images(ids=ids[1:3])} == {"eighty"}
    window.undo_action.trigger()
    assert {r.label for r in project.images(ids=ids[1:3])} == {"0"}


def test_every_number_field_has_a_tooltip(window: MainWindow) -> None:
    missing = []
    for page in window.pages:
        for field in page.findChildren(QAbstractSpinBox) + page.findChildren(QAbstractSlider):
            if field.parent() is not None and type(field).__name__ not in ("QScrollBar",) and not field.toolTip():
                missing.append(f"{type(page).__name__}: {type(field).__name__} {field.accessibleName()}")
    assert missing == []


def test_runs_are_renamed_and_deleted_with_their_folder(window: MainWindow, tmp_path: Path) -> None:
    from studio.core.project.runs import RunStatus

    project = window.session.project
    run = project.create_run("cnn", {"arch": "cnn"})
    project.update_run(run.id, status=RunStatus.FINISHED)
    folder = project.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "history.json").write_text('{"loss": [1.0], "accuracy": [0.5], "val_loss": [1.0], "val_accuracy": [0.5]}')
    train = window.pages.train
    window.session.runs_changed.emit()
    assert train.runs_table.rowCount() == 1
    dialog = train.rename_run(run.id)
    dialog.setTextValue("first try")
    dialog.accept()
    assert project.run(run.id).name == "first try"
    assert "first try" in train.runs_table.item(0, train.runs_table.columnCount() - 1).text()
    box = train.delete_run(run.id)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert folder.is_dir() and train.runs_table.rowCount() == 1  # asked first: Cancel keeps it
    box = train.delete_run(run.id)
    box.button(QMessageBox.StandardButton.Yes).click()
    assert not folder.exists() and project.runs() == [] and train.runs_table.rowCount() == 0
    assert not train.curves.has_run(run.id)


def test_files_dragged_over_the_window_light_up_the_grid(window: MainWindow) -> None:
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile("/tmp")])
    enter = QDragEnterEvent(QPoint(300, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    page = window.images_page
    assert "dashed" in page.views.styleSheet() and "Drop to import" in page.count_label.text()
    QApplication.sendEvent(window, QDragLeaveEvent())
    assert page.views.styleSheet() == "" and "image" in page.count_label.text()
