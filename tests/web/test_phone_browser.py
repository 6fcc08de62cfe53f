"""The phone preview in headless Chromium dressed as a phone: https with the studio's own certificate (pinned
by its public-key fingerprint, as a person checks the fingerprint before accepting it), the one-time address,
the rear camera (a fake one showing a test image), the offline copy and the install check.

The server listens on 127.0.0.2 only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from studio.core.export.phone import PhoneServer
from tests.core.phone_helpers import LAN, get
from tests.web.conftest import BASE_FLAGS, CHROMIUM, WebSetup, vector, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_bundle")]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0.0.0 Mobile Safari/537.36"}
# Records what the page asks getUserMedia for (DevTools init scripts are not subject to the page's CSP).
RECORD_CAMERA = """
(() => {
  const md = navigator.mediaDevices; if (!md) return;
  const original = md.getUserMedia.bind(md);
  window.__cameraAsks = [];
  md.getUserMedia = (c) => { window.__cameraAsks.push(JSON.parse(JSON.stringify(c))); return original(c); };
})();
"""


@pytest.fixture
def phone_server(setup: WebSetup, tmp_path: Path) -> Any:
    with PhoneServer(setup.bundles["none"], host=LAN, cert_dir=tmp_path / "certs") as server:
        yield server


def test_phone_page_over_https_rear_camera_equals_python(setup: WebSetup, playwright_instance: Any,
                                                         phone_server: PhoneServer, artifacts_dir: Path,
                                                         tmp_path: Path) -> None:
    cert = phone_server.certificate
    assert cert is not None
    base = phone_server.base_url
    # Without the token, nothing: not the page, not the model.
    for path in ("/", "/model/model.json", "/metadata.json", "/sw.js"):
        assert get(phone_server.port, path)[0] == 403, path
    flags = [*BASE_FLAGS, f"--use-file-for-fake-video-capture={setup.camera_file}",
             f"--ignore-certificate-errors-spki-list={cert.spki_sha256_b64}"]
    # A persistent profile, as on a phone: an incognito one (Playwright's default) is never installable.
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=flags, **PHONE)
    first_url = phone_server.url
    try:
        context.add_init_script(RECORD_CAMERA)
        page = context.pages[0] if context.pages else context.new_page()
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(first_url)
        assert response is not None and response.status == 200
        assert page.url == base  # the token swapped for a cookie, the address clean again
        assert phone_server.devices == 1
        wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
        assert page.evaluate("window.edgeStudio.error") is None
        assert page.evaluate("window.isSecureContext") is True
        assert page.is_visible("#phone-notice summary")
        page.click("#phone-notice summary")  # opens the explanation
        notice = page.inner_text("#phone-notice")
        assert "not private" in notice and cert.short_fingerprint in notice and "Add to Home screen" in notice
        assert page.evaluate("document.cookie") == ""  # the cookie is out of scripts' reach
        # The offline copy (service worker) installs over https with the cookie; the manifest is served.
        wait_until(page, "window.edgeStudio.offline === 'ready' || window.edgeStudio.offline === 'failed'")
        assert page.evaluate("window.edgeStudio.offline") == "ready"
        manifest = page.evaluate("fetch('manifest.webmanifest').then(r => r.ok ? r.json() : r.status)")
        assert manifest["start_url"] == "./" and manifest["display"] == "standalone"
        cdp = context.new_cdp_session(page)
        installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        print("installability errors:", installability)

        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.predictions >= 10 && window.edgeStudio.lastPrediction.source === 'camera'")
        asks = page.evaluate("window.__cameraAsks")
        assert asks and asks[0]["video"]["facingMode"] == {"ideal": "environment"}, asks  # the rear camera
        live = page.evaluate("window.edgeStudio.lastPrediction")
        python = setup.keras_probs[setup.test_paths.index(setup.camera_image)]
        diff = float(np.max(np.abs(vector(live, setup.run.labels) - python)))
        print(f"phone camera: python {setup.run.labels[int(np.argmax(python))]} {python.max():.4f}, browser "
              f"{live['label']}, max |diff| {diff:.2e}")
        assert live["label"] == setup.run.labels[int(np.argmax(python))]
        assert diff < 0.02  # through the camera's YUV 4:2:0, as in test_bundle's live camera test
        page.screenshot(path=str(artifacts_dir / "phone_page_https.png"), full_page=True)
        page.click("#camera-toggle")
        assert errors == [] and page.evaluate("window.edgeStudio.cspViolations") == []
        origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in requests if not u.startswith("data:")}
        assert origins == {base.rstrip("/")}, origins  # nothing from anywhere else
        assert installability == [], installability  # "Add to Home screen" installs it as an app
    finally:
        context.close()
    # Another phone scanning the first (spent) code gets nothing; the code shown now still opens.
    assert get(first_url)[0] == 403
    assert get(phone_server.url)[0] == 303


def test_after_only_clicking_through_the_warning(setup: WebSetup, playwright_instance: Any,
                                                 phone_server: PhoneServer, tmp_path: Path) -> None:
    """A browser told to continue past the warning (not made to trust the certificate) runs the page and the
    model, and still offers to install it; it does not register the service worker (Chrome refuses it on a
    certificate error), so there is no offline copy. The README says so."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=BASE_FLAGS, ignore_https_errors=True,
        **PHONE)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(phone_server.url)
        wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
        assert page.evaluate("window.edgeStudio.error") is None
        wait_until(page, "['ready', 'failed', 'unsupported'].includes(window.edgeStudio.offline)")
        offline = page.evaluate("window.edgeStudio.offline")
        installability = context.new_cdp_session(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
        print(f"click-through: offline copy {offline}, installability errors {installability}")
        assert offline == "failed" and installability == []
    finally:
        context.close()
