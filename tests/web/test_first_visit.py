"""The page for a first-time visitor (issue 23): a photo picked while the model is still loading is classified
once it is ready, loading shows its progress, and the technical lines (backend, timings) sit behind a details
toggle. Same trained run and bundles as test_bundle.py (conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from studio.core.export.serve import PreviewServer
from tests.web.conftest import WebSetup, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_bundle")]


def test_photo_picked_while_loading_is_classified_once_ready(setup: WebSetup, browser: Any,
                                                             served: PreviewServer) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 640})
    page = context.new_page()
    held: list[Any] = []
    try:
        # Hold the weight files: the model stays "loading" until the photo has been picked.
        page.route("**/*.bin", lambda route: held.append(route))
        page.goto(served.url)
        wait_until(page, "document.readyState === 'complete'")
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the page never asked for its weights"
        assert page.evaluate("window.edgeStudio.ready") is False
        assert page.is_visible("#load-progress")
        page.set_input_files("#file", str(setup.test_paths[0]))
        page.wait_for_timeout(300)
        assert page.evaluate("window.edgeStudio.lastPrediction") is None
        assert not page.is_visible("#alert")  # no "The model is not loaded" dead end
        assert "as soon as the model has loaded" in page.inner_text("#top-confidence")
        page.unroute("**/*.bin")  # lets the held requests go on to the server
        wait_until(page, "window.edgeStudio.ready && window.edgeStudio.lastPrediction !== null", timeout=60)
        prediction = page.evaluate("window.edgeStudio.lastPrediction")
        assert prediction["source"] == "image" and prediction["label"] in setup.run.labels
        assert page.evaluate("window.edgeStudio.loadProgress") == 100
        assert not page.is_visible("#load-progress")
    finally:
        context.close()


def test_technical_lines_are_behind_a_details_toggle(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 640})
    page = context.new_page()
    try:
        page.goto(served.url)
        wait_until(page, "window.edgeStudio && window.edgeStudio.ready")
        assert not page.is_visible("#stat-backend") and not page.is_visible("#backend-note")
        page.click("#tech-details summary")
        assert page.is_visible("#stat-backend") and "Runs on" in page.inner_text("#backend-note")
    finally:
        context.close()
