"""Pretrained training time for a 1,000-image project, first feature pass included (goal: < 60 s on 2 cores).

A fresh project of 1,000 photo crops (bench/few_shot_data.py, 6 classes, the project's own hash splits), then
one ``pretrained`` run with the command line's defaults (10 epochs, batch 32, the backbone's default size),
then a second run on the same project (features now cached). Prints wall seconds, the feature pass, process CPU
seconds and the load average (the development machine is shared; CPU seconds / 2 is what 2 idle cores need).

    .venv/bin/python bench/pretrained_speed.py [--images 1000] [--size 160]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.few_shot_data import REGIONS, photo_crops  # noqa: E402
from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.store import Project  # noqa: E402
from studio.core.specs import PreprocessSpec, TrainConfig  # noqa: E402


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    from studio.core.training.backbone import DEFAULT_IMAGE_SIZE

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--size", type=int, default=DEFAULT_IMAGE_SIZE)
    args = ap.parse_args(argv)
    per_class = -(-args.images // len(REGIONS))
    with tempfile.TemporaryDirectory(prefix="pretrained-speed-") as tmp:
        pool = photo_crops(Path(tmp) / "pool", per_class, 0)
        project = Project.create(Path(tmp) / "project")
        for name, paths in pool["train"].items():
            import_paths(project, paths, label=name)
        n = len(project.images())
        t0 = time.monotonic()
        import tensorflow  # noqa: F401  (a run's process has it loaded before training; not counted)
        print(f"import tensorflow: {time.monotonic() - t0:.1f} s", file=sys.stderr)
        from studio.core.training.run import train

        for attempt in ("first (features computed)", "second (features cached)"):
            cpu0, t0 = cpu_seconds(), time.monotonic()
            run = train(project, TrainConfig(arch="pretrained", preprocess=PreprocessSpec(args.size, "rgb")))
            wall, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
            timings = json.loads((project.run_dir(run.id) / "timings.json").read_text())
            print(f"{n} images, {args.size} px, {attempt}: {run.status}, {wall:.1f} s wall "
                  f"(features {timings.get('feature_seconds', 0):.1f} s), {cpu:.1f} CPU s, test accuracy "
                  f"{run.metrics.get('test_accuracy', float('nan')):.3f}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
