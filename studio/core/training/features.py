"""Pretrained-backbone features per image, computed once and cached beside the project.

``image_features(project)`` gives one 1280-number EfficientNet-Lite0 vector per image (global average pooled,
ImageNet weights, see :mod:`studio.core.training.backbone`) for the studio's own preprocessing of that image at
``image_size``. Vectors are cached in ``<project>/features/`` in one file per backbone, input size and colour
mode, keyed by the image's sha256: an image whose file changes has a new hash (images are content-addressed),
so it is computed again; another size reads another file. Only missing vectors are computed; the file is
rewritten atomically and keeps only hashes the project still has. TensorFlow is imported lazily.

``view_features(project, ids, views=V, augment=spec)`` gives the vectors of ``V`` augmented views of each
image (:func:`studio.core.training.augment.augment_image` on the preprocessed image, each view's random draw
fixed by the image's hash and the view number), cached the same way in a file per size, colour, augmentation
and view count: what the pretrained head learns from besides the plain vectors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from studio.core.events import CancelToken
from studio.core.project import caches as cache_check
from studio.core.project.caches import ArraySpec
from studio.core.project.files import check_folder, write_with
from studio.core.project.store import ImageRecord, Project, ProjectError
from studio.core.specs import AugmentSpec, PreprocessSpec
from studio.core.training import backbone

if TYPE_CHECKING:
    import keras

FEATURES_DIR = "features"
BATCH = 32
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FeatureSet:
    ids: np.ndarray      # int64, shape (n,)
    vectors: np.ndarray  # float32, shape (n, D)


class FeaturesCancelled(Exception):
    """``cancel`` was set; vectors computed so far are kept in the cache."""


def cache_file(project: Project, image_size: int, color: str = "rgb", views: str = "") -> Path:
    return (project.root / FEATURES_DIR
            / f"{backbone.NAME}-{backbone.WEIGHTS_SHA256[:12]}-{int(image_size)}-{color}{views}.npz")


def _views_key(augment: AugmentSpec, views: int) -> str:
    import hashlib

    return f"-views{int(views)}-{hashlib.sha256(augment.to_json().encode()).hexdigest()[:10]}"


def image_features(project: Project, image_ids: Sequence[int] | None = None, *, image_size: int | None = None,
                   progress: Progress | None = None, cancel: CancelToken | None = None,
                   color: str = "rgb", fresh: bool = False) -> FeatureSet:
    """Vectors of ``image_ids`` in that order (None = every image not in the trash, in id order).

    ``image_size`` None = :data:`studio.core.training.backbone.DEFAULT_IMAGE_SIZE`; ``color`` "gray" gives the vectors
    of the gray image widened to three channels (what a gray project's pretrained model sees).
    ``progress(done, total)``; raises :class:`FeaturesCancelled` when ``cancel`` is set. ``fresh`` computes
    every vector again (the cache is rewritten).
    """
    spec = PreprocessSpec(image_size=int(image_size or backbone.DEFAULT_IMAGE_SIZE), color=color)
    records = _records(project, image_ids)
    keys = [(r, r.sha256, 0) for r in records]
    vectors = _cached_vectors(project, keys, spec, cache_file(project, spec.image_size, color), None,
                              progress, cancel, fresh=fresh)
    return FeatureSet(ids=np.asarray([r.id for r in records], dtype=np.int64), vectors=vectors)


def view_features(project: Project, image_ids: Sequence[int], *, views: int, augment: AugmentSpec,
                  image_size: int | None = None, color: str = "rgb", progress: Progress | None = None,
                  cancel: CancelToken | None = None) -> np.ndarray:
    """Vectors of ``views`` augmented views of each image: shape (len(image_ids), views, D), cached."""
    spec = PreprocessSpec(image_size=int(image_size or backbone.DEFAULT_IMAGE_SIZE), color=color)
    records = _records(project, image_ids)
    keys = [(r, f"{r.sha256}:{v}", v + 1) for r in records for v in range(views)]
    path = cache_file(project, spec.image_size, color, _views_key(augment, views))
    vectors = _cached_vectors(project, keys, spec, path, augment, progress, cancel, rows_per_image=views)
    return vectors.reshape(len(records), views, backbone.FEATURE_DIM)


def _cached_vectors(project: Project, keys: list[tuple[ImageRecord, str, int]], spec: PreprocessSpec, path: Path,
                    augment: AugmentSpec | None, progress: Progress | None,
                    cancel: CancelToken | None, *, fresh: bool = False, rows_per_image: int = 1) -> np.ndarray:
    """``keys``: (record, cache key, view number; 0 = the plain image) -> their vectors, computing the missing
    (``rows_per_image``: the cache's rows per image, which bounds the file's size before it is read)."""
    report = progress or (lambda _d, _t: None)
    cached = read_cache(project, path, fresh, rows_per_image)
    missing = [k for k in keys if k[1] not in cached]
    total = len(keys)
    report(total - len(missing), total)
    if missing:
        try:
            for done, (names, vectors) in enumerate(_compute(project, missing, spec, augment, cancel), start=1):
                cached.update(zip(names, vectors))
                report(total - len(missing) + min(done * BATCH, len(missing)), total)
        finally:
            known = project.known_hashes()
            _write(project, path, cached, {k for k in cached if k.split(":", 1)[0] in known})
    return (np.stack([cached[k[1]] for k in keys]).astype(np.float32) if keys
            else np.zeros((0, backbone.FEATURE_DIM), np.float32))


def _records(project: Project, image_ids: Sequence[int] | None) -> list[ImageRecord]:
    if image_ids is None:
        return project.images()
    wanted = [int(i) for i in image_ids]
    found = {r.id: r for r in project.images(ids=wanted) + project.images(ids=wanted, trashed=True)}
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise ProjectError(f"no image with id {unknown[0]}" + (f" (and {len(unknown) - 1} more)"
                                                               if len(unknown) > 1 else ""))
    return [found[i] for i in wanted]


def _max_cache_bytes(rows: int) -> int:
    """A features file holds at most one vector per image of the project (plus its hash and zip overhead)."""
    return (rows + 1) * (backbone.FEATURE_DIM * 4 + 64 * 4 + 256) + 4096


def cache_arrays(dim: int = backbone.FEATURE_DIM) -> dict[str, ArraySpec]:
    """What a features file must hold: one sha256 and one finite float32 vector per row."""
    return {"sha256": ArraySpec("U", ("n",)), "vectors": ArraySpec("float32", ("n", dim))}


def read_cache(project: Project, path: Path, fresh: bool = False,
               rows_per_image: int = 1) -> dict[str, np.ndarray]:
    """The cached vectors by sha256; a missing, damaged or untrustworthy file reads as empty (and is
    rewritten); ``fresh`` ignores it. A features folder that is a link is refused (:class:`LinkRefused`)."""
    check_folder(project.root, path.parent)
    if fresh or not cache_check.exists(path):
        return {}
    try:
        limit = _max_cache_bytes(len(project.known_hashes()) * rows_per_image)
        arrays = cache_check.read_npz(path, cache_arrays(), limit)
    except cache_check.CacheInvalid as exc:
        cache_check.notice(f"features cache {path.name} not used ({exc}); computing the features again")
        return {}
    return {str(s): v for s, v in zip(arrays["sha256"], arrays["vectors"])}


def _write(project: Project, path: Path, vectors: dict[str, np.ndarray], keep: set[str]) -> None:
    shas = sorted(s for s in vectors if s in keep)

    def write(fh: BinaryIO) -> None:
        np.savez(fh, sha256=np.asarray(shas, dtype=str),  # "sha256" or "sha256:view"
                 vectors=np.stack([vectors[s] for s in shas]).astype(np.float32) if shas
                 else np.zeros((0, backbone.FEATURE_DIM), np.float32))
    try:
        write_with(project.root, path, write)
    except OSError:
        pass  # a read-only project still gets its features, only not cached


_MODELS: dict[int, Any] = {}
_MODELS_LOCK = threading.Lock()


def feature_model(image_size: int) -> keras.Model:
    """The backbone (features, RGB 0..1 input) at ``image_size``, built once per process and size."""
    with _MODELS_LOCK:
        if image_size not in _MODELS:
            _MODELS[image_size] = backbone.build((image_size, image_size, 3))
        return _MODELS[image_size]


def _compute(project: Project, keys: list[tuple[ImageRecord, str, int]], spec: PreprocessSpec,
             augment: AugmentSpec | None, cancel: CancelToken | None):
    """Yields ``(cache keys, vectors)`` per batch: files decoded, preprocessed (and, for a view number > 0,
    augmented with a draw fixed by the image's hash and that number) in parallel by tf.data."""
    import tensorflow as tf

    from studio.core.preprocess import preprocess
    from studio.core.training.augment import augment_image
    from studio.core.training.data import PARALLEL_CALLS, _decode, finish

    model = feature_model(spec.image_size)

    def view(x: np.ndarray, seed: np.ndarray) -> np.ndarray:
        return augment_image(x, augment, np.random.default_rng(seed.tolist())) if seed[0] else x

    def load(path: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        rgb = tf.numpy_function(_decode, [path], tf.uint8, stateful=False)
        rgb.set_shape([None, None, 3])
        x = preprocess(rgb, spec)
        if augment is not None:
            shape = x.shape
            x = tf.numpy_function(view, [x, seed], tf.float32, stateful=False)
            x.set_shape(shape)
        return tf.image.grayscale_to_rgb(x) if spec.color == "gray" else x

    paths = [str(project.image_path(r)) for r, _, _ in keys]
    seeds = np.asarray([[v, int(r.sha256[:8], 16)] for r, _, v in keys], dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((paths, seeds)).map(load, num_parallel_calls=PARALLEL_CALLS,
                                                                deterministic=True)
    ds = finish(ds.batch(BATCH))
    for i, x in enumerate(ds):
        if cancel is not None and cancel.cancelled:
            raise FeaturesCancelled("feature extraction cancelled")
        vectors = np.asarray(model.predict_on_batch(x), dtype=np.float32)
        if not np.isfinite(vectors).all():  # never cache (or train on) NaN features
            raise ProjectError("the pretrained backbone gave NaN features: its weights are damaged; delete "
                               f"{backbone.cache_dir()} and run again")
        yield [k for _, k, _ in keys[i * BATCH:(i + 1) * BATCH]], vectors
