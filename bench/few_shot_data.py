"""Offline few-shot data sets (no download): crops of real photographs, and real handwritten digits.

``photo_crops``: eight kinds of scene regions cut from the two photographs scikit-learn ships
(``load_sample_images()``: china.jpg, flower.jpg) - pagoda roof, pagoda body, sky, lake, the bushes bottom left,
the trees on the right (china), dahlia, leaves (flower). Crops are squares of random size (25-95 % of the
region's short side) at random places, randomly mirrored, with a random brightness (x0.7-1.3) and colour
balance change, saved as 96 px JPEG (``out_size``). Train crops come from the left part of each
region and test crops from the right part, so a test image is never a shifted copy of a training image.

``digits``: scikit-learn's 1,797 handwritten digits (8x8 px, 10 classes), scaled to 32 px PNG; the first 60 %
of each class is the training pool, the rest the test pool.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# class -> (photo index, x0, y0, x1, y1) in the 640x427 photo
REGIONS: dict[str, tuple[int, int, int, int, int]] = {
    "pagoda_roof": (0, 90, 40, 340, 165),
    "pagoda_body": (0, 90, 165, 340, 400),
    "sky": (0, 330, 0, 640, 150),
    "lake": (0, 335, 215, 545, 300),
    "bushes_left": (0, 0, 330, 200, 427),
    "trees_right": (0, 340, 300, 640, 427),
    "dahlia": (1, 175, 85, 435, 355),
    "leaves": (1, 450, 0, 640, 330),
}
TRAIN_SHARE = 0.55  # of each region's width, from the left
OUT_SIZE = 96


def _crops(photo: np.ndarray, box: tuple[int, int, int, int], n: int, rng: np.random.Generator,
           out_size: int = OUT_SIZE) -> list[np.ndarray]:
    x0, y0, x1, y1 = box
    short = min(x1 - x0, y1 - y0)
    out = []
    for _ in range(n):
        side = int(rng.uniform(0.25, 0.95) * short)
        side = max(8, min(side, x1 - x0, y1 - y0))
        x = int(rng.integers(x0, x1 - side + 1))
        y = int(rng.integers(y0, y1 - side + 1))
        crop = photo[y:y + side, x:x + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        gain = rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, size=3)  # brightness and colour balance
        crop = np.clip(crop.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        interpolation = cv2.INTER_AREA if side >= out_size else cv2.INTER_CUBIC
        out.append(cv2.resize(crop, (out_size, out_size), interpolation=interpolation))
    return out


def photo_crops(root: Path, n_train: int, n_test: int, seed: int = 0, ext: str = ".jpg",
                classes: tuple[str, ...] = tuple(REGIONS),
                out_size: int = OUT_SIZE) -> dict[str, dict[str, list[Path]]]:
    """``{"train": {class: [paths]}, "test": {...}}`` written under ``root`` (PNG with ``ext=".png"``),
    each crop resized to ``out_size`` px."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, list[Path]]] = {"train": {}, "test": {}}
    for name in classes:
        index, x0, y0, x1, y1 = REGIONS[name]
        cut = x0 + int((x1 - x0) * TRAIN_SHARE)
        for part, box, n in (("train", (x0, y0, cut, y1), n_train), ("test", (cut, y0, x1, y1), n_test)):
            folder = root / part / name
            folder.mkdir(parents=True, exist_ok=True)
            paths = []
            for i, crop in enumerate(_crops(photos[index], box, n, rng, out_size)):
                path = folder / f"{part}_{name}_{i:04d}{ext}"
                params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == ".jpg" else []
                cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), params)
                paths.append(path)
            out[part][name] = paths
    return out


def digits(root: Path, n_train: int, n_test: int, seed: int = 0) -> dict[str, dict[str, list[Path]]]:
    from sklearn.datasets import load_digits

    data = load_digits()
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, list[Path]]] = {"train": {}, "test": {}}
    for digit in range(10):
        idx = np.flatnonzero(data.target == digit)
        cut = int(len(idx) * 0.6)
        pools = {"train": rng.permutation(idx[:cut])[:n_train], "test": rng.permutation(idx[cut:])[:n_test]}
        for part, chosen in pools.items():
            folder = root / part / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            paths = []
            for i in chosen:
                img = (255 - data.images[i] * 16).clip(0, 255).astype(np.uint8)
                img = cv2.resize(img, (32, 32), interpolation=cv2.INTER_LINEAR)
                path = folder / f"d{digit}_{i:04d}.png"
                cv2.imwrite(str(path), img)
                paths.append(path)
            out[part][str(digit)] = paths
    return out


DATASETS = {"photos": photo_crops, "digits": digits}
