"""Few-shot accuracy: pretrained vs from-scratch architectures with 10 / 20 / 30 labelled images per class.

For each data set (see bench/few_shot_data.py: crops of real photographs, handwritten digits), each number
of labelled images per class k and each architecture, one fresh project gets k labelled images per class
(80 % train, 20 % validation, as a user's own labels would be split) plus a fixed set of unseen test images;
the studio's own ``train()`` trains it and the run's test accuracy and total seconds (features, training,
evaluation) are printed side by side.

    .venv/bin/python bench/few_shot.py [--datasets photos digits] [--shots 10 20 50] [--arch ...]
        [--pretrained-sizes 160] [--head-views 0 4] [--json bench/out/few_shot.json]

Goal (issue 13): pretrained >= 0.90 at 20-30 images per class on the photo set, and ahead of every
from-scratch architecture at 10 and 20.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.few_shot_data import DATASETS  # noqa: E402
from studio.commands.output import table  # noqa: E402
from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.store import Project  # noqa: E402
from studio.core.specs import AUGMENT_PRESETS, PreprocessSpec, TrainConfig  # noqa: E402

N_TEST = 30          # unseen test images per class
VAL_SHARE = 0.2
SCRATCH_SIZE = 64
SCRATCH = dict(epochs=30, early_stopping_patience=8, use_augment=True, augment=AUGMENT_PRESETS["Light"])
# pretrained: the studio's own defaults for it (100 full-batch epochs of the head, the last kept)


def make_project(root: Path, pool: dict[str, dict[str, list[Path]]], k: int) -> Project:
    project = Project.create(root)
    n_val = max(1, math.ceil(k * VAL_SHARE))
    splits: dict[str, str] = {}
    for name, paths in pool["train"].items():
        for i, p in enumerate(paths[:k]):
            splits[p.name] = "val" if i < n_val else "train"
        import_paths(project, paths[:k], label=name)
    for name, paths in pool["test"].items():
        for p in paths:
            splits[p.name] = "test"
        import_paths(project, paths, label=name)
    # The bench fixes the splits (a user's project assigns them by image hash).
    images = project.images()  # identical crops (a cloudless sky) are imported once
    with project.transaction() as c:
        for im in images:
            c.execute("UPDATE images SET split = ? WHERE id = ?", (splits[im.original_name], im.id))
    return project


def run_one(project: Project, arch: str, size: int, color: str) -> dict[str, float]:
    from studio.core.training.architectures import get as architecture
    from studio.core.training.run import train

    extra = {"epochs": architecture(arch).epochs} if arch == "pretrained" else SCRATCH
    config = TrainConfig(arch=arch, preprocess=PreprocessSpec(size, color), batch_size=16, seed=0,
                         **extra)  # type: ignore[arg-type]
    started = time.monotonic()
    run = train(project, config)
    if run.status != "finished":
        raise RuntimeError(f"{arch}: {run.error}")
    return {"accuracy": float(run.metrics["test_accuracy"]), "seconds": time.monotonic() - started,
            "epochs": int(run.metrics["epochs_run"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--shots", nargs="+", type=int, default=[10, 20, 30])
    ap.add_argument("--arch", nargs="+", default=["pretrained", "compact", "cnn_dropout"])
    ap.add_argument("--pretrained-sizes", nargs="+", type=int, default=None,
                    help="input sizes for pretrained (default: the backbone's default)")
    ap.add_argument("--head-views", nargs="+", type=int, default=None,
                    help="augmented views per training image the pretrained head learns from (default: the studio's)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from studio.core.training import pretrained
    from studio.core.training.backbone import DEFAULT_IMAGE_SIZE

    sizes = args.pretrained_sizes or [DEFAULT_IMAGE_SIZE]
    head_views = args.head_views or [pretrained.HEAD_VIEWS]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="few-shot-") as tmp:
        for dataset in args.datasets:
            pool = DATASETS[dataset](Path(tmp) / dataset / "pool", max(args.shots), N_TEST)
            color = "gray" if dataset == "digits" else "rgb"
            for k in args.shots:
                for arch in args.arch:
                    variants = ([(s, v) for s in sizes for v in head_views] if arch == "pretrained"
                                else [(SCRATCH_SIZE, None)])
                    for size, views in variants:
                        root = Path(tmp) / dataset / f"{arch}-{size}-{views}-{k}"
                        if views is not None:
                            pretrained.HEAD_VIEWS = views  # the bench compares the module's setting
                        with make_project(root, pool, k) as project:
                            r = run_one(project, arch, size, color)
                        row = {"dataset": dataset, "per_class": k, "arch": arch, "size": size, "views": views, **r}
                        results.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
    rows = [[r["dataset"], r["per_class"], f"{r['arch']} {r['size']}px"
             + (f" {r['views']} views" if r["views"] is not None else ""), f"{r['accuracy']:.3f}",
             f"{r['seconds']:.1f}", r["epochs"]] for r in results]
    table(["data set", "per class", "architecture", "test accuracy", "seconds", "epochs"], rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
