"""Faults planted on purpose for the data-health benchmark and tests: flipped labels, altered copies of images."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from studio.core.images.imaging import load_bgr
from studio.core.images.importer import import_paths
from studio.core.project.store import SPLITS, Project


def flip_labels(project: Project, fraction: float, seed: int = 0) -> dict[int, str]:
    """Relabel ``fraction`` of the labelled images with another class; returns id -> true label."""
    rng = np.random.default_rng(seed)
    images = [im for im in project.images() if im.label is not None]
    classes = project.classes()
    chosen = rng.choice(len(images), max(1, round(fraction * len(images))), replace=False)
    truth = {}
    for k in chosen:
        im = images[int(k)]
        others = [c for c in classes if c.name != im.label]
        project.set_labels([im.id], others[int(rng.integers(len(others)))].id)
        truth[im.id] = im.label
    return truth


def altered(pixels: np.ndarray, kind: int) -> tuple[bytes, str]:
    """A copy that differs in bytes: re-encoded as JPEG, resized, or cropped a little (then re-encoded)."""
    h, w = pixels.shape[:2]
    if kind % 3 == 0:
        ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return buf.tobytes(), ".jpg"
    if kind % 3 == 1:
        small = cv2.resize(pixels, (int(w * 0.75), int(h * 0.75)), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".png", small)
        return buf.tobytes(), ".png"
    m = max(1, int(round(0.07 * min(h, w))))
    ok, buf = cv2.imencode(".jpg", pixels[m:h - m, m:w - m], [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes(), ".jpg"


def add_leaked_copies(project: Project, n: int, seed: int = 0) -> list[tuple[int, int]]:
    """Import altered copies of ``n`` labelled images, each into a split other than its original's.
    Returns (original id, copy id) pairs."""
    rng = np.random.default_rng(seed)
    images = [im for im in project.images() if im.label is not None]
    picks = [images[int(k)] for k in rng.choice(len(images), n, replace=False)]
    pairs = []
    with tempfile.TemporaryDirectory(prefix="leaks-") as tmp:
        for k, im in enumerate(picks):
            data, ext = altered(load_bgr(project.image_path(im)), k)
            path = Path(tmp) / f"copy_{k:03d}{ext}"
            path.write_bytes(data)
            report = import_paths(project, [str(path)], label=im.label)
            assert len(report.added) == 1, report.to_json()
            copy_id = report.added[0]
            other = [s for s in SPLITS if s != im.split][k % 2]
            with project.transaction() as c:
                c.execute("UPDATE images SET split = ? WHERE id = ?", (other, copy_id))
            pairs.append((im.id, copy_id))
    return pairs
