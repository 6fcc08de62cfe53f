"""The exported bundle in real headless Chromium, served by the real preview server.

One small CNN is trained once (the ``setup`` fixture in conftest.py, shared with test_web_app.py) and
exported three times (float32, float16, uint8). Probabilities from the page are compared with Keras on the
same image files.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.core.export.bundle_folder import METADATA
from studio.core.export.serve import PreviewServer
from studio.core.export.web_app import page_title
from tests.web.conftest import QUANTIZATIONS, WebSetup, classify_file, open_bundle, vector, wait_until

# One worker runs the whole module (make test: -n 2 --dist loadgroup), so the model is trained once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_bundle")]

MIN_AGREEMENT = {"float16": 0.99, "uint8": 0.97}


def test_uploaded_image_is_classified(setup: WebSetup, browser: Any, served: PreviewServer,
                                      artifacts_dir: Path) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        labels = setup.run.labels
        assert page.title() == page_title(None, list(labels))
        prediction = classify_file(page, setup.test_paths[0])
        assert prediction["source"] == "image"
        assert set(prediction["probabilities"]) == set(labels)
        assert abs(sum(prediction["probabilities"].values()) - 1) < 1e-4
        expected = labels[int(np.argmax(setup.keras_probs[0]))]
        assert prediction["label"] == expected
        assert prediction["ms"] > 0
        # The page shows it: top label, one bar per top-k label, the backend.
        assert page.inner_text("#top-label") == expected
        assert page.locator("#bars .bar-row").count() == min(5, len(labels))
        assert page.text_content("#stat-backend") in ("wasm", "webgl", "cpu")
        assert page.evaluate("window.edgeStudio.cspViolations") == []
        assert errors == []
        # A square picture is shown whole inside the 4:3 stage (fitted, not cropped).
        box = page.evaluate("(() => { const s = document.getElementById('stage').getBoundingClientRect(); "
                            "const c = document.getElementById('picture').getBoundingClientRect(); "
                            "return [s.top, s.bottom, c.top, c.bottom]; })()")
        assert box[2] >= box[0] - 1 and box[3] <= box[1] + 1, box
        page.screenshot(path=str(artifacts_dir / "web_bundle_image.png"), full_page=True)
    finally:
        context.close()


def test_live_camera_prediction_equals_python(setup: WebSetup, browser: Any, served: PreviewServer,
                                              artifacts_dir: Path) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.predictions >= 10 && window.edgeStudio.lastPrediction.source === 'camera'")
        live = page.evaluate("window.edgeStudio.lastPrediction")
        index = setup.test_paths.index(setup.camera_image)
        python = setup.keras_probs[index]
        browser_probs = vector(live, setup.run.labels)
        diff = float(np.max(np.abs(browser_probs - python)))
        print(f"camera: python {setup.run.labels[int(np.argmax(python))]} {python.max():.4f}, "
              f"browser {live['label']} {browser_probs.max():.4f}, max |diff| {diff:.2e}")
        assert live["label"] == setup.run.labels[int(np.argmax(python))]
        # The frame went through the camera's YUV 4:2:0 encoding: equal up to that rounding, not bit-exact.
        assert diff < 0.02
        # The model read frames drawn down to twice its input (the camera shows the 64x64 image).
        frame = page.evaluate("window.edgeStudio.cameraFrame")
        assert frame["shown"] == [64, 64] and frame["read"] == [2 * image_size(served)] * 2, frame
        assert page.evaluate("window.edgeStudio.stats.fps") > 0
        assert page.evaluate("document.getElementById('video').classList.contains('mirrored')")
        assert page.evaluate("document.getElementById('video').playsInline")
        page.screenshot(path=str(artifacts_dir / "web_bundle_camera.png"), full_page=True)
        page.click("#camera-toggle")  # stop
        wait_until(page, "document.getElementById('video').srcObject === null")
        page.wait_for_timeout(300)  # a frame still in flight at Stop must not bring the prediction back
        assert page.inner_text("#top-label") == "—"  # no stale prediction, and nothing marked live
        assert page.evaluate("document.getElementById('source-badge').hidden")
        assert errors == []
    finally:
        context.close()


def image_size(served: PreviewServer) -> int:
    with (Path(served.root) / METADATA).open() as f:
        return int(json.load(f)["preprocessing"]["image_size"])


def test_big_camera_frames_are_read_small(setup: WebSetup, playwright_instance: Any, served: PreviewServer,
                                          tmp_path: Path) -> None:
    """A 640x480 camera: the preview shows it whole, the model reads frames drawn down to twice its input
    (the cheap path, issue 16), and still answers as Python does on the image."""
    from tests.web.conftest import launch, make_y4m

    size = image_size(served)
    video = make_y4m(setup.camera_image, tmp_path / "vga.y4m", size=(640, 480))
    vga = launch(playwright_instance, camera_file=video)
    try:
        context, page, _, errors = open_bundle(vga, served.url)
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.predictions >= 10 && window.edgeStudio.lastPrediction.source === 'camera'")
        frame = page.evaluate("window.edgeStudio.cameraFrame")
        assert frame["shown"] == [640, 480]
        assert frame["read"][1] == 2 * size and abs(frame["read"][0] - 2 * size * 4 / 3) <= 1, frame
        live = page.evaluate("window.edgeStudio.lastPrediction")
        python = setup.keras_probs[setup.test_paths.index(setup.camera_image)]
        assert live["label"] == setup.run.labels[int(np.argmax(python))]
        # Upscaled to 640x480, YUV 4:2:0 and scaled down again: close to Python on the image, not equal.
        assert float(np.max(np.abs(vector(live, setup.run.labels) - python))) < 0.05
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.cameraFrame === null")
        assert errors == []
        context.close()
    finally:
        vga.close()


_DELIVER = """([b64, kind]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], "digit.png", { type: "image/png" }));
    const event = kind === "drop"
        ? new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true })
        : new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
    (kind === "drop" ? document.getElementById("stage") : document.body).dispatchEvent(event);
}"""


def test_dropped_and_pasted_images_are_classified(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    import base64

    context, page, _, errors = open_bundle(browser, served.url)
    try:
        for n, kind in enumerate(("drop", "paste")):
            index = 4 + n
            before = page.evaluate("window.edgeStudio.predictions")
            page.evaluate(_DELIVER, [base64.b64encode(setup.test_paths[index].read_bytes()).decode(), kind])
            wait_until(page, f"window.edgeStudio.predictions > {before}")
            prediction = page.evaluate("window.edgeStudio.lastPrediction")
            assert prediction["source"] == "image"
            assert np.max(np.abs(vector(prediction, setup.run.labels) - setup.keras_probs[index])) < 1e-3, kind
        assert errors == []
    finally:
        context.close()


@pytest.mark.slow
def test_browser_probabilities_match_keras(setup: WebSetup, browser: Any) -> None:
    labels = setup.run.labels
    keras_top = np.argmax(setup.keras_probs, axis=1)
    for quantization in QUANTIZATIONS:
        paths = setup.test_paths[:20] if quantization == "none" else setup.test_paths
        with PreviewServer(setup.bundles[quantization]) as server:
            context, page, _, errors = open_bundle(browser, server.url)
            try:
                got = np.array([vector(classify_file(page, p), labels) for p in paths])
            finally:
                context.close()
        assert errors == []
        agreement = float(np.mean(np.argmax(got, axis=1) == keras_top[:len(paths)]))
        max_diff = float(np.max(np.abs(got - setup.keras_probs[:len(paths)])))
        print(f"{quantization}: {len(paths)} images, top-1 agreement {agreement:.1%}, max |p diff| {max_diff:.2e}")
        if quantization == "none":
            assert max_diff < 1e-3
            assert agreement == 1.0
        else:
            assert agreement >= MIN_AGREEMENT[quantization]


def test_no_request_leaves_the_origin(setup: WebSetup, browser: Any, served: PreviewServer) -> None:
    context, page, requests, _ = open_bundle(browser, served.url)
    try:
        classify_file(page, setup.test_paths[1])
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.lastPrediction.source === 'camera'")
        page.wait_for_timeout(500)
    finally:
        context.close()
    origin = served.url.rstrip("/")
    foreign = [u for u in requests if not (u.startswith(origin + "/") or u.startswith(("blob:", "data:")))]
    assert requests, "no request was recorded at all"
    assert foreign == []
    index = (setup.bundles["none"] / "index.html").read_text()
    assert "Content-Security-Policy" in index and "default-src 'self'" in index
    assert "http://" not in index and "https://" not in index


@pytest.mark.slow
def test_tensor_count_is_flat_over_300_frames(browser: Any, served: PreviewServer) -> None:
    context, page, _, errors = open_bundle(browser, served.url)
    try:
        def run_frames(n: int) -> list[int]:
            """Camera on for ``n`` more frames, then off; counted once no frame is in flight (a frame in
            flight holds one probabilities tensor until its values are read)."""
            before = page.evaluate("window.edgeStudio.predictions")
            page.click("#camera-toggle")
            wait_until(page, f"window.edgeStudio.predictions >= {before + n}", timeout=240)
            page.click("#camera-toggle")
            wait_until(page, "!window.edgeStudio.busy && document.getElementById('video').srcObject === null")
            return page.evaluate("[window.edgeStudio.predictions, window.edgeStudio.numTensors()]")

        start = run_frames(10)
        end = run_frames(300)
        print(f"numTensors {start[1]} after {start[0]} frames, {end[1]} after {end[0]} frames")
        assert end[0] - start[0] >= 300
        assert end[1] == start[1]
        assert errors == []
    finally:
        context.close()


def _get(server: PreviewServer, raw_path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)  # raw: no client-side normalising
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_server_refuses_traversal_on_a_real_bundle(setup: WebSetup, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(setup.bundles["uint8"], bundle)
    (tmp_path / "secret.txt").write_text("secret")
    (bundle / "escape").symlink_to(tmp_path)
    (bundle / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with PreviewServer(bundle) as server:
        assert _get(server, "/")[0] == 200
        status, headers, body = _get(server, "/metadata.json")
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert json.loads(body)["labels"] == setup.run.labels
        for attack in ("/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/model/../../secret.txt",
                       "/escape/secret.txt", "/leak.txt", str(tmp_path / "secret.txt"), "//etc/passwd",
                       "/..%5csecret.txt", "/model/", "/vendor", "/%00index.html"):
            status, _, body = _get(server, attack)
            assert status == 404, attack
            assert b"secret" not in body


def test_error_messages_for_missing_model_and_camera(setup: WebSetup, playwright_instance: Any,
                                                     tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(setup.bundles["uint8"], broken)
    (broken / "model" / "model.json").unlink()
    # No fake camera device and no auto-accepted prompt: the camera is missing or refused.
    plain = playwright_instance.chromium.launch(executable_path="/usr/bin/chromium",
                                                args=["--no-sandbox", "--disable-gpu"])
    try:
        with PreviewServer(broken) as server:
            page = plain.new_page()
            page.goto(server.url)
            wait_until(page, "window.edgeStudio.error")
            assert not page.is_hidden("#alert")
            assert "could not be loaded" in page.inner_text("#alert")
            page.close()
        with PreviewServer(setup.bundles["uint8"]) as server:
            page = plain.new_page()
            page.goto(server.url)
            wait_until(page, "window.edgeStudio.ready")
            page.click("#camera-toggle")
            wait_until(page, "!document.getElementById('alert').hidden")
            message = page.inner_text("#alert")
            assert "No camera found" in message or "permission denied" in message, message
            # Images still work without a camera.
            assert classify_file(page, setup.test_paths[2])["source"] == "image"
            page.close()
    finally:
        plain.close()


def test_phone_layout_fits_the_screen(setup: WebSetup, browser: Any, served: PreviewServer,
                                      artifacts_dir: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        page.goto(served.url)
        wait_until(page, "window.edgeStudio.ready")
        classify_file(page, setup.test_paths[3])
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        page.screenshot(path=str(artifacts_dir / "web_bundle_phone.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.slow
def test_export_and_serve_from_the_command_line(setup: WebSetup, tmp_path: Path) -> None:
    """`edge-studio export ... --json` then `edge-studio serve --port 0 --json` answers on 127.0.0.1."""
    import sys

    out = tmp_path / "cli-bundle"
    done = subprocess.run([sys.executable, "-m", "studio", "export", str(setup.run.project.root), "--out", str(out),
                           "--quantize", "uint8", "--zip", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["out"] == str(out) and result["bytes"] > 0 and "index.html" in result["files"]
    assert (tmp_path / "cli-bundle.zip").is_file()
    server = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(out), "--port", "0", "--json"],
                              stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200 and b"<title>" in response.read()
        conn.close()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
