"""preprocess(): the one definition of model input, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.preprocess import preprocess
from studio.core.specs import PreprocessSpec


def test_gray_uses_itu601_luma_and_scales_to_unit_range() -> None:
    img = np.zeros((1, 4, 4, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 200, 100, 50
    out = np.asarray(preprocess(img, PreprocessSpec(image_size=8, color="gray")))
    assert out.shape == (1, 8, 8, 1) and out.dtype == np.float32
    expected = (0.2989 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_rgb_keeps_channels_and_same_size_is_identity() -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    out = np.asarray(preprocess(img, PreprocessSpec(image_size=16, color="rgb")))
    np.testing.assert_allclose(out, img / 255.0, atol=1e-6)


def test_any_input_size_and_single_image() -> None:
    rng = np.random.default_rng(2)
    for h, w in [(9, 33), (64, 64), (300, 17)]:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out = np.asarray(preprocess(img, PreprocessSpec(image_size=32, color="gray")))
        assert out.shape == (32, 32, 1)
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_bilinear_half_pixel_without_antialias() -> None:
    # 32 -> 8 columns: output column j samples halfway between input columns 4j+1 and 4j+2 (half-pixel
    # centres); an antialiasing filter would blend all four columns instead.
    img = np.zeros((1, 16, 32, 3), np.float32)
    img[:, :, 1::4, :] = 255.0
    out = np.asarray(preprocess(img, PreprocessSpec(image_size=8, color="rgb")))
    np.testing.assert_allclose(out, 0.5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_uint8_and_float_inputs_agree(dtype: type) -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (1, 20, 30, 3)).astype(np.uint8)
    spec = PreprocessSpec(image_size=12, color="gray")
    np.testing.assert_allclose(np.asarray(preprocess(img.astype(dtype), spec)),
                               np.asarray(preprocess(img, spec)), atol=1e-7)
