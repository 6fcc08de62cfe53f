"""Data health benchmark: how well likely mislabels are found, whether altered copies across splits are all
reported, and how long a check takes with the features cached.

Two offline data sets: the demo's handwritten digits (1,797 images, 10 classes) and crops of the two photos
scikit-learn ships (bench/few_shot_data.py, 8 kinds of scene region, 2,000 images). For each, 2 / 5 / 10 % of the
labels are flipped on purpose and the mislabel list is scored: precision and recall of the whole list, and
recall within its first 2 x (number flipped) entries (what a user reviews). Then 20 re-encoded / resized /
cropped copies are put into other splits: leaks found, and other pairs reported.

    PYTHONPATH=. .venv/bin/python bench/health.py [--per-class N] [--work DIR]

With ``--work DIR`` the two projects (and their cached features) are kept there and reused by the next run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.few_shot_data import photo_crops  # noqa: E402
from bench.health_faults import add_leaked_copies, flip_labels  # noqa: E402
from studio.core.health.check import check_project  # noqa: E402
from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.demo import create_demo_project  # noqa: E402
from studio.core.project.store import Project  # noqa: E402

FRACTIONS = (0.02, 0.05, 0.10)


def digits_project(root: Path) -> Project:
    if (root / Project.DB_NAME).is_file():
        return Project.open(root)
    project, _ = create_demo_project(root)
    return project


def photos_project(root: Path, per_class: int) -> Project:
    if (root / Project.DB_NAME).is_file():
        return Project.open(root)
    with tempfile.TemporaryDirectory(prefix="photos-") as tmp:
        photo_crops(Path(tmp), n_train=per_class // 2, n_test=per_class - per_class // 2, seed=0)
        project = Project.create(root)
        for part in ("train", "test"):
            for folder in sorted((Path(tmp) / part).iterdir()):
                import_paths(project, [str(folder)], label=folder.name)
    return project


def score(project: Project, fraction: float, seed: int) -> dict:
    truth = flip_labels(project, fraction, seed=seed)
    try:
        start = time.perf_counter()
        report = check_project(project, use_cache=False)
        seconds = time.perf_counter() - start
    finally:  # put the true labels back for the next fraction
        index = {c.name: c.id for c in project.classes()}
        project.restore_labels({i: index[label] for i, label in truth.items()})
    ranked = [m.id for m in report.mislabels]
    hits = set(ranked) & set(truth)
    first = set(ranked[: 2 * len(truth)]) & set(truth)
    right = sum(m.suggested == truth[m.id] for m in report.mislabels if m.id in truth)
    return {"flipped": len(truth), "listed": len(ranked), "precision": len(hits) / max(1, len(ranked)),
            "recall": len(hits) / len(truth), "recall_2x": len(first) / len(truth),
            "suggested_right": right / max(1, len(hits)), "seconds": seconds, "images": report.images}


def leaks(source: Project) -> tuple[int, int]:
    with tempfile.TemporaryDirectory(prefix="leaks-") as tmp:  # on a copy: a reused project stays clean
        shutil.copytree(source.root, Path(tmp) / "p")
        with Project.open(Path(tmp) / "p") as project:
            planted = add_leaked_copies(project, 20, seed=11)
            report = check_project(project, use_cache=False)
    pairs = {frozenset(p) for p in planted}
    found = {frozenset((d.a, d.b)) for d in report.leaks}
    other = [d for d in report.duplicates if frozenset((d.a, d.b)) not in pairs]
    return len(found & pairs), len(other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=250, help="photo crops per kind (8 kinds)")
    parser.add_argument("--work", type=Path, help="keep the projects (and their features) here for the next run")
    args = parser.parse_args()
    rows, timing = [], []
    with tempfile.TemporaryDirectory(prefix="health-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, make in (("digits", digits_project), ("photos", lambda r: photos_project(r, args.per_class))):
            project = make(work / name)
            start = time.perf_counter()
            first = check_project(project, use_cache=False)  # computes and caches the features
            timing.append((name, first.images, time.perf_counter() - start))
            start = time.perf_counter()
            cached = check_project(project, use_cache=False)  # features cached now: the check alone
            timing.append((name + " (features cached)", cached.images, time.perf_counter() - start))
            for k, fraction in enumerate(FRACTIONS):
                rows.append((name, fraction, score(project, fraction, seed=100 + k)))
            found, other = leaks(project)
            rows.append((name, "leaks", {"found": found, "other": other}))
            project.close()
    print("\nmislabel detection (features cached; seconds = the whole check)")
    print(f"{'data':8} {'flipped':>8} {'n':>5} {'listed':>7} {'precision':>10} {'recall':>7} {'recall@2x':>10} "
          f"{'sugg. ok':>9} {'seconds':>8}")
    for name, fraction, r in rows:
        if fraction == "leaks":
            continue
        print(f"{name:8} {fraction:>8.0%} {r['flipped']:>5} {r['listed']:>7} {r['precision']:>10.2f} "
              f"{r['recall']:>7.2f} {r['recall_2x']:>10.2f} {r['suggested_right']:>9.2f} {r['seconds']:>8.1f}")
    print("\n20 altered copies (JPEG re-encode / 75 % resize / 7 % crop) put into other splits")
    for name, fraction, r in rows:
        if fraction == "leaks":
            print(f"{name:8} leaks found {r['found']}/20, other pairs reported {r['other']}")
    print("\nwhole check: first (features computed unless --work had them), then with features cached")
    for name, n, seconds in timing:
        print(f"{name:26} {n:>5} images  {seconds:6.1f} s")


if __name__ == "__main__":
    main()
