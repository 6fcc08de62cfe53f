"""The page's "Show why" in real headless Chromium: the heatmap comes from the exported graph's named output
``why_maps`` and equals the studio's own (Python) heatmap within 1e-3, for a Grad-CAM model (the shared cnn
bundle) and a class-activation-map model (compact); on the camera frame too; and on a phone screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.core.evaluation.why_graph import DEFAULT_OPACITY
from studio.core.export.serve import PreviewServer
from studio.core.specs import ExportOptions
from tests.web.conftest import WebSetup, classify_file, open_bundle, wait_until
from tests.web.fixtures import train_run

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_bundle")]
PARITY = 1e-3


def _python_heat(project: Any, run_id: str, path: Path) -> tuple[str, np.ndarray]:
    from studio.core.evaluation.explain import explain_files, load_explainer

    run = project.run(run_id)
    item = explain_files(project, run, [path], explainer=load_explainer(project, run))[0]
    return item["label"], np.asarray(item["heatmap"])


def _show_why(page: Any) -> None:
    assert page.is_enabled("#why-toggle")
    page.check("#why-toggle")


def _why_after_file(page: Any, path: Path) -> dict[str, Any]:
    classify_file(page, path)
    wait_until(page, "window.edgeStudio.lastWhy && window.edgeStudio.lastWhy.source === 'image'")
    return page.evaluate("window.edgeStudio.lastWhy")


def _largest_heat_difference(page: Any, project: Any, run_id: str, paths: list[Path]) -> float:
    """Each picture through the page with "Show why" on: the same answer as Python, and the largest difference
    between the page's heat and Python's over all of them."""
    worst = 0.0
    for path in paths:
        why = _why_after_file(page, path)
        label, heat = _python_heat(project, run_id, path)
        assert why["label"] == label
        worst = max(worst, float(np.abs(np.asarray(why["heat"]) - heat).max()))
    return worst


def test_outputs_are_named_and_probabilities_stay_first(setup: WebSetup) -> None:
    bundle = setup.bundles["none"]
    meta = json.loads((bundle / "metadata.json").read_text())
    outputs = json.loads((bundle / "model" / "model.json").read_text())["signature"]["outputs"]
    assert meta["why"]["output"] == "why_maps" and meta["why"]["method"] == "gradcam"
    # Every output by name (the page never reads them by position): probabilities, the known score, the heat.
    assert set(outputs) == {"probabilities", "known_score", "why_maps"}
    assert len({o["name"] for o in outputs.values()}) == 3
    size, k = meta["preprocessing"]["image_size"], len(meta["labels"])
    assert [int(d["size"]) for d in outputs["why_maps"]["tensorShape"]["dim"]] == [1, size, size, k]


def test_gradcam_heat_in_the_browser_equals_python(setup: WebSetup, browser: Any, served: PreviewServer,
                                                   artifacts_dir: Path) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        _show_why(page)
        worst = _largest_heat_difference(page, setup.run.project, setup.run.run_id, setup.test_paths[:4])
        print(f"gradcam: largest browser - Python heat difference {worst:.2e}")
        assert worst <= PARITY
        assert page.is_visible("#why-layer")
        # The page starts at the studio's own strength (metadata.json's why.opacity, one definition).
        assert page.input_value("#why-opacity") == str(round(DEFAULT_OPACITY * 100))
        # The strength slider repaints the overlay; turning it off hides it.
        page.fill("#why-opacity", "30")
        page.uncheck("#why-toggle")
        assert not page.is_visible("#why-layer")
        assert errors == [] and page.evaluate("window.edgeStudio.cspViolations") == []
    finally:
        context.close()


def test_the_camera_frame_gets_the_heat_too(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        _show_why(page)
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.lastWhy && window.edgeStudio.lastWhy.source === 'camera'")
        why = page.evaluate("window.edgeStudio.lastWhy")
        heat = np.asarray(why["heat"])
        assert heat.shape == (setup.run.config.preprocess.image_size,) * 2 and 0 <= heat.min() and heat.max() <= 1
        assert page.is_visible("#why-layer") and errors == []
        # The overlay lies over the video: the same box on screen.
        boxes = page.evaluate("['video', 'why-layer'].map((id) => { const r = document.getElementById(id)"
                              ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })")
        assert boxes[0] == boxes[1]
    finally:
        context.close()


@pytest.fixture(scope="module")
def compact_bundle(setup: WebSetup, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from studio.core.export.exporter import export_bundle

    run = train_run(Path(), arch="compact", image_size=20, epochs=3, project=setup.run.project)
    out = export_bundle(run.project, run.run_id, tmp_path_factory.mktemp("why") / "compact", ExportOptions()).out
    return run, out


def test_cam_heat_in_the_browser_equals_python(setup: WebSetup, compact_bundle: tuple[Any, Path],
                                               browser: Any, artifacts_dir: Path) -> None:
    run, bundle = compact_bundle
    assert json.loads((bundle / "metadata.json").read_text())["why"]["method"] == "cam"
    with PreviewServer(bundle) as server:
        context, page, _, errors = open_bundle(browser, server.url)
        try:
            _show_why(page)
            worst = _largest_heat_difference(page, run.project, run.run_id, setup.test_paths[:4])
            print(f"cam: largest browser - Python heat difference {worst:.2e}")
            assert worst <= PARITY and errors == []
        finally:
            context.close()


def test_show_why_on_a_phone(setup: WebSetup, browser: Any, served: PreviewServer, artifacts_dir: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        page.goto(served.url)
        wait_until(page, "window.edgeStudio.ready")
        _show_why(page)
        _why_after_file(page, setup.camera_image)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        assert page.is_visible("#why-opacity")
        page.screenshot(path=str(artifacts_dir / "web_why_phone.png"), full_page=True)
    finally:
        context.close()
