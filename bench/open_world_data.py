"""Images that are none of the classes (no download): generated scenes, letters, and photo regions.

``other_images(root, n)``: a mix of what a webcam sees that is no class - flat walls with a gradient, random
shapes on a desk colour, noise, stripes - drawn with OpenCV, 96 px PNG.
``letters(root, n)``: capital letters drawn dark on white the way the demo's digits are (unknown to a digits
model). Photo regions of other kinds come from :func:`bench.few_shot_data.photo_crops` with other classes.
"""

from __future__ import annotations

import string
from pathlib import Path

import cv2
import numpy as np

SIZE = 96
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)


def _scene(rng: np.random.Generator, kind: int) -> np.ndarray:
    base = rng.integers(40, 230, size=3)
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = base
    if kind == 0:    # a wall: smooth gradient
        ramp = np.linspace(-1, 1, SIZE)[None, :, None] * rng.uniform(10, 60)
        img = img + (ramp if rng.random() < 0.5 else ramp.transpose(1, 0, 2))
    elif kind == 1:  # things on a desk: random shapes
        for _ in range(int(rng.integers(2, 7))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            centre = tuple(int(c) for c in rng.integers(0, SIZE, 2))
            if rng.random() < 0.5:
                cv2.circle(img, centre, int(rng.integers(5, 30)), colour, -1)
            else:
                cv2.rectangle(img, centre, tuple(int(c) for c in rng.integers(0, SIZE, 2)), colour, -1)
    elif kind == 2:  # sensor noise in the dark or a bright blur
        img = img + rng.normal(0, rng.uniform(10, 50), img.shape)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 3))
    else:            # fabric / blinds: stripes
        period = rng.uniform(4, 20)
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[:SIZE, :SIZE]
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)[..., None]
        img = img + wave * rng.uniform(20, 80)
    return np.clip(img, 0, 255).astype(np.uint8)


def other_images(root: Path, n: int, seed: int = 1) -> list[Path]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = root / f"other_{i:04d}.png"
        cv2.imwrite(str(path), _scene(rng, i % 4))
        paths.append(path)
    return paths


def letters(root: Path, n: int, seed: int = 2, size: int = 64) -> list[Path]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = np.full((size, size), 255, np.uint8)
        ch = string.ascii_uppercase[i % 26]
        scale = rng.uniform(1.4, 2.0)
        (w, h), _ = cv2.getTextSize(ch, FONTS[i % len(FONTS)], scale, 3)
        org = (int((size - w) / 2 + rng.integers(-4, 5)), int((size + h) / 2 + rng.integers(-4, 5)))
        cv2.putText(img, ch, org, FONTS[i % len(FONTS)], scale, 0, int(rng.integers(3, 7)), cv2.LINE_AA)
        img = cv2.GaussianBlur(img, (0, 0), 1.0)
        path = root / f"letter_{i:04d}_{ch}.png"
        cv2.imwrite(str(path), img)
        paths.append(path)
    return paths
