"""The exported page says "Not one of: ..." where Python's ``predict`` says ``unsure``: the same known score
(computed inside the graph) and the same calibrated rule, on digits it knows and letters / photos it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.few_shot_data import photo_crops
from bench.open_world_data import letters
from studio.core.export.serve import PreviewServer
from tests.web.conftest import QUANTIZATIONS, WebSetup, classify_file, open_bundle, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_bundle")]

N_KNOWN = 16


@pytest.fixture(scope="module")
def images(setup: WebSetup, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("open-world-web")
    crops = photo_crops(root / "photos", n_train=0, n_test=3, classes=("sky", "dahlia", "lake"), seed=3)
    return {"known": list(setup.test_paths[:N_KNOWN]), "letters": letters(root / "letters", 8),
            "photos": [p for ps in crops["test"].values() for p in ps]}


@pytest.fixture(scope="module")
def python_decisions(setup: WebSetup, images: dict[str, list[Path]]) -> dict[str, dict[str, Any]]:
    from studio.core.evaluation import unsure
    from studio.core.evaluation.predict import predict_files

    project, run = setup.run.project, setup.run.project.run(setup.run.run_id)
    rule = unsure.calibrate(project, run)
    paths = [p for group in images.values() for p in group]
    return {str(p["path"]): {**p, "unsure": rule.unsure(p), "not_a_class": rule.not_a_class(p["known_score"])}
            for p in predict_files(project, run, paths)}


def test_page_makes_the_same_unsure_decision_as_python(setup: WebSetup, browser: Any,
                                                       images: dict[str, list[Path]],
                                                       python_decisions: dict[str, dict[str, Any]]) -> None:
    paths = [p for group in images.values() for p in group]
    unknown = images["letters"] + images["photos"]
    refused = sum(python_decisions[str(p)]["not_a_class"] for p in unknown)
    answered = sum(not python_decisions[str(p)]["unsure"] for p in images["known"])
    print(f"python: {refused}/{len(unknown)} unknown refused, {answered}/{len(images['known'])} known answered")
    assert refused >= len(unknown) // 2  # the decision is not trivially "never"
    for quantization in QUANTIZATIONS:
        with PreviewServer(setup.bundles[quantization]) as server:
            context, page, _requests, errors = open_bundle(browser, server.url)
            try:
                assert page.evaluate("window.edgeStudio.knownThreshold") is not None
                differ = []
                for path in paths:
                    got = classify_file(page, path)
                    want = python_decisions[str(path)]
                    if quantization == "none":
                        assert abs(got["known_score"] - want["known_score"]) < 1e-3, path.name
                    if got["unsure"] != want["unsure"] or got["not_a_class"] != want["not_a_class"]:
                        differ.append(path.name)
                assert not errors
            finally:
                context.close()
        print(f"{quantization}: {len(paths) - len(differ)}/{len(paths)} same decision; differ: {differ}")
        assert len(differ) <= (0 if quantization == "none" else 1), differ


@pytest.mark.parametrize("viewport", [(390, 844), (1366, 768)], ids=["phone", "1366x768"])
def test_unknown_photo_says_not_one_of_the_classes(setup: WebSetup, browser: Any, images: dict[str, list[Path]],
                                                   python_decisions: dict[str, dict[str, Any]],
                                                   artifacts_dir: Path, viewport: tuple[int, int]) -> None:
    refused = [p for p in images["photos"] if python_decisions[str(p)]["not_a_class"]]
    photo = next((p for p in refused if "dahlia" in p.name), refused[0])
    phone = viewport[0] < 500
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  device_scale_factor=2 if phone else 1, is_mobile=phone, has_touch=phone)
    try:
        with PreviewServer(setup.bundles["none"]) as server:
            page = context.new_page()
            page.goto(server.url)
            wait_until(page, "window.edgeStudio.ready")
            got = classify_file(page, photo)
            assert got["not_a_class"] and got["unsure"]
            top = page.inner_text("#top-label")
            assert top.startswith("Not one of: ") and setup.run.labels[0] in top
            assert "none of the things this model learned" in page.inner_text("#top-confidence")
            bars = page.locator(".bar-value").all_inner_texts()
            assert bars and all(t.endswith("%") for t in bars)  # the probabilities stay visible
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            name = "phone" if phone else f"{viewport[0]}x{viewport[1]}"
            page.screenshot(path=str(artifacts_dir / f"web_not_one_of_{name}.png"), full_page=phone)
    finally:
        context.close()
