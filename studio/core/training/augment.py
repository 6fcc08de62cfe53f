"""The one augmentation code path, in NumPy + OpenCV (no TensorFlow, so the Augment page previews instantly).

Training wraps :func:`augment_image` in the input pipeline (train split only) with the random generator
from :func:`rng_for`; :func:`preview` calls the very same function with the very same generators, so the
preview grid shows what training sees for that image in epochs 1..n.

The affine transform follows Keras' ``ImageDataGenerator``: rotation, shift, shear and zoom about the image
centre, mapping output pixels back to input pixels, with ``nearest`` (edge-replicating) borders.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from studio.core.specs import AugmentSpec, PreprocessSpec

# Draws per image, always all of them in this order, so changing one setting does not reshuffle the others.
_N_DRAWS = 10


def rng_for(seed: int, epoch: int, image_id: int) -> np.random.Generator:
    """The generator for one image in one epoch: deterministic per (seed, epoch, image id)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch), int(image_id)])


def augment_image(img: np.ndarray, spec: AugmentSpec, rng: np.random.Generator) -> np.ndarray:
    """One random augmentation of a model-input image ``H x W x C`` float32 in 0..1 -> same shape and dtype."""
    u = rng.random(_N_DRAWS)
    img = np.asarray(img, dtype=np.float32)
    h, w, c = img.shape

    def sym(x: float, amount: float) -> float:  # uniform in [-amount, +amount]
        return (2.0 * x - 1.0) * amount

    theta = math.radians(sym(u[0], spec.rotation))
    tx = sym(u[1], spec.height_shift) * h  # rows
    ty = sym(u[2], spec.width_shift) * w   # columns
    shear = math.radians(sym(u[3], spec.shear))
    lo, hi = spec.zoom
    zx = lo + u[4] * (hi - lo)
    zy = lo + u[5] * (hi - lo)

    out = img
    if theta or tx or ty or shear or zx != 1 or zy != 1:
        matrix = _inverse_affine(h, w, theta, tx, ty, shear, zx, zy)
        out = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
        out = out.reshape(h, w, c)
    if spec.horizontal_flip and u[6] < 0.5:
        out = out[:, ::-1, :]
    if spec.vertical_flip and u[7] < 0.5:
        out = out[::-1, :, :]
    if spec.contrast:
        factor = 1.0 + sym(u[8], spec.contrast)
        mean = out.mean(axis=(0, 1), keepdims=True)
        out = (out - mean) * np.float32(factor) + mean
    if spec.brightness:
        out = out + np.float32(sym(u[9], spec.brightness))
    if spec.contrast or spec.brightness:
        out = np.clip(out, 0.0, 1.0)
    return np.ascontiguousarray(out, dtype=np.float32)


def _inverse_affine(h: int, w: int, theta: float, tx: float, ty: float, shear: float, zx: float,
                    zy: float) -> np.ndarray:
    """2x3 matrix (OpenCV x=column, y=row) mapping output pixels to input pixels, as Keras composes it
    in (row, column) space: centre -> rotate -> shift -> shear -> zoom -> back."""
    rotation = np.array([[math.cos(theta), -math.sin(theta), 0], [math.sin(theta), math.cos(theta), 0],
                         [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    shearing = np.array([[1, -math.sin(shear), 0], [0, math.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    m = rotation @ shift @ shearing @ zoom
    o_r, o_c = h / 2 - 0.5, w / 2 - 0.5
    to_centre = np.array([[1, 0, o_r], [0, 1, o_c], [0, 0, 1]])
    from_centre = np.array([[1, 0, -o_r], [0, 1, -o_c], [0, 0, 1]])
    rc = to_centre @ m @ from_centre
    # Swap (row, col) -> (x, y) for OpenCV.
    return np.array([[rc[1, 1], rc[1, 0], rc[1, 2]], [rc[0, 1], rc[0, 0], rc[0, 2]]], dtype=np.float64)


def augment_batch(images: np.ndarray, image_ids: np.ndarray, spec: AugmentSpec, seed: int,
                  epoch: int) -> np.ndarray:
    """The training-pipeline entry point: each image gets ``rng_for(seed, epoch, its id)``."""
    out = np.empty_like(images, dtype=np.float32)
    for k in range(len(images)):
        out[k] = augment_image(images[k], spec, rng_for(seed, epoch, int(image_ids[k])))
    return out


def preview(image: np.ndarray, spec: AugmentSpec, n: int, seed: int = 0,
            preprocess_spec: PreprocessSpec | None = None, image_id: int = 0) -> list[np.ndarray]:
    """``n`` augmented versions of one image: what training sees for image ``image_id`` in epochs 1..n.

    With ``preprocess_spec`` the image is a decoded RGB ``H x W x 3`` array of any size and goes through
    :func:`studio.core.preprocess.preprocess` first (this imports TensorFlow once; an OpenCV resize differs
    from it by up to 5e-5, so it is not used). Without, the image is already model input (float 0..1).
    """
    x = _model_input(image, preprocess_spec)
    return [augment_image(x, spec, rng_for(seed, epoch, image_id)) for epoch in range(n)]


def _model_input(image: np.ndarray, preprocess_spec: PreprocessSpec | None) -> np.ndarray:
    if preprocess_spec is None:
        x: Any = np.asarray(image, dtype=np.float32)
        return x[..., None] if x.ndim == 2 else x
    from studio.core.preprocess import preprocess

    return np.asarray(preprocess(np.asarray(image), preprocess_spec), dtype=np.float32)
