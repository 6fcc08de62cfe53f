"""Data health at scale: a burst of near-identical images (video frames of one scene, single-colour frames).

Builds projects of N near-identical images (one textured picture with a little noise per copy, so every file
has distinct bytes; or one flat colour at N slightly different sizes), runs ``edge-studio health --json`` on
each in a child process (features computed too; with ``--cached`` read from the cache) and prints side by
side: seconds, the child's peak memory (``VmHWM``), the groups of copies found, the pairs listed, and the
size of ``health.json``.

    PYTHONPATH=. .venv/bin/python bench/health_scale.py [--sizes 1000,10000] [--work DIR]

Before issue 29 (pairs listed one by one): 3,000 single-colour copies listed 1,124,250 pairs at 2.8 GB;
10,000 ended in MemoryError at 9.46 GB after 143 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.store import Project  # noqa: E402


def textured_frames(folder: Path, n: int, side: int = 48) -> None:
    """One random picture, each copy with faint noise (distinct bytes, the same scene)."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (side, side, 3), dtype=np.uint8), (5, 5), 0).astype(np.int16)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        frame = np.clip(base + rng.integers(-2, 3, base.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"f{i:05d}.png"), frame)


def flat_frames(folder: Path, n: int) -> None:
    """One flat grey at many sizes (distinct bytes, the same picture)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"f{i:05d}.png"), np.full((16 + i % 100, 16 + i // 100, 3), 128, np.uint8))


def peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_health(project: Path, fresh: bool) -> tuple[int, float, float, dict]:
    """``fresh``: the features computed again too; else only the report (features from the cache)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    (project / "health.json").unlink(missing_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "studio", "health", str(project), "--json",
                                 *(["--fresh"] if fresh else [])],
                                stdout=out, stderr=subprocess.DEVNULL, env=env)
        top = 0
        while True:
            top = max(top, peak_kb(proc.pid))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        out.seek(0)
        text = out.read().decode()
    report = json.loads(text.strip().splitlines()[-1]) if text.strip() else {}
    return os.waitstatus_to_exitcode(status), time.monotonic() - started, top / 1024, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--kinds", default="textured,flat")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--cached", action="store_true", help="reuse cached features (the analysis alone)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="health-scale-"))
    rows = []
    for kind in args.kinds.split(","):
        for n in map(int, args.sizes.split(",")):
            root = work / f"{kind}-{n}"
            if not (root / "p" / "project.db").is_file():
                (textured_frames if kind == "textured" else flat_frames)(root / "in", n)
                with Project.create(root / "p") as project:
                    import_paths(project, [root / "in"])
            rc, seconds, peak_mb, report = run_health(root / "p", fresh=not args.cached)
            notes = report.get("notes", {})
            size = (root / "p" / "health.json").stat().st_size if (root / "p" / "health.json").exists() else 0
            rows.append((kind, n, rc, seconds, peak_mb, notes.get("duplicate_groups"), notes.get("duplicate_copies"),
                         len(report.get("duplicates", [])), size / 1024))
            print(rows[-1], flush=True)
    print(f"\n{'images':>18} {'rc':>3} {'seconds':>8} {'peak MB':>8} {'groups':>7} {'copies':>7} {'pairs listed':>12}"
          f" {'health.json KB':>14}")
    for kind, n, rc, seconds, peak, groups, copies, listed, kb in rows:
        print(f"{kind + ' ' + format(n, ','):>18} {rc:>3} {seconds:>8.1f} {peak:>8.0f} {groups!s:>7} {copies!s:>7} "
              f"{listed:>12} {kb:>14.0f}")


if __name__ == "__main__":
    main()
