"""The bundle as an app: backend chosen by timing, offline after one visit, installable, rear camera on phones,
an "unsure" answer, and a plain-http host. Same trained run and bundles as test_bundle.py (conftest.py)."""

from __future__ import annotations

import functools
import http.client
import http.server
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.core.export import web_app
from studio.core.export.bundle_folder import METADATA
from studio.core.export.serve import PreviewServer
from tests.web.conftest import BASE_FLAGS, CHROMIUM, WebSetup, classify_file, open_bundle, vector, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_bundle")]

BACKENDS = ("wasm", "webgl", "cpu")
PARITY_IMAGES = 8


def test_page_times_every_backend_keeps_the_fastest_and_remembers_it(setup: WebSetup, browser: Any,
                                                                     served: PreviewServer) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        choice = page.evaluate("window.edgeStudio.backendChoice")
        assert choice["how"] == "measured"
        assert set(choice["ms"]) == set(BACKENDS), choice  # all three start in headless Chromium
        fastest = min(choice["ms"], key=choice["ms"].get)
        assert page.evaluate("window.edgeStudio.backend") == fastest
        assert page.text_content("#stat-backend") == fastest
        assert f"Runs on {fastest}" in page.text_content("#backend-note")
        if fastest == "wasm":
            assert page.evaluate("window.edgeStudio.wasm.simd") is True
        page.reload()
        wait_until(page, "window.edgeStudio.ready")
        assert page.evaluate("window.edgeStudio.backendChoice.how") == "remembered"
        assert page.evaluate("window.edgeStudio.backend") == fastest
        page.goto(served.url + "?backend=cpu")
        wait_until(page, "window.edgeStudio.ready")
        assert page.evaluate("[window.edgeStudio.backend, window.edgeStudio.backendChoice.how]") == ["cpu", "forced"]
        assert page.evaluate("window.edgeStudio.cspViolations") == [] and errors == []
    finally:
        context.close()


def test_float32_parity_with_keras_on_every_backend(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    paths = setup.test_paths[:PARITY_IMAGES]
    for backend in BACKENDS:
        context, page, _, errors = open_bundle(browser, f"{served.url}?backend={backend}")
        try:
            assert page.evaluate("window.edgeStudio.backend") == backend
            got = np.array([vector(classify_file(page, p), setup.run.labels) for p in paths])
        finally:
            context.close()
        diff = float(np.max(np.abs(got - setup.keras_probs[:len(paths)])))
        print(f"{backend}: max |p diff| {diff:.2e} over {len(paths)} images")
        assert diff <= 1e-5, backend
        assert errors == []


def test_offline_reload_still_loads_and_classifies(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        wait_until(page, "window.edgeStudio.offline === 'ready' && !!navigator.serviceWorker.controller")
        context.set_offline(True)
        page.reload()
        wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
        assert page.evaluate("window.edgeStudio.error") is None
        assert page.evaluate("navigator.onLine") is False
        prediction = classify_file(page, setup.test_paths[0])
        assert prediction["label"] == setup.run.labels[int(np.argmax(setup.keras_probs[0]))]
        assert errors == []
    finally:
        context.close()


def test_a_new_export_replaces_the_cached_one(setup: WebSetup, browser: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(setup.bundles["uint8"], bundle)
    with PreviewServer(bundle) as server:
        context, page, _, _ = open_bundle(browser, server.url + "?backend=cpu")
        try:
            wait_until(page, "window.edgeStudio.offline === 'ready' && !!navigator.serviceWorker.controller")
            first = page.evaluate("caches.keys()")
            shutil.rmtree(bundle)
            shutil.copytree(setup.bundles["float16"], bundle)  # "a new export" at the same address
            page.reload()
            # The old worker serves the old page; the browser finds the new sw.js, which takes over and
            # reloads the page once, so the page then runs the new model from a new, single cache.
            _wait_through_reloads(page, "window.edgeStudio.ready && window.edgeStudio.quantization === 'float16'")
            now = page.evaluate("caches.keys()")
            assert len(first) == len(now) == 1 and first != now
        finally:
            context.close()


def _wait_through_reloads(page: Any, expression: str, timeout: float = 60.0) -> None:
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout
    while True:
        try:
            wait_until(page, f"window.edgeStudio && {expression}", timeout=max(1.0, deadline - time.monotonic()))
            return
        except Error:  # the page navigated while being asked
            if time.monotonic() > deadline:
                raise


def test_manifest_is_valid_and_chromium_finds_the_page_installable(setup: WebSetup, playwright_instance: Any,
                                                                   served: PreviewServer, tmp_path: Path) -> None:
    manifest = json.loads((setup.bundles["none"] / "manifest.webmanifest").read_text())
    meta = json.loads((setup.bundles["none"] / "metadata.json").read_text())
    assert manifest["name"] == web_app.page_title(None, meta["labels"]) and manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    # Chromium never calls an incognito (non-persistent) context installable: a real profile here.
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=BASE_FLAGS)
    try:
        page = context.new_page()
        page.goto(served.url + "?backend=cpu")
        wait_until(page, "window.edgeStudio.offline === 'ready'")
        cdp = context.new_cdp_session(page)
        parsed = cdp.send("Page.getAppManifest")
        assert parsed["errors"] == [] and parsed["url"].endswith("/manifest.webmanifest")
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        context.close()


_RECORD_GET_USER_MEDIA = """
window.__cameraRequests = [];
const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.__cameraRequests.push(JSON.parse(JSON.stringify(constraints)));
  return original(constraints);
};
"""


def test_phone_asks_for_the_rear_camera_first(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    try:
        context.add_init_script(_RECORD_GET_USER_MEDIA)
        page = context.new_page()
        page.goto(served.url + "?backend=cpu")
        wait_until(page, "window.edgeStudio.ready")
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.lastPrediction && window.edgeStudio.lastPrediction.source === 'camera'")
        requests = page.evaluate("window.__cameraRequests")
        assert requests[0]["video"]["facingMode"] in ("environment", {"ideal": "environment"}), requests
        assert page.locator("#camera-select").count() == 1  # the picker stays
        page.click("#camera-toggle")  # stop: the camera's answer leaves with the picture
        wait_until(page, "document.getElementById('video').srcObject === null")
        assert page.inner_text("#top-label") == "—"
    finally:
        context.close()


def _bundle_with_metadata(setup: WebSetup, folder: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the float32 bundle in ``folder`` whose metadata ``edit`` has changed in place."""
    bundle = folder / "bundle"
    shutil.copytree(setup.bundles["none"], bundle)
    meta = json.loads((bundle / METADATA).read_text())
    edit(meta)
    (bundle / METADATA).write_text(json.dumps(meta))
    return bundle


def test_unsure_below_the_exported_threshold(setup: WebSetup, browser: Any, tmp_path: Path) -> None:
    meta = json.loads((setup.bundles["none"] / METADATA).read_text())
    assert meta["unsure"]["source"] == "validation" and 0 <= meta["unsure"]["threshold"] < 1
    def never_sure(m: dict) -> None:
        m["unsure"].update(threshold=1.0)  # nothing is that sure
        m["unsure"]["known_score"]["threshold"] = -1e30  # and every picture is like the classes

    bundle = _bundle_with_metadata(setup, tmp_path, never_sure)
    with PreviewServer(bundle) as server:
        context, page, _, _ = open_bundle(browser, server.url + "?backend=cpu")
        try:
            prediction = classify_file(page, setup.test_paths[0])
            assert prediction["unsure"] is True
            assert page.inner_text("#top-label") == "Not sure"
            assert prediction["label"] in page.inner_text("#top-confidence")
        finally:
            context.close()


def test_small_camera_is_read_as_shown(setup: WebSetup, browser: Any, tmp_path: Path) -> None:
    """A camera no bigger than twice the model's input is not scaled: the model reads the shown frames."""
    # The page's reading size only; the graph resizes as it did.
    bundle = _bundle_with_metadata(setup, tmp_path, lambda m: m["preprocessing"].update(image_size=64))
    with PreviewServer(bundle) as server:
        context, page, _, errors = open_bundle(browser, server.url + "?backend=cpu")
        try:
            page.click("#camera-toggle")
            wait_until(page, "window.edgeStudio.predictions >= 3 "
                             "&& window.edgeStudio.lastPrediction.source === 'camera'")
            assert page.evaluate("window.edgeStudio.cameraFrame") == {"shown": [64, 64], "read": [64, 64]}
            assert errors == []
        finally:
            context.close()


@pytest.fixture
def plain_http_host(setup: WebSetup) -> Iterator[int]:
    """Any static host: Python's plain file server (no COOP/COEP, no cache headers)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(setup.bundles["uint8"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_plain_http_lan_address_explains_the_camera_and_still_classifies(setup: WebSetup, playwright_instance: Any,
                                                                         plain_http_host: int) -> None:
    # A LAN name over plain http is not a secure context: no camera, no service worker.
    lan = playwright_instance.chromium.launch(executable_path=str(CHROMIUM),
                                              args=[*BASE_FLAGS, "--host-resolver-rules=MAP studio.lan 127.0.0.1"])
    try:
        page = lan.new_page()
        page.goto(f"http://studio.lan:{plain_http_host}/")
        wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
        assert page.evaluate("[window.isSecureContext, window.edgeStudio.error]") == [False, None]
        notice = page.inner_text("#insecure-notice")
        assert page.is_visible("#insecure-notice") and "https" in notice and "localhost" in notice
        assert classify_file(page, setup.test_paths[1])["source"] == "image"
        assert page.evaluate("window.edgeStudio.offline") == "unsupported"
    finally:
        lan.close()


def test_preview_server_sends_wasm_type_and_isolation_headers(setup: WebSetup, served: PreviewServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        for path, mime in (("/vendor/tfjs-backend-wasm-simd.wasm", "application/wasm"),
                           ("/manifest.webmanifest", "application/manifest+json"), ("/", "text/html")):
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and response.getheader("Content-Type").startswith(mime), path
            assert response.getheader("Cross-Origin-Opener-Policy") == "same-origin"
            assert response.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
            if mime == "application/wasm":
                assert body[:4] == b"\0asm"
    finally:
        conn.close()
