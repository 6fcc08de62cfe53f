"""Draws packaging/linux/edge-studio.png, the app icon used until resources/ has one (run once; output committed).

A camera-lens ring over a small grid of "pixels" on a rounded tile: an image classifier at the edge.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = 256
OUT = Path(__file__).with_name("edge-studio.png")


def draw(size: int = SIZE) -> np.ndarray:
    s = 4  # drawn 4x larger, then downscaled: cheap anti-aliasing
    n = size * s
    img = np.zeros((n, n, 4), np.uint8)
    r, m = 48 * s, 8 * s
    tile = np.zeros((n, n), np.uint8)
    cv2.rectangle(tile, (m + r, m), (n - m - r, n - m), 255, -1)
    cv2.rectangle(tile, (m, m + r), (n - m, n - m - r), 255, -1)
    for cx, cy in ((m + r, m + r), (n - m - r, m + r), (m + r, n - m - r), (n - m - r, n - m - r)):
        cv2.circle(tile, (cx, cy), r, 255, -1)
    ramp = np.linspace(0.0, 1.0, n)[:, None]
    top, bottom = np.array([0x3B, 0x6E, 0x1F]), np.array([0x7A, 0x3A, 0x12])  # BGR: teal -> deep blue
    img[..., :3] = (top * (1 - ramp[..., None]) + bottom * ramp[..., None]).astype(np.uint8)
    img[..., 3] = tile
    cell, gap = 22 * s, 6 * s
    grid0 = n // 2 - (3 * cell + 2 * gap) // 2
    shades = [0.35, 0.9, 0.55, 0.8, 1.0, 0.45, 0.6, 0.3, 0.85]
    for i, shade in enumerate(shades):
        x = grid0 + (i % 3) * (cell + gap)
        y = grid0 + (i // 3) * (cell + gap)
        v = int(255 * shade)
        cv2.rectangle(img, (x, y), (x + cell, y + cell), (v, v, v, 255), -1)
    cv2.circle(img, (n // 2, n // 2), 86 * s, (255, 255, 255, 255), 12 * s, cv2.LINE_AA)
    cv2.circle(img, (n // 2 + 61 * s, n // 2 - 61 * s), 14 * s, (0x40, 0xC8, 0xFF, 255), -1, cv2.LINE_AA)
    img[..., 3] = np.minimum(img[..., 3], tile)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


if __name__ == "__main__":
    cv2.imwrite(str(OUT), draw())
    print(OUT)
