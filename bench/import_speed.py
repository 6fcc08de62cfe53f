"""Import throughput: 5,000 generated 64x64 PNGs and a few 12-megapixel JPEG photos into a fresh project,
and zips of growing size.

Prints images/s of the studio importer (validate + decode + hash + content-addressed copy + SQLite rows)
beside a plain baseline (sequential read + cv2.imdecode + sha256, storing nothing), with the core count and
the load average. Each set is measured ``--repeat`` times, baseline and import back to back, and the median
ratio is printed, so a machine shared with other work still gives a fair ratio; "cpu ratio" compares the
process CPU time per image (all threads), which load disturbs less than wall time.
Goals: >= 300 images/s (issue 2); import >= 0.5x of the plain baseline on the 64x64 PNGs (issue 28).

The zip rows import zips of 5,000 and 20,000 small PNG members: linear time means the same images/s for
both (issue 12: each member used to re-read the whole central directory, 20,000 did not finish in 4 min).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
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


def generate_photos(folder: Path, n: int, width: int = 4000, height: int = 3000) -> None:
    """Photo-like 12 MP JPEGs (smooth shapes plus sensor-like noise, quality 90: a few MB each)."""
    rng = np.random.default_rng(1)
    for i in range(n):
        cls = folder / f"class_{i % 2}"
        cls.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.integers(0, 12, img.shape, dtype=np.uint8))
        cv2.imwrite(str(cls / f"photo_{i:03d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def baseline(folder: Path, copy_to: Path | None = None) -> tuple[float, float]:
    """(images/s, CPU seconds per image) of a plain sequential read + decode + hash; with ``copy_to``, also
    write each file's bytes to a new file named by its hash in 256 sub-folders: the least any importer that
    keeps its own copies must do, which shows what the file system's file creation costs on this machine."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if copy_to is not None:
        for i in range(256):
            (copy_to / f"{i:02x}").mkdir(parents=True, exist_ok=True)
    t, c = time.perf_counter(), time.process_time()
    for f in files:
        data = f.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if copy_to is not None:
            fd = os.open(copy_to / sha[:2] / sha, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
    return len(files) / (time.perf_counter() - t), (time.process_time() - c) / len(files)


def studio_import(folder: Path, project_dir: Path, expected: int, processes: bool | None = None
                  ) -> tuple[float, float]:
    """(images/s, CPU seconds per image) of the studio importer into a fresh project. ``processes=None``: as
    the command line (and so the GUI's import child) runs it, worker processes for a large import; False: the
    thread pool that in-process callers (the camera) get. CPU time counts this process only."""
    project = Project.create(project_dir)
    t, c = time.perf_counter(), time.process_time()
    report = import_paths(project, [folder], processes=processes)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert len(report.added) == expected, report.rejected[:3]
    project.close()
    return len(report.added) / wall, cpu / len(report.added)


def compare(folder: Path, tmp: Path, expected: int, repeat: int, tag: str, processes: bool | None = None
            ) -> tuple[float, ...]:
    """Baseline, baseline with copies and import back to back ``repeat`` times: medians of (baseline/s,
    baseline with copies/s, ours/s, ratio to baseline, CPU ratio to baseline, ratio to baseline with copies)."""
    runs = []
    for r in range(repeat):
        b_rate, b_cpu = baseline(folder)
        c_rate, _c_cpu = baseline(folder, tmp / f"copies-{tag}-{r}")
        o_rate, o_cpu = studio_import(folder, tmp / f"project-{tag}-{r}", expected, processes)
        runs.append((b_rate, c_rate, o_rate, o_rate / b_rate, b_cpu / o_cpu, o_rate / c_rate))
    return tuple(statistics.median(col) for col in zip(*runs, strict=True))


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
    ap.add_argument("--photos", type=int, default=24, help="12 MP JPEGs (0: skip that row)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--zip-members", type=int, nargs="*", default=[5000, 20000])
    ap.add_argument("--dir", default=str(Path.home()),
                    help="where the images and projects are written (default: the home folder, where the studio "
                         "offers to put projects); e.g. /dev/shm (memory) to see the importer's cost without the "
                         "disk's file creation")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        src = Path(tmp) / "src"
        generate(src, args.images, args.size)
        rows.append((f"{args.images:,} PNGs of {args.size}x{args.size}",
                     *compare(src, Path(tmp), args.images, args.repeat, "png")))
        rows.append(("  the same, threads only", *compare(src, Path(tmp), args.images, args.repeat, "png-threads",
                                                           processes=False)))
        if args.photos:
            photos = Path(tmp) / "photos"
            generate_photos(photos, args.photos)
            rows.append((f"{args.photos} JPEG photos of 12 MP", *compare(photos, Path(tmp), args.photos,
                                                                       args.repeat, "jpg")))
        zips = {n: zip_rate(Path(tmp), n) for n in args.zip_members}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"import_speed: {os.cpu_count()} cores, load average {load:.1f}, median of {args.repeat} back-to-back runs, "
          f"written under {args.dir}")
    print(f"{'':28}{'plain/s':>9}{'+copy/s':>9}{'studio/s':>10}{'ratio':>7}{'cpu ratio':>11}{'to +copy':>10}")
    for name, base, copy, ours, ratio, cpu_ratio, to_copy in rows:
        print(f"{name:28}{base:9.0f}{copy:9.0f}{ours:10.1f}{ratio:7.2f}{cpu_ratio:11.2f}{to_copy:10.2f}")
    print("plain = read + decode + hash, 1 thread, storing nothing; +copy = the same plus writing each file once")
    _, png_plain, png_copy, ours_png, ratio_png, *_ = rows[0]
    if png_copy < 0.3 * png_plain:
        # Seen on the 2-core build machine (ext4 without a journal): for minutes after a process deleted many files
        # (the suite's temporary folders, an earlier bench's), every new file or folder nearby costs 300-700 us of
        # kernel CPU instead of ~25 us; writes to existing files and hard links stay fast. Then the ratio measures
        # the disk, not the importer: 'to +copy' still compares the importer with the least an importer must do.
        print(f"NOTE: creating files under {args.dir} is slow now ({1e6 * (1 / png_copy - 1 / png_plain):.0f} us per "
              "file on top of plain): every importer that keeps copies pays it; compare 'to +copy', or use --dir")
    print("studio = as `edge-studio import` and the GUI's import child run it (worker processes for a large import of "
          "files); threads only = what in-process callers get; cpu ratio counts the importing process only")
    print(f"goal >= 300 images/s: {'met' if ours_png >= 300 else 'NOT met'}; "
          f"goal ratio >= 0.5 on the PNGs: {'met' if ratio_png >= 0.5 else 'NOT met'}")
    first = next(iter(zips.values()), None)
    for n, rate in zips.items():
        label = f"zip of {n:,} 16x16 PNGs"
        print(f"{label:34}{rate:10.0f}{rate / first:8.2f}  (ratio to the smallest zip: 1.0 = linear)")


if __name__ == "__main__":
    main()
