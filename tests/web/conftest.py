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
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
BASE_FLAGS = ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"STUDIO_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (set STUDIO_REQUIRE_BROWSER=1 to fail instead)")


def make_y4m(image: Path, target: Path, seconds: float = 2.0) -> Path:
    """A fake-camera video that shows ``image`` still (Chromium plays it as a live webcam, looping)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed to make the fake webcam video (apt-get install ffmpeg)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(image), "-t", str(seconds),
                    "-pix_fmt", "yuv420p", str(target)], check=True, timeout=60)
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
    wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
    error = page.evaluate("window.edgeStudio.error")
    assert error is None, f"model failed to load in the page: {error}"
    return context, page, requests, errors


def classify_file(page: Any, path: Path) -> dict[str, Any]:
    """Pick ``path`` through the page's <input type=file> and return edgeStudio.lastPrediction."""
    before = page.evaluate("window.edgeStudio.predictions")
    page.set_input_files("#file", str(path))
    wait_until(page, f"window.edgeStudio.predictions > {before} && window.edgeStudio.lastPrediction.source === 'image'")
    return page.evaluate("window.edgeStudio.lastPrediction")


@pytest.fixture(scope="module")
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
