"""The whole path in the real main window, by its pages: import -> augment preview -> train 1 epoch (the curve
gets points while training) -> evaluate (table filled) -> export -> the preview server serves page and model.
A screenshot of every page is saved to test-artifacts/."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import cv2
import pytest

from studio.core.project.demo import digit_images
from studio.gui.main_window import MainWindow

from .helpers import UrlCatcher, catching_urls

pytestmark = pytest.mark.slow

N_IMAGES = 200


def _digit_folders(root: Path) -> Path:
    """Class subfolders of real handwritten digits, as a user would have them on disk."""
    images, targets = digit_images()
    for i, (img, t) in enumerate(zip(images[:N_IMAGES], targets[:N_IMAGES])):
        folder = root / str(t)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"digit_{i:04d}.png"), img)
    return root


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return response.read()


def test_images_to_browser_preview(qtbot, tmp_path: Path, artifacts_dir: Path) -> None:
    window = MainWindow(warm_up=False)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    try:
        with catching_urls(("http",)) as catcher:
            _flow(window, qtbot, tmp_path, artifacts_dir, catcher)
    finally:
        for page in window.pages:
            if hasattr(page, "shutdown"):
                page.shutdown()
        window.close()


def _flow(window: MainWindow, qtbot, tmp_path: Path, artifacts_dir: Path, catcher: UrlCatcher) -> None:
    _, augment, train, evaluate, export = window.pages
    assert window.open_project(tmp_path / "project", create=True)
    project = window.session.project

    # 1. Import class folders on the Images page.
    images_page = window.images_page
    images_page.show_reports = False
    with qtbot.waitSignal(images_page.import_finished, timeout=120_000):
        images_page.import_paths([str(_digit_folders(tmp_path / "digits"))])
    assert len(project.images()) == N_IMAGES and len(project.class_names()) == 10
    # The grid reloads off the UI thread; the user must see every imported image.
    qtbot.waitUntil(lambda: images_page.model.rowCount() == N_IMAGES, timeout=30_000)
    qtbot.waitUntil(images_page.grid.settled, timeout=30_000)
    window.grab().save(str(artifacts_dir / "flow_1_images.png"))

    # 2. Augment: 16 px input, the light preset; the grid shows what training will see; saved. The model input
    # lives in the Train page's advanced settings; the Augment page reads it when it is shown (the user can only
    # change it while the Train page is the one shown).
    train.settings.image_size.setValue(16)
    train.settings.save()
    window.show_page(1)
    augment.set_preset("Light")
    qtbot.waitUntil(lambda: augment.last_result is not None
                    and augment.last_result["model_input"].shape[:2] == (16, 16), timeout=120_000)
    assert augment.grid.shown_count() >= 12
    qtbot.waitUntil(lambda: (project.get_setting("preprocess") or {}).get("image_size") == 16, timeout=5_000)
    window.grab().save(str(artifacts_dir / "flow_2_augment.png"))

    # 3. Train one epoch of the CNN with augmentation; the curve gets its point while the run is going.
    window.show_page(2)
    train.set_arch("cnn")
    train.with_aug.setChecked(True)
    train.epochs.setValue(1)
    with qtbot.waitSignal(train.queue.epoch_end, timeout=300_000) as epoch:
        train.queue_button.click()
    run_id = epoch.args[0].run
    assert train.queue.is_busy()  # still saving and testing the model
    assert len(train.curves.values(run_id, "val_accuracy")) == 1
    with qtbot.waitSignal(train.queue.run_ended, timeout=300_000) as ended:
        pass
    assert ended.args[0].status == "finished", ended.args
    run = project.run(run_id)
    assert run.config["preprocess"]["image_size"] == 16 and run.config["use_augment"] is True
    assert run.config["augment"]["rotation"] == 10  # the Light preset from the Augment page
    history = json.loads((project.run_dir(run_id) / "history.json").read_text())
    assert train.curves.values(run_id, "loss") == history["loss"]
    window.grab().save(str(artifacts_dir / "flow_3_train.png"))

    # 4. Evaluate: the new run's report fills the table and the matrix.
    window.show_page(3)
    qtbot.waitUntil(lambda: evaluate.report is not None and evaluate.report_run_id == run_id, timeout=120_000)
    assert evaluate.table.rowCount() == 10 + 3
    assert sum(map(sum, evaluate.matrix.matrix)) == evaluate.report["n"] == run.metrics["n_test"]
    window.grab().save(str(artifacts_dir / "flow_4_evaluate.png"))

    # 5. Export: estimates appear, one click writes the bundle, the preview server serves it.
    window.show_page(4)
    qtbot.waitUntil(lambda: not export.is_measuring() and len(export.estimates.get(run_id, {})) == 3,
                    timeout=300_000)
    export.out_edit.setText(str(tmp_path / "bundle"))
    export.export_button.click()
    qtbot.waitUntil(lambda: not export.is_exporting(), timeout=300_000)
    assert export.last_export is not None, export.result_text.text()
    export.preview_button.click()
    assert catcher.urls, "the page asked the desktop to open the preview URL"
    url = catcher.urls[-1].rstrip("/")
    assert b"<html" in _get(url + "/").lower()
    model = json.loads(_get(url + "/model/model.json"))
    shard = model["weightsManifest"][0]["paths"][0]
    assert len(_get(f"{url}/model/{shard}")) > 0
    window.grab().save(str(artifacts_dir / "flow_5_export.png"))
    export.stop_preview()
