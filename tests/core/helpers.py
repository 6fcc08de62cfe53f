"""Image files generated for tests (no downloads)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, seed: int, size: int = 32, ext: str = ".png") -> Path:
    """A distinct random image (by seed) written with OpenCV."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    path = path.with_suffix(ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def make_class_folder(root: Path, classes: dict[str, int], size: int = 32, ext: str = ".png") -> list[Path]:
    """root/<class>/img_<i>.png with distinct content; returns the paths."""
    paths, seed = [], 0
    for name, n in classes.items():
        for i in range(n):
            paths.append(write_image(root / name / f"img_{i:04d}", seed=1000 + seed, size=size, ext=ext))
            seed += 1
    return paths
