"""tf.data pipelines over a project's splits: stream files -> decode -> preprocess -> cache -> shuffle ->
(augment, train only) -> batch -> prefetch.

Decoded full-size images are never kept: only the preprocessed model inputs are cached (in memory, or in a
cache file next to the run when they would not fit comfortably), so memory holds each image once, small.
Stored files are decoded with :func:`studio.core.images.imaging.load_rgb` (EXIF orientation, GIF first frame),
the same decoder the importer validated them with.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from studio.core.images.imaging import ImageRejected, load_rgb
from studio.core.limits import FileRefused, regular_size
from studio.core.preprocess import preprocess
from studio.core.project.store import Project, ProjectError
from studio.core.specs import AugmentSpec, PreprocessSpec
from studio.core.training.augment import augment_batch

if TYPE_CHECKING:
    import tensorflow as tf

# Above this many bytes of preprocessed inputs a split is cached on disk instead of in memory.
MEMORY_CACHE_LIMIT = 1 << 30
# Every pipeline runs with tf.data's autotuning off (see finish) and this fixed parallelism: the cores this process
# may run on (what autotuning would reach; a container's affinity counts). Autotuning keeps a model thread per
# iterator that sleeps up to 60 s between rounds; an iterator freed later by Python's garbage collector waited for
# that thread inside the collection, freezing the process for 20-60 s with no CPU used.
PARALLEL_CALLS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
PREFETCH_BATCHES = 2


@dataclass(frozen=True)
class SplitItems:
    """The labelled, non-trashed images of one split, labels as indices into the run's class list."""

    paths: tuple[str, ...]
    labels: tuple[int, ...]
    image_ids: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def class_counts(self, n_classes: int) -> list[int]:
        return np.bincount(np.asarray(self.labels, dtype=np.int64), minlength=n_classes).tolist()


def split_items(project: Project, split: str, class_names: Sequence[str]) -> SplitItems:
    """Images of ``split`` whose label is one of ``class_names`` (a run's labels, in model output order)."""
    index = {name: i for i, name in enumerate(class_names)}
    rows = [im for im in project.images(split=split) if im.label in index]
    return SplitItems(tuple(str(project.image_path(im)) for im in rows),
                      tuple(index[im.label] for im in rows),  # type: ignore[index]
                      tuple(im.id for im in rows))


# A decode failure inside tf.data reaches Python wrapped in a TensorFlow error; this marker lets the caller
# find the file and the reason again and say them in one line.
_STORED_MARK = "stored image unreadable: "
_STORED_RE = re.compile(re.escape(_STORED_MARK) + r"([^\n]*?)\s*(?:\[\[|\n|$)")


def check_stored(items: SplitItems) -> None:
    """Every stored file of ``items`` is there and a regular file (a stat each): a missing image is named
    before any training or evaluation starts."""
    for path, image_id in zip(items.paths, items.image_ids):
        try:
            regular_size(Path(path))
        except FileRefused as exc:
            raise ProjectError(f"{_STORED_MARK}{path} (image id {image_id}): {exc}; re-import the original "
                               "or move the image to the trash") from None


def stored_image_problem(exc: BaseException) -> str | None:
    """The one-line reason when ``exc`` (however TensorFlow wrapped it) came from a stored image's decode."""
    found = _STORED_RE.search(str(exc))
    return (_STORED_MARK + found.group(1).rstrip(" .")) if found else None


def _decode(path: bytes) -> np.ndarray:
    name = path.decode()
    try:
        return load_rgb(Path(name))
    except ImageRejected as exc:
        raise ValueError(f"{_STORED_MARK}{name}: {exc}") from None


def image_dataset(items: SplitItems, spec: PreprocessSpec, cache_file: Path | None = None) -> tf.data.Dataset:
    """Unbatched ``(input, label, image_id)`` elements, decoded in parallel and cached after preprocessing."""
    import tensorflow as tf

    def load(path: tf.Tensor, label: tf.Tensor, image_id: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        rgb = tf.numpy_function(_decode, [path], tf.uint8, stateful=False)
        rgb.set_shape([None, None, 3])
        return preprocess(rgb, spec), label, image_id

    ds = tf.data.Dataset.from_tensor_slices((list(items.paths), np.asarray(items.labels, np.int32),
                                             np.asarray(items.image_ids, np.int64)))
    ds = ds.map(load, num_parallel_calls=PARALLEL_CALLS, deterministic=True)
    size = len(items) * spec.image_size * spec.image_size * spec.channels * 4
    if cache_file is not None and size > MEMORY_CACHE_LIMIT:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        return ds.cache(str(cache_file))
    return ds.cache()


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def train_dataset(items: SplitItems, spec: PreprocessSpec, batch_size: int, seed: int,
                  augment: AugmentSpec | None = None, cache_file: Path | None = None) -> tf.data.Dataset:
    """Endless ``(inputs, labels)`` batches, reshuffled every epoch from ``seed``; use with
    ``steps_per_epoch(len(items), batch_size)``. Batches never straddle two epochs, so with augmentation
    each image gets the generator of (seed, epoch, image id), exactly as
    :func:`studio.core.training.augment.preview`."""
    import tensorflow as tf

    steps = steps_per_epoch(len(items), batch_size)
    ds = image_dataset(items, spec, cache_file)
    ds = ds.shuffle(max(1, len(items)), seed=seed, reshuffle_each_iteration=True).batch(batch_size).repeat()
    if augment is not None and augment.enabled:
        def apply(step: tf.Tensor, batch: tuple[tf.Tensor, tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
            x, y, ids = batch
            epoch = step // steps

            def run(images: np.ndarray, image_ids: np.ndarray, ep: np.int64) -> np.ndarray:
                return augment_batch(images, image_ids, augment, seed, int(ep))

            out = tf.numpy_function(run, [x, ids, epoch], tf.float32, stateful=False)
            out.set_shape(x.shape)
            return out, y

        ds = ds.enumerate().map(apply, num_parallel_calls=PARALLEL_CALLS, deterministic=True)
    else:
        ds = ds.map(lambda x, y, _ids: (x, y))
    return finish(ds)


def eval_dataset(items: SplitItems, spec: PreprocessSpec, batch_size: int,
                 cache_file: Path | None = None) -> tf.data.Dataset:
    """``(inputs, labels)`` batches in split order (validation, test)."""
    ds = image_dataset(items, spec, cache_file).batch(batch_size).map(lambda x, y, _ids: (x, y))
    return finish(ds)


def finish(ds: tf.data.Dataset) -> tf.data.Dataset:
    """``ds`` with the options every pipeline of the studio runs with (see ``PARALLEL_CALLS``), prefetched."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    # The pipeline starts from a list of paths, not files TF can shard; multi-worker runs shard by element.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(PREFETCH_BATCHES)
