"""Which augmentation should "with augmentation" use when the user chose nothing? Measured, not guessed.

Trains the same small CNN on two offline data sets with each augmentation preset and prints test accuracy
and macro F1 side by side (the mean over seeds):

- digits: the demo project (scikit-learn's handwritten digits, 64 px ink on paper), 32 px gray;
- photos: crops of real photographs (the two that scikit-learn ships), six kinds of surface (sky, roof, trees,
  petals, flower centre, leaves), cropped at random places and scales, 32 px colour.

Without augmentation a run gets ``--epochs`` epochs; with augmentation twice that, and early stopping (the
same rule the studio uses) ends it. Usage::

    python bench/augment_default.py [--epochs 15] [--seeds 2] [--digits 900] [--per-class 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.demo import create_demo_project  # noqa: E402
from studio.core.project.store import Project  # noqa: E402
from studio.core.specs import AUGMENT_PRESETS, PreprocessSpec, TrainConfig  # noqa: E402
from studio.core.training.architectures import get as architecture  # noqa: E402

# (photo, x0, y0, x1, y1) regions of scikit-learn's sample photos (china.jpg and flower.jpg are 427x640).
PHOTO_REGIONS = {
    "sky": ("china.jpg", 0, 0, 640, 70),
    "roof": ("china.jpg", 150, 110, 470, 190),
    "trees": ("china.jpg", 0, 250, 140, 427),
    "petals": ("flower.jpg", 180, 120, 420, 230),
    "centre": ("flower.jpg", 250, 210, 350, 300),
    "leaves": ("flower.jpg", 480, 0, 640, 200),
}


def augmented(epochs: int) -> int:
    """The budget an augmented run gets (the architectures' one rule)."""
    return architecture("cnn").epoch_budget(True) * epochs // architecture("cnn").epochs


def photo_set(folder: Path, per_class: int, seed: int = 0) -> Path:
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(seed)
    for name, (photo, x0, y0, x1, y1) in PHOTO_REGIONS.items():
        image = cv2.cvtColor(load_sample_image(photo), cv2.COLOR_RGB2BGR)
        region = image[y0:y1, x0:x1]
        out = folder / name
        out.mkdir(parents=True, exist_ok=True)
        h, w = region.shape[:2]
        for i in range(per_class):
            side = int(rng.integers(24, max(25, min(h, w, 90))))
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = cv2.resize(region[y:y + side, x:x + side], (48, 48), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(out / f"{name}_{i:03d}.png"), crop)
    return folder


def make_projects(root: Path, digits: int, per_class: int) -> dict[str, tuple[Project, PreprocessSpec]]:
    demo, _ = create_demo_project(root / "digits", limit=digits)
    photos = Project.create(root / "photos")
    import_paths(photos, [str(photo_set(root / "photo-files", per_class))])
    return {"digits": (demo, PreprocessSpec(32, "gray")), "photos": (photos, PreprocessSpec(32, "rgb"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--digits", type=int, default=900)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--presets", default=",".join(AUGMENT_PRESETS))
    args = parser.parse_args()
    from studio.core.training.run import train

    presets = [p.strip() for p in args.presets.split(",")]
    with tempfile.TemporaryDirectory(prefix="augment-bench-") as tmp:
        projects = make_projects(Path(tmp), args.digits, args.per_class)
        rows = []
        for data, (project, pre) in projects.items():
            n_test = sum(v.get("test", 0) for k, v in project.counts().items() if k is not None)
            for preset in presets:
                spec = AUGMENT_PRESETS[preset]
                acc, f1, epochs, seconds = [], [], [], []
                for seed in range(args.seeds):
                    on = spec.enabled
                    config = TrainConfig(arch=args.arch, preprocess=pre, augment=spec, use_augment=on,
                                         epochs=augmented(args.epochs) if on else args.epochs,
                                         early_stopping_patience=5, seed=seed)
                    started = time.monotonic()
                    run = train(project, config)
                    seconds.append(time.monotonic() - started)
                    acc.append(run.metrics.get("test_accuracy", float("nan")))
                    f1.append(run.metrics.get("macro_f1", float("nan")))
                    epochs.append(run.metrics.get("epochs_run", 0))
                rows.append((data, n_test, preset, np.mean(acc), np.min(acc), np.max(acc), np.mean(f1),
                             np.mean(epochs), np.mean(seconds)))
                print(f"  {data} {preset}: acc {np.mean(acc):.3f} f1 {np.mean(f1):.3f}", file=sys.stderr, flush=True)
        for project, _ in projects.values():
            project.close()
    print(f"\narch {args.arch}, {args.seeds} seeds, base {args.epochs} epochs (augmented: "
          f"{augmented(args.epochs)}), early stopping patience 5")
    print(f"{'data':8} {'test n':>6}  {'preset':22} {'test acc':>8} {'min':>6} {'max':>6} {'macro F1':>8} "
          f"{'epochs':>6} {'s/run':>6}")
    for data, n, preset, acc, lo, hi, f1, ep, s in rows:
        print(f"{data:8} {n:>6}  {preset:22} {acc:8.3f} {lo:6.3f} {hi:6.3f} {f1:8.3f} {ep:6.1f} {s:6.1f}")


if __name__ == "__main__":
    main()
