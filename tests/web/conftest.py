"""Real headless Chromium (Debian's, driven by Playwright) against the real preview server.

Browser tests skip when /usr/bin/chromium is missing, unless STUDIO_REQUIRE_BROWSER=1 (CI), where a
missing browser fails instead. Never `playwright install`: it downloads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.core.export.serve import PreviewServer
from studio.core.specs import ExportOptions
from tests.web.fixtures import TrainedRun, load_split, python_probabilities, train_run

CHROMIUM = Path("/usr/bin/chromium")
BASE_FLAGS = ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"STUDIO_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (set STUDIO_REQUIRE_BROWSER=1 to fail instead)")


def make_y4m(image: Path, target: Path, seconds: float = 2.0, size: tuple[int, int] | None = None) -> Path:
    """A fake-camera video that shows ``image`` still (Chromium plays it as a live webcam, looping), at the
    image's own size or scaled to ``size`` (width, height)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed to make the fake webcam video (apt-get install ffmpeg)")
    scale = ["-vf", f"scale={size[0]}:{size[1]}"] if size else []
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(image), "-t", str(seconds),
                    *scale, "-pix_fmt", "yuv420p", str(target)], check=True, timeout=60)
    return target


def wait_until(page: Any, expression: str, timeout: float = 60.0) -> Any:
    """Poll a JS expression until truthy. (page.wait_for_function evaluates strings with eval(), which the
    bundle's Content-Security-Policy rightly blocks; page.evaluate goes through DevTools and is allowed.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for: {expression}")
        time.sleep(0.05)


def open_bundle(browser: Any, url: str) -> tuple[Any, Any, list[str], list[str]]:
    """(context, page, requested URLs, page errors) with the model loaded and warmed up."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    # A pretrained model at 224 px is timed on each backend before the page is ready: minutes on a busy
    # 2-core machine running another test worker beside it.
    wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)", timeout=180)
    error = page.evaluate("window.edgeStudio.error")
    assert error is None, f"model failed to load in the page: {error}"
    return context, page, requests, errors


def classify_file(page: Any, path: Path) -> dict[str, Any]:
    """Pick ``path`` through the page's <input type=file> and return edgeStudio.lastPrediction."""
    before = page.evaluate("window.edgeStudio.predictions")
    page.set_input_files("#file", str(path))
    wait_until(page, f"window.edgeStudio.predictions > {before} && window.edgeStudio.lastPrediction.source === 'image'")
    return page.evaluate("window.edgeStudio.lastPrediction")


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def launch(playwright_instance: Any, camera_file: Path | None = None) -> Any:
    flags = list(BASE_FLAGS)
    if camera_file is not None:
        flags.append(f"--use-file-for-fake-video-capture={camera_file}")
    return playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=flags)


# ----- one trained run and its bundles, shared by the web test modules (one xdist group: trained once) ----
QUANTIZATIONS = ("none", "float16", "uint8")


@dataclass(frozen=True)
class WebSetup:
    run: TrainedRun
    bundles: dict[str, Path]
    test_paths: list[Path]
    keras_probs: np.ndarray     # Keras on every test image, in test_paths order
    camera_image: Path
    camera_file: Path


@pytest.fixture(scope="session")
def setup(tmp_path_factory: pytest.TempPathFactory) -> WebSetup:
    require_browser()  # before the training, so a machine without Chromium skips fast
    from studio.core.export.exporter import export_bundle

    root = tmp_path_factory.mktemp("web")
    run = train_run(root / "project", arch="cnn", image_size=20, epochs=8, limit=300)
    bundles = {q: export_bundle(run.project, run.run_id, root / f"bundle-{q}", ExportOptions(quantization=q)).out
               for q in QUANTIZATIONS}
    paths, _ = load_split(run.project, "test")
    probs = python_probabilities(run.project, run.run_id, paths)
    # The camera shows the test image Keras is surest about: a live frame goes through YUV 4:2:0, and a
    # confident image keeps the comparison about the pipeline, not about a coin-flip between two labels.
    ranked = np.sort(probs, axis=1)
    best = int(np.argmax(ranked[:, -1] - ranked[:, -2]))
    camera_file = make_y4m(paths[best], root / "camera.y4m")
    return WebSetup(run, bundles, paths, probs, paths[best], camera_file)


@pytest.fixture(scope="session")
def browser(playwright_instance: Any, setup: WebSetup) -> Iterator[Any]:
    b = launch(playwright_instance, camera_file=setup.camera_file)
    yield b
    b.close()


@pytest.fixture
def served(setup: WebSetup) -> Iterator[PreviewServer]:
    with PreviewServer(setup.bundles["none"]) as server:
        yield server


def vector(prediction: dict[str, Any], labels: list[str]) -> np.ndarray:
    return np.array([prediction["probabilities"][name] for name in labels])
