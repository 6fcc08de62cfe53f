"""Import throughput: 5,000 generated 64x64 PNGs into a fresh project, and zips of growing size.

Prints images/s of the studio importer (validate + decode + hash + content-addressed copy + SQLite rows)
beside a plain baseline (sequential read + cv2.imdecode + sha256, storing nothing), with the core count.
Goal (issue 2): >= 300 images/s on a 2-core machine.

The zip rows import zips of 5,000 and 20,000 small PNG members: linear time means the same images/s for
both (issue 12: each member used to re-read the whole central directory, 20,000 did not finish in 4 min).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.store import Project  # noqa: E402


def generate(folder: Path, n: int, size: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        cls = folder / f"class_{i % 5}"
        cls.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(cls / f"img_{i:05d}.png"), img)


def baseline(folder: Path) -> float:
    files = sorted(folder.rglob("*.png"))
    t = time.perf_counter()
    for f in files:
        data = f.read_bytes()
        hashlib.sha256(data).hexdigest()
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return len(files) / (time.perf_counter() - t)


def zip_rate(tmp: Path, members: int, size: int = 16) -> float:
    """images/s importing one zip of ``members`` distinct PNGs in 10 class folders."""
    rng = np.random.default_rng(members)
    z = tmp / f"members-{members}.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        for i in range(members):
            ok, buf = cv2.imencode(".png", rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
            zf.writestr(f"set/class_{i % 10}/img_{i:05d}.png", buf.tobytes())
    project = Project.create(tmp / f"zip-project-{members}")
    t = time.perf_counter()
    report = import_paths(project, [z])
    rate = len(report.added) / (time.perf_counter() - t)
    assert len(report.added) == members, report.rejected[:3]
    project.close()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--zip-members", type=int, nargs="*", default=[5000, 20000])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        generate(src, args.images, args.size)
        base = baseline(src)
        project = Project.create(Path(tmp) / "project")
        t = time.perf_counter()
        report = import_paths(project, [src])
        ours = len(report.added) / (time.perf_counter() - t)
        assert len(report.added) == args.images, report.rejected[:3]
        project.close()
        zips = {n: zip_rate(Path(tmp), n) for n in args.zip_members}
    print(f"import_speed: {args.images} PNGs of {args.size}x{args.size}, {os.cpu_count()} cores")
    print(f"{'':34}{'images/s':>10}{'ratio':>8}")
    print(f"{'plain read+decode+hash (1 thread)':34}{base:10.0f}{1.0:8.2f}")
    print(f"{'studio import (stored + indexed)':34}{ours:10.0f}{ours / base:8.2f}")
    print(f"goal >= 300 images/s: {'met' if ours >= 300 else 'NOT met'}")
    first = next(iter(zips.values()), None)
    for n, rate in zips.items():
        label = f"zip of {n:,} 16x16 PNGs"
        print(f"{label:34}{rate:10.0f}{rate / first:8.2f}  (ratio to the smallest zip: 1.0 = linear)")


if __name__ == "__main__":
    main()
