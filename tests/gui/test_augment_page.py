"""Augment page: live preview grid from the training code path, latency, presets, switches, saved settings."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
import shiboken6

from studio.core.images.imaging import load_rgb
from studio.core.project.demo import create_demo_project
from studio.core.specs import AUGMENT_PRESETS, AugmentSpec, PreprocessSpec
from studio.core.training.augment import preview
from studio.gui.pages.augment_page import GRID_COUNT, AugmentPage
from studio.gui.session import Session

FIRST_PREVIEW_MS = 120_000  # the first preview loads TensorFlow (for the one preprocessing definition)


@pytest.fixture
def page(qtbot, tmp_path: Path):
    project, _ = create_demo_project(tmp_path / "demo", limit=40)
    session = Session()
    session.set_project(project)
    page = AugmentPage(session)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=FIRST_PREVIEW_MS)
    yield page
    if shiboken6.isValid(page):  # pytest-qt may have deleted the widget already
        page.flush_settings()
    page.preview_runner_shutdown()  # no job may still read the project when it closes
    project.close()


def _change(qtbot, page: AugmentPage, action) -> float:
    with qtbot.waitSignal(page.preview_ready, timeout=10_000) as blocker:
        action()
    return float(blocker.args[0])


def test_grid_shows_what_training_sees(page: AugmentPage, qtbot) -> None:
    page.set_preset("Original pipeline")
    qtbot.waitUntil(lambda: page.augment_spec() == AUGMENT_PRESETS["Original pipeline"])
    qtbot.waitUntil(lambda: page.last_result is not None and page.last_result["image_id"] is not None)
    _change(qtbot, page, lambda: page.controls.rows["rotation"].spin.setValue(25))
    assert page.grid.shown_count() == GRID_COUNT >= 12
    image_id, path, _w, _h = page.image_combo.currentData()
    # The same function the training pipeline calls, with the training seed: identical arrays.
    expected_input = preview(load_rgb(Path(path)), AugmentSpec(), 1, preprocess_spec=page.preprocess_spec())[0]
    expected = preview(expected_input, page.augment_spec(), GRID_COUNT, seed=0, image_id=image_id)
    shown = page.last_result["variants"]
    assert len(shown) == GRID_COUNT
    for a, b in zip(shown, expected):
        np.testing.assert_array_equal(a, b)
    assert page.last_result["model_input"].shape == (32, 32, 1)
    # The variants really differ (augmentation is on), and from the un-augmented input.
    assert not np.array_equal(shown[0], shown[1])
    assert not np.array_equal(shown[0], expected_input)


def test_refresh_latency_under_150_ms(page: AugmentPage, qtbot, artifacts_dir: Path) -> None:
    page.set_preset("Light")
    qtbot.waitUntil(lambda: page.last_result is not None)
    latencies = []
    for value in (5, 12, 20, 33, 45, 60, 75, 90):
        latencies.append(_change(qtbot, page, lambda v=value: page.controls.rows["rotation"].spin.setValue(v)))
    latencies.append(_change(qtbot, page, page.reroll))
    (artifacts_dir / "augment_latency_ms.txt").write_text(" ".join(f"{x:.1f}" for x in latencies) + "\n")
    assert statistics.median(latencies) < 150, latencies
    assert max(latencies) < 1000, latencies  # a 2-core machine shared with other jobs may be slow once


def test_switches_sliders_and_presets(page: AugmentPage, qtbot) -> None:
    page.set_preset("None")
    assert page.augment_spec() == AugmentSpec()
    assert page.preset_name() == "None" and page.preset.currentText() == "No changes"
    # Moving a slider switches its augmentation on; the preset becomes "Custom".
    page.controls.rows["shear"].slider.setValue(500)
    spec = page.augment_spec()
    assert page.controls.switches["shear"].isChecked()
    assert spec.shear == pytest.approx(30, abs=0.1)
    assert page.preset.currentText() == "Custom"
    # The number field and the slider stay in step.
    page.controls.rows["shear"].spin.setValue(45)
    assert page.controls.rows["shear"].slider.value() == 750
    # Switching off keeps the magnitude on screen but removes it from the spec.
    page.controls.switches["shear"].click()
    assert page.augment_spec().shear == 0
    assert page.controls.rows["shear"].spin.value() == 45
    page.controls.switches["horizontal_flip"].click()
    assert page.augment_spec().horizontal_flip is True
    page.set_preset("Original pipeline")
    assert page.augment_spec() == AUGMENT_PRESETS["Original pipeline"]


def test_reroll_and_random_image(page: AugmentPage, qtbot) -> None:
    page.set_preset("Original pipeline")
    qtbot.waitUntil(lambda: page.augment_spec().enabled)
    _change(qtbot, page, lambda: page.controls.rows["rotation"].spin.setValue(31))
    before = [v.copy() for v in page.last_result["variants"]]
    _change(qtbot, page, page.reroll)
    assert page.seed == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, page.last_result["variants"]))
    first_id = page.last_result["image_id"]
    _change(qtbot, page, page.pick_random_image)
    assert page.last_result["image_id"] != first_id


def test_settings_saved_with_the_project(page: AugmentPage, qtbot) -> None:
    project = page.session.project
    page.set_preset("Original pipeline")
    assert page.flip_note.isVisible() and "flip" in page.flip_note.text().lower()  # a flipped 2 is no 2
    assert page.preset.currentText().startswith("Strong")  # plain words; scripts keep the name
    qtbot.waitUntil(lambda: AugmentSpec.from_dict(project.get_setting("augment") or {})
                    == AUGMENT_PRESETS["Original pipeline"], timeout=5_000)
    assert "Saved" in page.saved_label.text()
    # The model input is set on the Train page (advanced settings); the preview follows it when shown again.
    project.set_setting("preprocess", {"image_size": 24, "color": "rgb"})
    page.hide()
    page.show()
    qtbot.waitUntil(lambda: page.last_result is not None and page.last_result["model_input"].shape == (24, 24, 3),
                    timeout=10_000)
    # A fresh page on the same project shows the saved settings.
    again = AugmentPage(page.session)
    qtbot.addWidget(again)
    assert again.augment_spec() == AUGMENT_PRESETS["Original pipeline"]
    assert again.preprocess_spec() == PreprocessSpec(image_size=24, color="rgb")
    assert again.preset_name() == "Original pipeline"
    again.flush_settings()  # its own pending save, before the fixture closes the project (as set_project would)


def test_screenshot(page: AugmentPage, qtbot, artifacts_dir: Path) -> None:
    page.set_preset("Original pipeline")
    qtbot.waitUntil(lambda: page.augment_spec().enabled)
    _change(qtbot, page, lambda: page.controls.rows["rotation"].spin.setValue(30))
    assert page.grab().save(str(artifacts_dir / "page_augment.png"))
