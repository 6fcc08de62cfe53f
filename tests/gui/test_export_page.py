"""Export page over a real trained run: size and accuracy of each quantization measured before exporting, one
click writes the bundle and zip (child process), the preview server answers, Stop and Open folder work."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from studio.core.export.targets.tfjs import TfjsTarget
from studio.core.project.store import Project
from studio.gui.pages.export_page import ExportPage
from studio.gui.session import Session

from .helpers import UrlCatcher, catching_urls, export_page_on, trained_demo

pytestmark = pytest.mark.slow  # trains once, then exports three quantizations and one bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catcher():
    with catching_urls() as catcher:
        yield catcher


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_demo(tmp_path_factory.mktemp("export") / "demo", arch="cnn", epochs=1)


@pytest.fixture
def page(qtbot, trained_template: Path, tmp_path: Path):
    with export_page_on(qtbot, trained_template, tmp_path / "demo", (1200, 720)) as (page, _project):
        yield page


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_measure_export_preview(page: ExportPage, qtbot, catcher: UrlCatcher, tmp_path: Path,
                                artifacts_dir: Path) -> None:
    project = page.session.project
    run = project.latest_finished_run()
    page.show()  # showing the page measures the selected run
    qtbot.waitUntil(page.is_measuring, timeout=5_000)
    qtbot.waitUntil(lambda: not page.is_measuring(), timeout=300_000)
    numbers = page.estimates[run.id]
    assert set(numbers) == set(TfjsTarget.quantizations), page.estimate_status.text()
    assert numbers["uint8"]["model_bytes"] < numbers["float16"]["model_bytes"] < numbers["none"]["model_bytes"]
    # Unquantized, the estimate is the run's own test accuracy.
    assert numbers["none"]["test_accuracy"] == pytest.approx(run.metrics["test_accuracy"])
    for r, q in enumerate(TfjsTarget.quantizations):
        assert page.quant_table.item(r, 1).text().endswith("B")
        assert page.quant_table.item(r, 3).text().startswith(f"{numbers[q]['test_accuracy']:.3f}")

    page.set_quantization("uint8")
    out = tmp_path / "bundle"
    page.out_edit.setText(str(out))
    page.zip_box.setChecked(True)
    assert page.unsure_threshold() is None  # automatic until the user sets one
    page.unsure_spin.setValue(0.55)
    page.export_button.click()
    assert page.is_exporting()
    qtbot.waitUntil(lambda: not page.is_exporting(), timeout=300_000)
    assert page.last_export is not None, page.result_text.text()
    assert (out / "index.html").is_file() and (out / "model" / "model.json").is_file()
    assert Path(page.last_export["zip"]).is_file()
    # The estimate was the real size: the same files; only metadata.json's "unsure" entry differs (the
    # estimate does not derive the page's threshold, and this export sets one).
    assert abs(page.last_export["bytes"] - numbers["uint8"]["bytes"]) <= 256
    assert json.loads((out / "metadata.json").read_text())["labels"] == project.class_names()
    assert "Web bundle written" in page.result_text.text()
    unsure = json.loads((out / "metadata.json").read_text())["unsure"]
    assert unsure["threshold"] == 0.55 and unsure["source"] == "user"
    assert "not sure” below 55%" in page.result_text.text()

    page.preview_button.click()
    assert len(catcher.urls) == 1 and catcher.urls[0].startswith("http://127.0.0.1:")
    url = catcher.urls[0]
    assert url in page.url_label.text()
    status, body = _get(url)
    assert status == 200 and b"<html" in body.lower()
    status, body = _get(url.rstrip("/") + "/model/model.json")
    assert status == 200 and "weightsManifest" in json.loads(body)
    assert page.grab().save(str(artifacts_dir / "page_export.png"))

    page.stop_button.click()
    with pytest.raises(urllib.error.URLError):
        _get(url)
    page.open_folder_button.click()
    assert catcher.urls[-1] == QUrl.fromLocalFile(str(out)).toString()

    # Issue 23: after a restart (a new window on the same project) the estimates are not measured again
    # (they are stored with the run) and the last export is still there to preview.
    again = ExportPage(Session())
    qtbot.addWidget(again)
    again.session.set_project(project)
    again.show()
    assert not again.is_measuring()
    assert again.estimates[run.id] == numbers
    assert again.quant_table.item(2, 3).text().startswith(f"{numbers['uint8']['test_accuracy']:.3f}")
    assert again.last_export is not None and again.last_export["out"] == str(out)
    assert "Last export" in again.result_text.text() and str(out) in again.result_text.text()
    assert again.preview_button.isEnabled()
    again.shutdown()


def test_opening_another_project_while_measuring_is_not_a_crash(page: ExportPage, qtbot, tmp_path: Path,
                                                                trained_template: Path) -> None:
    """Issue 23: "Could not measure: the process crashed or was killed" when the user opened another project."""
    other = tmp_path / "other"
    shutil.copytree(trained_template, other)
    page.show()
    qtbot.waitUntil(page.is_measuring, timeout=5_000)
    second = Project.open(other)
    page.session.set_project(second)  # what File > Open does: the measuring child is cancelled
    qtbot.wait(300)
    assert "crashed" not in page.estimate_status.text() and "Could not" not in page.estimate_status.text()
    qtbot.waitUntil(page.is_measuring, timeout=5_000)  # the new project's run is measured in its turn
    page.shutdown()
    assert "crashed" not in page.estimate_status.text()
    second.close()


def test_export_error_is_shown(page: ExportPage, qtbot, tmp_path: Path) -> None:
    busy = tmp_path / "my-files"
    busy.mkdir()
    (busy / "thesis.txt").write_text("not a bundle")
    page.out_edit.setText(str(busy))
    page.export_button.click()
    qtbot.waitUntil(lambda: not page.is_exporting(), timeout=300_000)
    assert page.last_export is None
    assert "not a web bundle" in page.result_text.text()
    assert (busy / "thesis.txt").read_text() == "not a bundle"
    assert not page.preview_button.isEnabled()


def test_tflite_format_offers_its_quantizations_and_writes_a_model(page: ExportPage, qtbot, tmp_path: Path) -> None:
    page.set_format("tflite")
    rows = [page.quant_table.item(r, 0).text() for r in range(page.quant_table.rowCount())]
    assert len(rows) == 3 and rows[2].startswith("int8")
    assert not page.unsure_spin.isEnabled()  # the "not sure" answer is the web page's
    page.set_quantization("int8")
    assert page.out_edit.text().endswith("-tflite-int8")
    out = tmp_path / "tflite"
    page.out_edit.setText(str(out))
    page.export_button.click()
    qtbot.waitUntil(lambda: not page.is_exporting(), timeout=300_000)
    assert page.last_export is not None, page.result_text.text()
    assert (out / "model" / "model.tflite").is_file() and not (out / "index.html").exists()
    assert "tflite model written" in page.result_text.text()
    assert not page.preview_button.isEnabled() and page.open_folder_button.isEnabled()
    page.set_format("tfjs")
    assert page.quant_table.rowCount() == len(TfjsTarget.quantizations)
