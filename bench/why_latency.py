""""Why?" latency: how long the studio takes to show a heatmap, per architecture, side by side.

    .venv/bin/python bench/why_latency.py [--per-class 40] [--images 20] [--archs cnn,compact,dense,pretrained]

For each architecture a run is trained on the mark images (tests/core/why_data.py), then the GUI's own job
function (:func:`studio.gui.jobs.why_job.compute`, what the worker thread runs) explains test images one after
another: the first call loads the model (cold), the rest are what following a selection costs (warm: decode,
preprocess, the heat, stretched to the image). Also the UI thread's share: painting the overlay into a
300x225 label. Goal: warm well under 100 ms, so the heatmap keeps up with arrow keys.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIZES = {"cnn": 32, "compact": 32, "dense": 32, "pretrained": 128}
EPOCHS = {"cnn": 8, "compact": 8, "dense": 8, "pretrained": 100}


def measure(arch: str, root: Path, per_class: int, n_images: int) -> dict[str, float]:
    from studio.core.images.importer import import_paths
    from studio.core.project.store import Project
    from studio.core.specs import PreprocessSpec, TrainConfig
    from studio.core.training.run import train
    from studio.gui.jobs.why_job import WhyRequest, compute
    from tests.core.why_data import write_mark_images

    write_mark_images(root / "images", per_class, seed=2)
    with Project.create(root / "project") as project:
        import_paths(project, [root / "images"])
        run = train(project, TrainConfig(arch=arch, preprocess=PreprocessSpec(image_size=SIZES[arch], color="rgb"),
                                         epochs=EPOCHS[arch], batch_size=32, seed=0))
        paths = [project.image_path(r) for r in project.images(split="test")][:n_images]
    times, method = [], ""
    for i, path in enumerate(paths):
        started = time.monotonic()
        result = compute(WhyRequest(root / "project", run.id, path))
        times.append(time.monotonic() - started)
        method = result.method
        if i == 0:
            cold, load = times[0], result.model_seconds
    paint = paint_ms(result)
    warm = times[1:]
    return {"method": method, "cold_s": cold, "load_s": load, "warm_median_ms": 1000 * statistics.median(warm),
            "warm_max_ms": 1000 * max(warm), "paint_ms": paint}


def paint_ms(result: object) -> float:
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QApplication

    from studio.gui.parts.why_panel import WhyPanel

    _app = QApplication.instance() or QApplication([])
    panel = WhyPanel()
    panel._wanted = result.request  # type: ignore[attr-defined]
    started = time.monotonic()
    panel._on_ready(result)
    for _ in range(9):
        panel.composed(QSize(300, 225))
    return 1000 * (time.monotonic() - started) / 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--archs", default="cnn,compact,dense,pretrained")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="why-bench-") as tmp:
        for arch in args.archs.split(","):
            rows.append((arch, measure(arch, Path(tmp) / arch, args.per_class, args.images)))
    print(f"\n{'arch':<11} {'method':<9} {'first (s)':>9} {'model load (s)':>14} {'warm median (ms)':>16} "
          f"{'warm max (ms)':>13} {'paint (ms)':>10}")
    for arch, r in rows:
        print(f"{arch:<11} {r['method']:<9} {r['cold_s']:>9.2f} {r['load_s']:>14.2f} {r['warm_median_ms']:>16.1f} "
              f"{r['warm_max_ms']:>13.1f} {r['paint_ms']:>10.1f}")


if __name__ == "__main__":
    main()
