"""A first-time user, scripted: a new empty project, a folder dropped on the window, 12 classes labelled by
keys and by typing, Train with the default, Evaluate, Export, and the preview answers with the page.
No step asks a machine-learning question first: no dialog, no advanced setting touched."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.resolve.recommend import recommend
from studio.gui.main_window import MainWindow
from tests.gui.helpers import catching_urls

CLASSES = ("apple", "banana", "cherry", "grape", "kiwi", "lemon", "lime", "mango", "olive", "peach", "pear",
           "plum")
PER_CLASS = 8


def _photos(folder: Path) -> Path:
    """Unlabelled colour pictures, one hue per kind of fruit (a flat folder, as from a phone)."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True)
    for k, name in enumerate(CLASSES):
        hue = np.full((24, 24, 3), (k * 15, 200, 200), np.uint8)
        base = cv2.cvtColor(hue, cv2.COLOR_HSV2BGR).astype(np.int16)
        for i in range(PER_CLASS):
            noisy = np.clip(base + rng.integers(-25, 26, base.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(str(folder / f"{name}_{i}.png"), noisy)
    return folder


def _drop(window: MainWindow, folder: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    pos = QPoint(window.width() // 2, window.height() // 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def _no_question() -> None:
    assert QApplication.activeModalWidget() is None


def test_first_time_user_reaches_a_browser_preview(qtbot, tmp_path: Path, artifacts_dir: Path) -> None:  # noqa: ANN001
    window = MainWindow(warm_up=False)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    images, train, evaluate, export = window.images_page, window.pages.train, window.pages.evaluate, window.pages.export
    try:
        assert window.open_project(tmp_path / "fruit", create=True)
        project = window.session.project
        images.show_reports = False
        with qtbot.waitSignal(images.import_finished, timeout=120_000):
            _drop(window, _photos(tmp_path / "phone"))
        qtbot.waitUntil(lambda: images.model.rowCount() == len(CLASSES) * PER_CLASS, timeout=30_000)
        _no_question()

        # Label: the first half of each kind by typing its name (a new name adds the class), the rest by the
        # key shown beside the class (classes past the ninth have none: typing again).
        images.grid.setFocus()
        for half in (0, 1):
            for name in CLASSES:
                ids = [r.id for r in images.model.records() if r.original_name.startswith(name + "_")]
                images.grid.select_ids(ids[:PER_CLASS // 2] if half == 0 else ids[PER_CLASS // 2:])
                row = next(i for i in range(images.class_panel.tree.topLevelItemCount())
                           if images.class_panel.tree.topLevelItem(i).text(1) == name) if half else None
                key = images.class_panel.tree.topLevelItem(row).text(0) if row is not None else ""
                if key:
                    qtbot.keyClick(images.grid, key)
                else:
                    qtbot.keyClicks(images.grid, name)
                    qtbot.keyClick(images.type_to_label, Qt.Key.Key_Return)
                QApplication.processEvents()
        labels = {r.original_name.split("_")[0]: set() for r in project.images()}
        for r in project.images():
            labels[r.original_name.split("_")[0]].add(r.label)
        assert labels == {name: {name} for name in CLASSES}
        _no_question()
        window.grab().save(str(artifacts_dir / "first_time_1_labelled.png"))

        # Train with the default: the page has chosen from the data; the user only presses Train.
        with qtbot.waitSignal(train.analysed, timeout=30_000):  # read the labelled data off the UI thread
            window.show_page(2)
        rec = recommend(project)
        assert train.settings.arch() == rec.arch and not train.settings.advanced.isVisible()
        assert train.settings.color.currentData() == "rgb"  # the pictures have colour
        with qtbot.waitSignal(train.queue.run_ended, timeout=600_000) as ended:
            train.queue_button.click()
        outcome = ended.args[0]  # a RunEnded
        assert outcome.status == "finished", outcome
        run = project.run(outcome.run_id)
        assert run.config["arch"] == rec.arch and run.config["early_stopping_patience"] > 0
        _no_question()
        window.grab().save(str(artifacts_dir / "first_time_2_trained.png"))

        window.show_page(3)
        qtbot.waitUntil(lambda: evaluate.report is not None and evaluate.report_run_id == run.id, timeout=120_000)
        assert evaluate.table.rowCount() == len(CLASSES) + 3
        window.grab().save(str(artifacts_dir / "first_time_3_evaluate.png"))

        window.show_page(4)
        assert export.out_edit.text()  # a folder is proposed; nothing to choose
        export.export_button.click()
        qtbot.waitUntil(lambda: not export.is_exporting(), timeout=300_000)
        assert export.last_export is not None, export.result_text.text()
        with catching_urls(("http",)) as catcher:
            export.preview_button.click()
            qtbot.waitUntil(lambda: bool(catcher.urls), timeout=10_000)
        with urllib.request.urlopen(catcher.urls[-1], timeout=10) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
        _no_question()
        window.grab().save(str(artifacts_dir / "first_time_4_export.png"))
    finally:
        for page in window.pages:
            getattr(page, "shutdown", lambda: None)()
        window.close()
