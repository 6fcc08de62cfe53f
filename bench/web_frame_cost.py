"""Where a camera frame's time goes in the web page (issue 16's 3 ms goal), per TF.js backend, for a compact
uint8 bundle: the whole frame (``fromPixels`` of a 640x480 canvas, then the graph with its own resize),
``fromPixels`` alone, the frame as the page now reads a camera (drawn down to twice the model's input, then
``fromPixels`` and the graph), the graph on a 640x480 tensor, and the graph on a model-sized tensor. A live
camera adds the browser's decoding of each new frame (~3 ms here, in software), which a canvas does not.
Median of 30 warm runs each, headless Chromium. One line of JSON per backend.

    .venv/bin/python bench/web_frame_cost.py
"""

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.web_bundle import CHROMIUM, FLAGS, wait_until  # noqa: E402
from studio.core.export.exporter import export_bundle  # noqa: E402
from studio.core.export.serve import PreviewServer  # noqa: E402
from studio.core.project.demo import create_demo_project  # noqa: E402
from studio.core.specs import ExportOptions, PreprocessSpec, TrainConfig  # noqa: E402
from studio.core.training.run import train  # noqa: E402

# ms of each path; the model is loaded again under each backend.
JS = """async ([backend, size]) => {
  await tf.setBackend(backend); await tf.ready();
  const net = await tf.loadGraphModel('model/model.json');
  const canvas = document.createElement('canvas'); canvas.width = 640; canvas.height = 480;
  const ctx = canvas.getContext('2d', {willReadFrequently: true}); ctx.fillStyle = '#808080'; ctx.fillRect(0,0,640,480);
  const big = tf.zeros([1, 480, 640, 3]); const input = tf.zeros([1, size, size, 3]);
  async function time(fn) { const t = []; for (let i = 0; i < 35; i++) { const t0 = performance.now();
      const p = fn(); await p.data(); p.dispose(); if (i >= 5) t.push(performance.now() - t0); }
    t.sort((a, b) => a - b); return t[Math.floor(t.length / 2)]; }
  const out = {};
  const pixels = () => tf.cast(tf.browser.fromPixels(canvas), 'float32');
  out.frame = await time(() => tf.tidy(() => net.predict(tf.expandDims(pixels(), 0))));
  out.fromPixelsOnly = await time(() => tf.tidy(() => tf.sum(pixels())));
  // What the page does with a camera frame: drawn down to twice the input (short side), then read.
  const small = document.createElement('canvas');
  small.height = 2 * size; small.width = Math.round(small.height * 4 / 3);
  const sctx = small.getContext('2d', {willReadFrequently: true}); sctx.imageSmoothingQuality = 'high';
  out.frameDrawnDown = await time(() => tf.tidy(() => { sctx.drawImage(canvas, 0, 0, small.width, small.height);
    return net.predict(tf.expandDims(tf.cast(tf.browser.fromPixels(small), 'float32'), 0)); }));
  out.graph640 = await time(() => tf.tidy(() => net.predict(big)));
  out.graphModelSize = await time(() => tf.tidy(() => net.predict(input)));
  return out; }"""


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        project, _ = create_demo_project(tmp / "p", limit=600)
        size = PreprocessSpec().image_size
        run = train(project, TrainConfig(arch="compact", preprocess=PreprocessSpec(image_size=size, color="gray"),
                                         epochs=2))
        result = export_bundle(project, run.id, tmp / "b", ExportOptions(quantization="uint8"))
        with PreviewServer(result.out) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(server.url + "?backend=cpu")
            wait_until(page, "Boolean(window.edgeStudio && window.edgeStudio.ready)")
            for backend in ("wasm", "cpu", "webgl"):
                ms = page.evaluate(JS, [backend, size])
                print(backend, json.dumps({k: round(v, 2) for k, v in ms.items()}), flush=True)
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
