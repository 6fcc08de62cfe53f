"""Web bundle benchmark: every architecture x quantization, in headless Chromium (webgl and cpu backends).

For each combination: model and whole-bundle bytes, model load + warm-up time, median milliseconds per
inference on live 640x480 camera frames (a fake webcam playing a test image), and top-1 agreement of the
browser with the studio's Python predictions on the test split. Prints one table; writes JSON beside it.

    .venv/bin/python bench/web_bundle.py [--epochs 5] [--limit 600] [--arch compact ...]

Acceptance checked at the end: compact + uint8 model files < 100 kB and the whole bundle < 1.6 MB.
"""

from __future__ import annotations

import argparse
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

from studio.core.architectures import ARCHITECTURES  # noqa: E402
from studio.core.demo import create_demo_project  # noqa: E402
from studio.core.export import export_bundle  # noqa: E402
from studio.core.serve import PreviewServer  # noqa: E402
from studio.core.specs import ExportOptions, PreprocessSpec, TrainConfig  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUANTIZATIONS = ("none", "float16", "uint8")
BACKENDS = ("webgl", "cpu")
MODEL_BUDGET = 100_000
BUNDLE_BUDGET = 1_600_000


def wait_until(page: Any, expression: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.05)
    return value


def camera_video(image: Path, target: Path) -> Path:
    """A 640x480 fake webcam (the usual camera size), so timings include a realistic resize in the graph."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(image), "-t", "2", "-vf",
                    "scale=640:480", "-pix_fmt", "yuv420p", str(target)], check=True)
    return target


def measure_page(browser: Any, url: str, test_paths: list[Path], labels: list[str], python_top: list[int],
                 frames: int) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url)
        wait_until(page, "window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)")
        if page.evaluate("window.edgeStudio.error"):
            raise RuntimeError(page.evaluate("window.edgeStudio.error"))
        load_ms, backend = page.evaluate("[window.edgeStudio.loadMs, window.edgeStudio.backend]")
        agree = 0
        for path, expected in zip(test_paths, python_top):
            before = page.evaluate("window.edgeStudio.predictions")
            page.set_input_files("#file", str(path))
            wait_until(page, f"window.edgeStudio.predictions > {before}")
            agree += page.evaluate("window.edgeStudio.lastPrediction.label") == labels[expected]
        page.click("#camera-toggle")
        wait_until(page, "window.edgeStudio.lastPrediction.source === 'camera'")
        page.evaluate("window.edgeStudio.stats.ms.length = 0")  # drop warm-up frames
        wait_until(page, f"window.edgeStudio.stats.ms.length >= {frames}", timeout=600)
        ms = page.evaluate("window.edgeStudio.stats.ms.slice()")
        fps = page.evaluate("window.edgeStudio.stats.fps")
        return {"backend": backend, "load_ms": load_ms, "median_ms": statistics.median(ms), "fps": fps,
                "agreement": agree / len(test_paths)}
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", choices=list(ARCHITECTURES), help="default: all")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=600, help="demo digits used (of 1797)")
    parser.add_argument("--image-size", type=int, default=PreprocessSpec().image_size)
    parser.add_argument("--frames", type=int, default=60, help="camera frames timed per backend")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "web_bundle.json"))
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from studio.core.predict import predict_files, run_labels
    from studio.core.training import train

    archs = args.arch or list(ARCHITECTURES)
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
                for quantization in QUANTIZATIONS:
                    result = export_bundle(project, run.id, tmp / f"{arch}-{quantization}",
                                           ExportOptions(quantization=quantization))
                    with PreviewServer(result.out) as server:
                        for backend in BACKENDS:
                            m = measure_page(browser, f"{server.url}?backend={backend}", test_paths, labels,
                                             python_top, args.frames)
                            rows.append({"arch": arch, "quantization": quantization,
                                         "model_bytes": result.model_bytes, "bundle_bytes": result.bytes,
                                         "test_accuracy": run.metrics.get("test_accuracy"),
                                         "n_test": len(test_paths), **m, "requested_backend": backend})
                            print(f"  {quantization:7s} {backend:5s} {rows[-1]['median_ms']:.1f} ms", file=sys.stderr)
                    shutil.rmtree(result.out)
            browser.close()
    print_table(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"\n(JSON: {out})")
    return check_budget(rows)


def print_table(rows: list[dict[str, Any]]) -> None:
    headers = ["arch", "quant", "model kB", "bundle kB", "backend", "load+warm ms", "median ms/inf", "fps",
               "top-1 agree"]
    cells = [[r["arch"], r["quantization"], f"{r['model_bytes'] / 1e3:.1f}", f"{r['bundle_bytes'] / 1e3:.0f}",
              r["backend"], f"{r['load_ms']:.0f}", f"{r['median_ms']:.2f}", f"{r['fps']:.1f}",
              f"{r['agreement']:.1%}"] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *cells)]
    for i, line in enumerate([headers, *cells]):
        print("  ".join(str(c).rjust(w) if j > 1 else str(c).ljust(w) for j, (c, w) in enumerate(zip(line, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def check_budget(rows: list[dict[str, Any]]) -> int:
    compact = [r for r in rows if r["arch"] == "compact" and r["quantization"] == "uint8"]
    if not compact:
        return 0
    r = compact[0]
    ok = r["model_bytes"] < MODEL_BUDGET and r["bundle_bytes"] < BUNDLE_BUDGET
    print(f"acceptance: compact+uint8 model {r['model_bytes']:,} B (< {MODEL_BUDGET:,}), bundle "
          f"{r['bundle_bytes']:,} B (< {BUNDLE_BUDGET:,}): {'OK' if ok else 'FAILED'}")
    return 0  # a benchmark reports; `make bench` goes on to the next one either way


if __name__ == "__main__":
    sys.exit(main())
