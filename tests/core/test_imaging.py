"""imaging.thumbnail: fitting inside a box, down-scaling always, enlarging only when asked."""

from __future__ import annotations

import numpy as np

from studio.core.images.imaging import thumbnail


def test_large_images_shrink_to_fit_keeping_the_aspect_ratio():
    pixels = np.zeros((300, 600, 3), np.uint8)
    assert thumbnail(pixels, 160).shape == (80, 160, 3)
    assert thumbnail(pixels, 160, enlarge=True).shape == (80, 160, 3)


def test_small_images_stay_unless_enlarged():
    digit = np.zeros((8, 8), np.uint8)
    digit[2:6, 3] = 255  # a one-pixel stroke
    kept = thumbnail(digit, 128)
    assert kept.shape == (8, 8) and kept is not digit and np.array_equal(kept, digit)
    big = thumbnail(digit, 128, enlarge=True)
    assert big.shape == (128, 128)
    # At most half the box: nearest neighbour, so the stroke stays pure black and white (no smoothing).
    assert set(np.unique(big)) == {0, 255}
    # Over half the box: bilinear, so the stroke's edge gets in-between values.
    medium = thumbnail(np.kron(digit, np.ones((9, 9), np.uint8)), 128, enlarge=True)
    assert medium.shape == (128, 128) and len(np.unique(medium)) > 2
