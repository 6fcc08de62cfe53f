"""Real photos for newcomer-style GUI checks: three kinds of crops (temple, trees, flower) cut from the two
photos scikit-learn ships (china.jpg, flower.jpg), so no download is needed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# (photo, x0, y0, x1, y1): the region each kind's crops come from, in the 640x427 photo
KINDS = {
    "temple": ("china.jpg", 80, 30, 360, 400),
    "trees": ("china.jpg", 500, 140, 640, 427),
    "flower": ("flower.jpg", 170, 80, 450, 380),
}


def write_photo_crops(root: Path, per_class: int = 30, size: int = 96, seed: int = 0) -> dict[str, list[Path]]:
    """``root/<kind>/<kind>_NN.jpg``: ``per_class`` random square crops of each kind, resized to ``size``."""
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(seed)
    out: dict[str, list[Path]] = {}
    for kind, (photo, x0, y0, x1, y1) in KINDS.items():
        image = load_sample_image(photo)[:, :, ::-1]  # RGB -> BGR for OpenCV
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        out[kind] = []
        for i in range(per_class):
            side = int(rng.integers(min(x1 - x0, y1 - y0) // 2, min(x1 - x0, y1 - y0) + 1))
            x = int(rng.integers(x0, x1 - side + 1))
            y = int(rng.integers(y0, y1 - side + 1))
            crop = cv2.resize(image[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            path = folder / f"{kind}_{i:02d}.jpg"
            cv2.imwrite(str(path), crop)
            out[kind].append(path)
    return out
