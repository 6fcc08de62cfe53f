"""The pretrained architecture's input size: test accuracy vs milliseconds per inference in the browser.

One photo-crop project (bench/few_shot_data.py, ``--per-class`` labelled images per class, 50 unseen test
images per class); for each size a pretrained run (studio ``train()``), its float16 web bundle, and the median
ms per inference over the test images picked in headless Chromium (webgl, then the cpu backend), with the
run's seconds and the process CPU seconds.

    .venv/bin/python bench/pretrained_size.py [--sizes 96 128 160 224] [--per-class 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.few_shot import make_project  # noqa: E402
from bench.few_shot_data import photo_crops  # noqa: E402
from studio.commands.output import table  # noqa: E402
from studio.core.specs import ExportOptions, PreprocessSpec, TrainConfig  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def browser_ms(browser, url: str, paths: list[Path]) -> float:
    page = browser.new_page()
    try:
        page.goto(url)
        deadline = time.monotonic() + 300
        while not page.evaluate("window.edgeStudio && (window.edgeStudio.ready || window.edgeStudio.error)"):
            if time.monotonic() > deadline:
                raise TimeoutError("model did not load")
            time.sleep(0.05)
        ms = []
        for p in paths:
            before = page.evaluate("window.edgeStudio.predictions")
            page.set_input_files("#file", str(p))
            while page.evaluate(f"window.edgeStudio.predictions <= {before}"):
                time.sleep(0.01)
            ms.append(page.evaluate("window.edgeStudio.lastPrediction.ms"))
        return statistics.median(ms[1:])  # the first one compiles
    finally:
        page.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[96, 128, 160, 224])
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--browser-images", type=int, default=12)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from studio.core.export.exporter import export_bundle
    from studio.core.export.serve import PreviewServer
    from studio.core.training.run import train

    rows, results = [], []
    with tempfile.TemporaryDirectory(prefix="pretrained-size-") as tmp, sync_playwright() as pw:
        # Crops stored at 224 px, so that no input size is favoured by the files' own resolution.
        pool = photo_crops(Path(tmp) / "pool", args.per_class, 50, ext=".png", out_size=224)
        project = make_project(Path(tmp) / "project", pool, args.per_class)
        test_paths = [p for paths in pool["test"].values() for p in paths][:: max(1, 300 // args.browser_images)]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for size in args.sizes:
            cpu0, t0 = cpu_seconds(), time.monotonic()
            run = train(project, TrainConfig(arch="pretrained", preprocess=PreprocessSpec(size, "rgb"), epochs=30,
                                             early_stopping_patience=8, batch_size=16))
            seconds, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
            if run.status != "finished":
                raise RuntimeError(run.error)
            bundle = export_bundle(project, run.id, Path(tmp) / f"bundle-{size}", ExportOptions(quantization="float16"))
            timing = {}
            for backend in ("webgl", "cpu"):
                with PreviewServer(bundle.out) as server:
                    timing[backend] = browser_ms(browser, f"{server.url}?backend={backend}", test_paths)
            r = {"size": size, "accuracy": run.metrics["test_accuracy"], "train_seconds": seconds, "cpu_seconds": cpu,
                 "bundle_bytes": bundle.bytes, "ms_webgl": timing["webgl"], "ms_cpu": timing["cpu"]}
            results.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
            rows.append([size, f"{r['accuracy']:.3f}", f"{r['ms_webgl']:.1f}", f"{r['ms_cpu']:.1f}",
                         f"{bundle.bytes / 1e6:.2f}", f"{seconds:.0f}", f"{cpu:.0f}"])
        browser.close()
    table(["size", "test accuracy", "ms webgl", "ms cpu", "bundle MB (float16)", "train s", "CPU s"], rows)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
