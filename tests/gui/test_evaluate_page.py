"""Evaluate page over a real trained run: the report shown equals `edge-studio evaluate --json`, the confusion
matrix cells open their images, relabelling from there is undoable, runs compare, reports save."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from studio.core.project.store import Project
from studio.gui.pages.evaluate_page import COMPARE_HEADERS, EvaluatePage
from studio.gui.parts.report_table import report_rows
from studio.gui.session import Session

from .helpers import trained_demo

pytestmark = pytest.mark.slow  # trains a small model once (in a child process) for the module

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=True)


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_demo(tmp_path_factory.mktemp("eval") / "demo", arch="dense", epochs=2)


@pytest.fixture
def project(trained_template: Path, tmp_path: Path) -> Project:
    dest = tmp_path / "demo"
    shutil.copytree(trained_template, dest)
    project = Project.open(dest)
    yield project
    project.close()


@pytest.fixture
def page(qtbot, project: Project) -> EvaluatePage:
    session = Session()
    session.set_project(project)
    page = EvaluatePage(session)
    qtbot.addWidget(page)
    page.resize(1300, 860)
    page.show()
    qtbot.waitUntil(lambda: page.report is not None, timeout=120_000)
    return page


def _assert_page_shows(page: EvaluatePage, expected: dict) -> None:
    assert page.report["labels"] == expected["labels"]
    assert page.matrix.matrix == expected["confusion_matrix"]
    assert page.matrix.labels == [str(x) for x in expected["labels"]]
    table = page.table
    rows = report_rows(expected)
    assert table.rowCount() == len(rows) == len(expected["labels"]) + 3
    for r, name in enumerate(expected["labels"]):
        entry = expected["per_class"][name]
        assert table.cell_text(r, 0) == name
        assert table.cell_text(r, 1) == f"{entry['precision']:.3f}"
        assert table.cell_text(r, 2) == f"{entry['recall']:.3f}"
        assert table.cell_text(r, 3) == f"{entry['f1']:.3f}"
        assert table.cell_text(r, 4) == str(entry["support"])
    n = len(expected["labels"])
    assert table.cell_text(n, 0) == "macro avg" and table.cell_text(n, 3) == f"{expected['macro_f1']:.3f}"
    assert table.cell_text(n + 1, 3) == f"{expected['weighted avg']['f1']:.3f}"
    assert table.cell_text(n + 2, 0) == "accuracy" and table.cell_text(n + 2, 3) == f"{expected['accuracy']:.3f}"
    assert f"{expected['accuracy']:.3f}" in page.summary.text()


def test_report_matches_cli_evaluate(page: EvaluatePage, project: Project, qtbot) -> None:
    run_id = page.run_picker.current_run_id()
    assert run_id == project.latest_finished_run().id
    cli = json.loads(_cli("evaluate", str(project.root), run_id, "--json").stdout)
    _assert_page_shows(page, cli)
    # "Evaluate again" runs the same CLI in a child process and shows its fresh report.
    page.evaluate_button.click()
    assert page.is_evaluating()
    qtbot.waitUntil(lambda: not page.is_evaluating(), timeout=180_000)
    assert "failed" not in page.status.text(), page.status.text()
    _assert_page_shows(page, cli)
    # Colour cues: every metric cell is tinted.
    assert page.table.item(0, 3).background().color().name() != "#000000"


def _off_diagonal_cell(report: dict) -> tuple[int, int]:
    cm = report["confusion_matrix"]
    return max(((t, p) for t in range(len(cm)) for p in range(len(cm)) if t != p), key=lambda c: cm[c[0]][c[1]])


def test_click_cell_shows_images_and_relabel_is_undoable(page: EvaluatePage, project: Project, qtbot) -> None:
    t, p = _off_diagonal_cell(page.report)
    count = page.report["confusion_matrix"][t][p]
    assert count > 0, "a 2-epoch dense model on 16 px digits makes mistakes"
    with qtbot.waitSignal(page.matrix.cell_clicked) as clicked:
        qtbot.mouseClick(page.matrix, Qt.MouseButton.LeftButton, pos=page.matrix.cell_rect(t, p).center())
    assert clicked.args == [t, p]
    assert page.cell_list.count() == count
    labels = page.report["labels"]
    first = page.cell_list.item(0)
    assert f"{labels[t]} → {labels[p]}" in first.text() and "%" in first.text()
    qtbot.waitUntil(lambda: not page.cell_list.item(0).icon().isNull(), timeout=10_000)

    image_id = int(first.data(Qt.ItemDataRole.UserRole))
    assert project.image(image_id).label == labels[t]
    first.setSelected(True)
    page.class_combo.setCurrentIndex(page.class_combo.findText(labels[p]))
    page.relabel_button.click()
    assert project.image(image_id).label == labels[p]
    assert "Evaluate again" in page.status.text()
    page.session.undo_stack.undo()
    assert project.image(image_id).label == labels[t]
    page.session.undo_stack.redo()
    assert project.image(image_id).label == labels[p]
    # "Accept the predictions" on the next image labels it with what the model said.
    if page.cell_list.count() > 1:
        second = page.cell_list.item(1)
        first.setSelected(False)
        second.setSelected(True)
        page.use_prediction_button.click()
        assert project.image(int(second.data(Qt.ItemDataRole.UserRole))).label == labels[p]


def test_click_diagonal_cell_shows_the_correct_images(page: EvaluatePage, project: Project, qtbot) -> None:
    """Issue 23: "5 test images of rocket were classified correctly" and the strip showed none of them."""
    labels = page.report["labels"]
    t = max(range(len(labels)), key=lambda i: page.report["confusion_matrix"][i][i])
    count = page.report["confusion_matrix"][t][t]
    assert count > 0
    qtbot.mouseClick(page.matrix, Qt.MouseButton.LeftButton, pos=page.matrix.cell_rect(t, t).center())
    assert "correctly" in page.cell_title.text()
    assert page.cell_list.count() == count
    ids = [int(page.cell_list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(count)]
    assert all(project.image(i).label == labels[t] and project.image(i).split == "test" for i in ids)
    assert "%" in page.cell_list.item(0).text()
    qtbot.waitUntil(lambda: not page.cell_list.item(0).icon().isNull(), timeout=10_000)
    # A report saved before reports listed the correct images: the class's test images minus its mistakes.
    del page.report["correct"]
    page.show_cell(t, t)
    assert sorted(int(page.cell_list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(count)) == sorted(ids)


def test_save_report_html_csv_json(page: EvaluatePage, tmp_path: Path) -> None:
    page.save_report(tmp_path / "r.html", "html")
    page.save_report(tmp_path / "r.csv", "csv")
    page.save_report(tmp_path / "r.json", "json")
    html = (tmp_path / "r.html").read_text()
    assert html.count("data:image/png;base64,") == 2  # confusion matrix and training curves
    # The curves picture shows the curves (the widget is never shown: they were once left out, a blank picture).
    encoded = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)[1]
    picture = cv2.imdecode(np.frombuffer(base64.b64decode(encoded), np.uint8), cv2.IMREAD_COLOR)
    run_blue = np.all(np.abs(picture.astype(int) - (0xb4, 0x77, 0x1f)) < 40, axis=2)  # RUN_COLORS[0], BGR
    assert picture.shape[:2] == (360, 1000) and run_blue.sum() > 600  # the legend square alone is ~170
    assert "macro avg" in html and "weighted avg" in html
    assert json.loads((tmp_path / "r.json").read_text()) == page.report
    rows = list(csv.reader((tmp_path / "r.csv").open()))
    assert rows[0] == ["class", "precision", "recall", "f1", "support"]
    labels = page.report["labels"]
    assert [r[0] for r in rows[1:len(labels) + 1]] == labels
    assert float(rows[len(labels) + 3][3]) == pytest.approx(page.report["accuracy"])
    assert rows[len(labels) + 5][1:] == [str(x) for x in labels]  # the confusion matrix header


def test_compare_runs_side_by_side(page: EvaluatePage, project: Project, qtbot, artifacts_dir: Path) -> None:
    table = page.compare_table
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == list(COMPARE_HEADERS)
    assert table.rowCount() == len(project.runs()) == 1
    run = project.runs()[0]
    cells = {COMPARE_HEADERS[c]: table.item(0, c).text() for c in range(table.columnCount())}
    assert cells["Architecture"] == "dense" and cells["Status"] == "finished"
    assert cells["Test acc"] == f"{run.metrics['test_accuracy']:.3f}"
    assert cells["Macro F1"] == f"{run.metrics['macro_f1']:.3f}"
    assert cells["Params"] == f"{run.metrics['params']:,}"
    # A second (failed) run row joins the table; the finished run keeps the best scores, highlighted.
    failed = project.create_run("cnn", {"use_augment": True})
    project.update_run(failed.id, status="failed", error="out of memory", metrics={"best_val_accuracy": 0.01})
    page.session.runs_changed.emit()
    assert table.rowCount() == 2
    col = COMPARE_HEADERS.index("Best val acc")
    by_status = {table.item(r, COMPARE_HEADERS.index("Status")).text(): table.item(r, col) for r in range(2)}
    assert by_status["finished"].font().bold() and not by_status["failed"].font().bold()
    # Sorting by a score column puts the numbers in order (the failed run has no test accuracy).
    acc = COMPARE_HEADERS.index("Test acc")
    table.sortItems(acc, Qt.SortOrder.DescendingOrder)
    assert [table.item(r, acc).text() for r in range(2)] == [f"{run.metrics['test_accuracy']:.3f}", ""]
    table.sortItems(COMPARE_HEADERS.index("Params"), Qt.SortOrder.AscendingOrder)
    t, p = _off_diagonal_cell(page.report)
    qtbot.mouseClick(page.matrix, Qt.MouseButton.LeftButton, pos=page.matrix.cell_rect(t, p).center())
    qtbot.waitUntil(lambda: not page.cell_list.item(0).icon().isNull(), timeout=10_000)
    page.cell_list.item(0).setSelected(True)
    assert page.grab().save(str(artifacts_dir / "page_evaluate.png"))
    page.tabs.setCurrentIndex(1)
    assert page.grab().save(str(artifacts_dir / "page_evaluate_compare.png"))


def test_run_picker_follows_new_runs_until_the_user_picks(qtbot, tmp_path: Path) -> None:
    from studio.gui.parts.run_picker import RunPicker

    project = Project.create(tmp_path / "p")
    picker = RunPicker()
    qtbot.addWidget(picker)
    first = project.create_run("dense", {})
    project.update_run(first.id, status="finished")
    picker.reload(project)
    assert picker.current_run_id() == first.id
    second = project.create_run("cnn", {})
    project.update_run(second.id, status="finished")
    with qtbot.waitSignal(picker.run_selected) as selected:
        picker.reload(project)
    assert selected.args == [second.id]  # a run that just finished is shown
    picker.setCurrentIndex(picker.findData(first.id))
    picker.activated.emit(picker.currentIndex())  # what a user's pick in the list sends
    third = project.create_run("compact", {})
    project.update_run(third.id, status="finished")
    picker.reload(project)
    assert picker.current_run_id() == first.id  # the user's choice is kept
    project.close()
