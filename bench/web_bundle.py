"""Web bundle benchmark: every architecture x quantization, in headless Chromium, every TF.js backend.

For each combination: model and whole-bundle bytes; on live camera frames (a fake 640x480 webcam playing a
test image, which the page reads at twice the model's input, scaled by the browser), with each backend forced
(`?backend=`), the median milliseconds per inference (the model: the frame's pixels to probabilities, graph
preprocessing included) and per frame (reading the frame into a tensor + inference), side by side with Keras
on the CPU (the same graph on a frame of the same size); the backend the page chose by itself (its own timing
at load) and its load + choice + warm-up time; top-1 agreement of that page with the studio's Python
predictions on the test split. Prints one table; writes JSON beside it.

    .venv/bin/python bench/web_bundle.py [--epochs 5] [--limit 600] [--arch compact ...] [--quant uint8 ...]

Checked at the end: the page chose the backend that was fastest per camera frame, compact + uint8 runs at
<= 3 ms per inference on it, and its model files stay < 100 kB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.export.exporter import export_bundle  # noqa: E402
from studio.core.export.serve import PreviewServer  # noqa: E402
from studio.core.export.targets.tfjs import TfjsTarget  # noqa: E402
from studio.core.export.web_runtime import WEBGL_FILE  # noqa: E402
from studio.core.project.demo import create_demo_project  # noqa: E402
from studio.core.specs import ExportOptions, PreprocessSpec, TrainConfig  # noqa: E402
from studio.core.training.architectures import names as architecture_names  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUANTIZATIONS = TfjsTarget.quantizations
BACKENDS = ("wasm", "webgl", "cpu")
MODEL_BUDGET = 100_000
MS_BUDGET = 3.0
BUNDLE_BUDGET = 1_600_000
KERAS_RUNS = 30


def wait_until(page: Any, expression: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.05)
    return value


def camera_video(image: Path, target: Path) -> Path:
    """A 640x480 fake webcam (the usual camera size): the frames the page reads are scaled from it."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(image), "-t", "2", "-vf",
                    "scale=640:480", "-pix_fmt", "yuv420p", str(target)], check=True)
    return target


def measure_page(browser: Any, url: str, frames: int, test_paths: list[Path] | None = None,
                 labels: list[str] | None = None, python_top: list[int] | None = None) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url)
        wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
        if page.evaluate("window.edgeStudio.error"):
            raise RuntimeError(page.evaluate("window.edgeStudio.error"))
        load_ms, backend, choice = page.evaluate(
            "[window.edgeStudio.loadMs, window.edgeStudio.backend, window.edgeStudio.backendChoice]")
        agree = None
        if test_paths:
            hits = 0
            for path, expected in zip(test_paths, python_top or []):
                before = page.evaluate("window.edgeStudio.predictions")
                page.set_input_files("#file", str(path))
                wait_until(page, f"window.edgeStudio.predictions > {before}")
                hits += page.evaluate("window.edgeStudio.lastPrediction.label") == (labels or [])[expected]
            agree = hits / len(test_paths)
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.lastPrediction && window.edgeStudio.lastPrediction.source === 'camera'")
        page.evaluate("window.edgeStudio.stats.ms.length = 0; window.edgeStudio.stats.readMs.length = 0")  # warm-up
        wait_until(page, f"window.edgeStudio.stats.ms.length >= {frames}", timeout=600)
        ms, read_ms, frame = page.evaluate("[window.edgeStudio.stats.ms.slice(), "
                                           "window.edgeStudio.stats.readMs.slice(), window.edgeStudio.cameraFrame]")
        return {"backend": backend, "choice": choice, "load_ms": load_ms, "median_ms": statistics.median(ms),
                "frame_ms": statistics.median([a + b for a, b in zip(ms, read_ms)]), "read_size": frame["read"],
                "agreement": agree}
    finally:
        context.close()


def keras_ms(project: Any, run: Any, frame_shape: tuple[int, int]) -> float:
    """Median ms of Keras on the CPU for one (height, width) frame through preprocessing + network (graph
    mode), from a float tensor as the page's inference time is."""
    import numpy as np
    import tensorflow as tf

    from studio.core.evaluation.predict import load_run_model
    from studio.core.preprocess import preprocess

    model = load_run_model(project, run)
    spec = TrainConfig.from_dict(run.config).preprocess
    infer = tf.function(lambda px: model(preprocess(px, spec), training=False))
    frame = tf.constant(np.full((1, *frame_shape, 3), 128, np.float32))
    times = []
    for i in range(KERAS_RUNS + 3):
        t0 = time.perf_counter()
        infer(frame).numpy()
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", choices=list(architecture_names()), help="default: all")
    parser.add_argument("--quant", action="append", choices=list(QUANTIZATIONS), help="default: all")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=600, help="demo digits used (of 1797)")
    parser.add_argument("--image-size", type=int, default=PreprocessSpec().image_size)
    parser.add_argument("--frames", type=int, default=40, help="camera frames timed per backend")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "web_bundle.json"))
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from studio.core.evaluation.predict import predict_files, run_labels
    from studio.core.training.run import train

    archs = args.arch or list(architecture_names())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp_name:
        tmp = Path(tmp_name)
        project, _ = create_demo_project(tmp / "project", limit=args.limit)
        test_paths, _, _ = project.labelled_split("test")
        video = camera_video(test_paths[0], tmp / "camera.y4m")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=[*FLAGS, f"--use-file-for-fake-video-capture={video}"])
            for arch in archs:
                spec = PreprocessSpec(image_size=args.image_size, color="gray")
                t0 = time.monotonic()
                run = train(project, TrainConfig(arch=arch, preprocess=spec, epochs=args.epochs))
                if run.status != "finished":
                    raise SystemExit(f"{arch}: training failed: {run.error}")
                print(f"{arch}: trained in {time.monotonic() - t0:.0f}s, test accuracy "
                      f"{run.metrics.get('test_accuracy', float('nan')):.3f}", file=sys.stderr)
                labels = run_labels(project, run)
                predictions = predict_files(project, run, test_paths)
                python_top = [labels.index(p["label"]) for p in predictions]
                keras = None
                for quantization in args.quant or QUANTIZATIONS:
                    result = export_bundle(project, run.id, tmp / f"{arch}-{quantization}",
                                           ExportOptions(quantization=quantization))
                    shipped = [b for b in BACKENDS if b != "webgl" or f"vendor/{WEBGL_FILE}" in result.files]
                    with PreviewServer(result.out) as server:
                        forced = {b: measure_page(browser, f"{server.url}?backend={b}", args.frames) for b in shipped}
                        auto = measure_page(browser, server.url, args.frames, test_paths, labels, python_top)
                    if keras is None:  # on a frame the size the page read
                        keras = keras_ms(project, run, (auto["read_size"][1], auto["read_size"][0]))
                    rows.append({"arch": arch, "quantization": quantization, "model_bytes": result.model_bytes,
                                 "bundle_bytes": result.bytes, "gzip_bytes": gzip_bytes(result.out),
                                 "test_accuracy": run.metrics.get("test_accuracy"),
                                 "n_test": len(test_paths), "keras_ms": keras, "read_size": auto["read_size"],
                                 "backend_ms": {b: m["median_ms"] for b, m in forced.items()},
                                 "backend_frame_ms": {b: m["frame_ms"] for b, m in forced.items()},
                                 "chosen": auto["backend"], "chosen_ms": auto["median_ms"],
                                 "chosen_frame_ms": auto["frame_ms"], "choice_timings": auto["choice"]["ms"],
                                 "load_ms": auto["load_ms"], "agreement": auto["agreement"]})
                    print(f"  {quantization:7s} keras {keras:.2f} ms, " +
                          ", ".join(f"{b} {m['median_ms']:.2f} / {m['frame_ms']:.2f} ms" for b, m in forced.items()) +
                          f" (inference / frame); page chose {auto['backend']}", file=sys.stderr)
                    shutil.rmtree(result.out)
            browser.close()
    print_table(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"\n(JSON: {out})")
    return check(rows)


def gzip_bytes(bundle: Path) -> int:
    """What a static host sends with gzip on (level 6, nginx's and most hosts' default) for every file."""
    return sum(len(gzip.compress(p.read_bytes(), compresslevel=6)) for p in bundle.rglob("*") if p.is_file())


def print_table(rows: list[dict[str, Any]]) -> None:
    print("ms per inference / per camera frame (read + inference); frames read at "
          + ", ".join(sorted({"x".join(map(str, r["read_size"])) for r in rows})) + " from a 640x480 camera")
    headers = ["arch", "quant", "model kB", "bundle kB", "gzip kB", "keras ms", *(f"{b} ms" for b in BACKENDS),
               "chosen", "chosen ms", "load+choose ms", "top-1 agree"]
    cells = [[r["arch"], r["quantization"], f"{r['model_bytes'] / 1e3:.1f}", f"{r['bundle_bytes'] / 1e3:.0f}",
              f"{r['gzip_bytes'] / 1e3:.0f}", f"{r['keras_ms']:.2f}",
              *(f"{r['backend_ms'][b]:.2f} / {r['backend_frame_ms'][b]:.2f}" if b in r["backend_ms"] else "not shipped"
                for b in BACKENDS),
              r["chosen"], f"{r['chosen_ms']:.2f} / {r['chosen_frame_ms']:.2f}", f"{r['load_ms']:.0f}",
              f"{r['agreement']:.1%}"] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *cells)]
    for i, line in enumerate([headers, *cells]):
        print("  ".join(str(c).rjust(w) if j > 1 else str(c).ljust(w) for j, (c, w) in enumerate(zip(line, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def check(rows: list[dict[str, Any]]) -> int:
    for r in rows:
        fastest = min(r["backend_frame_ms"], key=r["backend_frame_ms"].get)
        print(f"{r['arch']}+{r['quantization']}: fastest per camera frame {fastest}, page chose {r['chosen']}"
              f"{'' if fastest == r['chosen'] else '  <- differs'}")
    compact = [r for r in rows if r["arch"] == "compact" and r["quantization"] == "uint8"]
    if compact:
        r = compact[0]
        ok = r["model_bytes"] < MODEL_BUDGET and r["chosen_ms"] <= MS_BUDGET and r["bundle_bytes"] <= BUNDLE_BUDGET
        print(f"acceptance: compact+uint8 model {r['model_bytes']:,} B (< {MODEL_BUDGET:,}), "
              f"{r['chosen_ms']:.2f} ms per inference on {r['chosen']} (<= {MS_BUDGET}; "
              f"{r['chosen_frame_ms']:.2f} ms per camera frame), bundle {r['bundle_bytes']:,} B (<= {BUNDLE_BUDGET:,}; "
              f"gzip {r['gzip_bytes']:,} B): {'OK' if ok else 'FAILED'}")
    return 0  # a benchmark reports; `make bench` goes on to the next one either way


if __name__ == "__main__":
    sys.exit(main())
