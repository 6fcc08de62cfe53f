"""Images whose class is decided only by a small coloured mark at a random place on a photo-like background.

Used by the heatmap tests (pointing game) and bench/why_latency.py. The background is smooth colour fields at
three scales plus fine grain and a few soft blobs, in muted colours; the mark is a small disc of a saturated
colour (one per class) at a random place. Nothing else tells the classes apart, so a model that answers right
must have looked at the mark. Each image's mark box (x0, y0, x1, y1) in its own pixels is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MARK_COLOURS = {"red": (225, 30, 30), "blue": (30, 60, 230), "yellow": (240, 220, 20)}
WIDTH, HEIGHT = 96, 72  # not square: the heatmap must come back at the image's own aspect
MARK_FRACTION = 0.2     # the mark's diameter as a share of the shorter side


@dataclass(frozen=True)
class MarkImage:
    path: Path
    label: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), image pixels


def background(rng: np.random.Generator, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    img = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((2, 70.0), (5, 35.0), (12, 15.0)):
        field = rng.normal(0, 1, (cells, cells + 1, 3)).astype(np.float32)
        img += weight * cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC)
    base = rng.uniform(80, 170, 3).astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)
    img = base + 0.35 * img + 0.65 * grey  # muted: mostly brightness, little colour
    for _ in range(rng.integers(2, 5)):  # soft blobs, like out-of-focus things
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.1, 0.3) * height
        yy, xx = np.mgrid[0:height, 0:width]
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
        img += blob * rng.uniform(-40, 40)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255)


def mark_image(rng: np.random.Generator, colour: tuple[int, int, int], width: int = WIDTH,
               height: int = HEIGHT) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    img = background(rng, width, height)
    d = max(3, int(round(MARK_FRACTION * min(width, height))))
    x0 = int(rng.integers(0, width - d + 1))
    y0 = int(rng.integers(0, height - d + 1))
    yy, xx = np.mgrid[0:d, 0:d]
    disc = (((xx - (d - 1) / 2) ** 2 + (yy - (d - 1) / 2) ** 2) <= (d / 2) ** 2)[..., None]
    patch = img[y0:y0 + d, x0:x0 + d]
    shade = rng.uniform(0.85, 1.1)
    img[y0:y0 + d, x0:x0 + d] = np.where(disc, np.clip(np.array(colour) * shade, 0, 255), patch)
    return img.round().astype(np.uint8), (x0, y0, x0 + d, y0 + d)


def write_mark_images(root: Path, per_class: int, seed: int = 0) -> list[MarkImage]:
    """``root/<class>/mark_<i>.png`` for every class of :data:`MARK_COLOURS`."""
    rng = np.random.default_rng(seed)
    out = []
    for label, colour in MARK_COLOURS.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img, box = mark_image(rng, colour)
            path = root / label / f"mark_{i:04d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            out.append(MarkImage(path, label, box))
    return out


def grown(box: tuple[int, int, int, int], factor: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The box grown about its centre to ``factor`` x its size, clipped to the image."""
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * factor / 2, (y1 - y0) * factor / 2
    return (max(0, int(np.floor(cx - hw))), max(0, int(np.floor(cy - hh))),
            min(width, int(np.ceil(cx + hw))), min(height, int(np.ceil(cy + hh))))


def pointing(heat: np.ndarray, box: tuple[int, int, int, int], width: int = WIDTH,
             height: int = HEIGHT) -> tuple[bool, float]:
    """(the heat's maximum is inside the box grown to twice its size, the share of heat inside that box) for a
    heatmap at the model's input size (stretched to the image first, as the studio shows it)."""
    at_image = np.clip(cv2.resize(np.asarray(heat, np.float32), (width, height), interpolation=cv2.INTER_LINEAR),
                       0, None)
    x0, y0, x1, y1 = grown(box, 2.0, width, height)
    y, x = np.unravel_index(int(np.argmax(at_image)), at_image.shape)
    total = float(at_image.sum())
    share = float(at_image[y0:y1, x0:x1].sum()) / total if total > 0 else 0.0
    return bool(x0 <= x < x1 and y0 <= y < y1), share
