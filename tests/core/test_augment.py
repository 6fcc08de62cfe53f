"""The augmentation code path: geometry, determinism, preview == what training sees, no TensorFlow."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from studio.core.specs import AUGMENT_PRESETS, AugmentSpec, PreprocessSpec
from studio.core.training.augment import _inverse_affine, augment_batch, augment_image, preview, rng_for


def _smooth(h: int = 32, w: int = 40, c: int = 1) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = 0.5 + 0.2 * np.sin(xx / 5.0) + 0.2 * np.cos(yy / 7.0)
    return np.repeat(base[..., None], c, axis=2).astype(np.float32)


def _bar() -> np.ndarray:
    img = np.zeros((32, 32, 1), np.float32)
    img[10:22, 4:8] = 1.0  # a vertical bar on the left
    return img


def test_no_augmentation_is_identity() -> None:
    img = _smooth()
    np.testing.assert_array_equal(augment_image(img, AugmentSpec(), rng_for(0, 0, 0)), img)


@pytest.mark.parametrize("params", [
    dict(theta=20.0), dict(tx=5.0), dict(ty=-7.0), dict(shear=15.0), dict(zx=0.7, zy=1.3),
    dict(theta=-30.0, tx=3.0, ty=4.0, shear=10.0, zx=1.2, zy=0.8),
])
def test_warp_matches_scipy_affine_transform(params: dict[str, float]) -> None:
    # scipy.ndimage.affine_transform is what Keras' ImageDataGenerator used; OpenCV warps with 1/32-pixel
    # fixed-point coordinates, hence the tolerance.
    p = dict(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0) | params
    img = _smooth()
    m = _inverse_affine(32, 40, math.radians(p["theta"]), p["tx"], p["ty"], math.radians(p["shear"]),
                        p["zx"], p["zy"])
    import cv2

    ours = cv2.warpAffine(img, m, (40, 32), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    rc = np.array([[m[1, 1], m[1, 0], m[1, 2]], [m[0, 1], m[0, 0], m[0, 2]]])
    ref = ndimage.affine_transform(img[..., 0], rc[:, :2], rc[:, 2], order=1, mode="nearest")
    assert np.abs(ours - ref).max() < 0.02


def test_height_shift_moves_rows_and_flip_mirrors_columns() -> None:
    img = _bar()
    spec = AugmentSpec(height_shift=0.25)
    # Find a draw that shifts by a clear amount; the content must move along rows only.
    out = augment_image(img, spec, rng_for(1, 0, 0))
    assert out[:, 4:8].sum() == pytest.approx(img.sum(), rel=0.05)
    assert out[:, 8:].sum() < 1e-4
    flipped = [augment_image(img, AugmentSpec(horizontal_flip=True), rng_for(0, 0, i)) for i in range(20)]
    assert any(np.array_equal(f, img[:, ::-1]) for f in flipped)
    assert any(np.array_equal(f, img) for f in flipped)


def test_zoom_below_one_enlarges_content() -> None:
    img = np.zeros((32, 32, 1), np.float32)
    img[13:19, 13:19] = 1.0  # a centred square
    out = augment_image(img, AugmentSpec(zoom=(0.5, 0.5)), rng_for(0, 0, 0))
    assert (out > 0.5).sum() > 3 * (img > 0.5).sum()


def test_brightness_and_contrast_stay_in_range() -> None:
    spec = AugmentSpec(brightness=0.5, contrast=0.9)
    for i in range(20):
        out = augment_image(_smooth(c=3), spec, rng_for(0, 0, i))
        assert out.dtype == np.float32 and out.shape == (32, 40, 3)
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_preview_is_deterministic_per_seed() -> None:
    spec = AUGMENT_PRESETS["Original pipeline"]
    img = _smooth(32, 32)
    a = preview(img, spec, 6, seed=7)
    b = preview(img, spec, 6, seed=7)
    c = preview(img, spec, 6, seed=8)
    assert len(a) == 6
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    assert len({x.tobytes() for x in a}) == 6  # every epoch sees a different version


def test_preview_equals_training_batches_for_the_same_image() -> None:
    spec = AUGMENT_PRESETS["Light"]
    rng = np.random.default_rng(0)
    batch = rng.random((5, 16, 16, 1), dtype=np.float32)
    ids = np.array([3, 9, 11, 12, 40])
    for epoch in range(3):
        out = augment_batch(batch, ids, spec, seed=5, epoch=epoch)
        for k, image_id in enumerate(ids):
            np.testing.assert_array_equal(out[k], preview(batch[k], spec, 3, seed=5, image_id=int(image_id))[epoch])


def test_preview_preprocesses_raw_images_with_preprocess() -> None:
    from studio.core.preprocess import preprocess

    raw = np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    pspec = PreprocessSpec(image_size=24, color="gray")
    spec = AUGMENT_PRESETS["Original pipeline"]
    got = preview(raw, spec, 3, seed=2, preprocess_spec=pspec, image_id=4)
    x = np.asarray(preprocess(raw, pspec))
    for epoch, g in enumerate(got):
        assert g.shape == (24, 24, 1)
        np.testing.assert_array_equal(g, augment_image(x, spec, rng_for(2, epoch, 4)))


def test_augment_module_does_not_import_tensorflow() -> None:
    code = ("import sys, numpy as np; from studio.core.training.augment import preview; "
            "from studio.core.specs import AUGMENT_PRESETS; "
            "preview(np.zeros((8, 8, 1), np.float32), AUGMENT_PRESETS['Original pipeline'], 2); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
