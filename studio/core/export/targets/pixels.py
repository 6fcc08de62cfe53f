"""The run's network with the studio's preprocessing in front: RGB pixels 0..255 of any size -> probabilities.

One graph for the formats that carry a TensorFlow graph (TFLite, SavedModel): the same
:func:`studio.core.preprocess.preprocess` as training runs inside it, so what they predict is what the
studio predicts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.core.export.bundle_folder import ExportError
from studio.core.specs import PreprocessSpec, TrainConfig

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"


# model file -> (its identity on disk, the Keras model it was saved from): see :func:`held_in_memory`
_HELD: dict[str, tuple[tuple[int, int, int], Any]] = {}


def file_identity(model_file: Path) -> tuple[int, int, int]:
    """A model file's identity on disk (inode, size, modification time): unchanged means the same saved model."""
    st = Path(model_file).stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


@contextlib.contextmanager
def held_in_memory(model_file: Path, model: Any) -> Iterator[None]:
    """While the block runs, :func:`run_model` of ``model_file`` (unchanged on disk) gives ``model``, the Keras
    model that file was just saved from, instead of loading the file again (~1.5 s for a pretrained run): the
    export saves the run's scored model once and every target converts it."""
    key = str(model_file)
    _HELD[key] = (file_identity(model_file), model)
    try:
        yield
    finally:
        _HELD.pop(key, None)


def run_model(model_file: Path) -> Any:
    """The run's Keras model (safe mode); a damaged or crafted file is one :class:`ExportError` line."""
    from studio.core.project.runs import load_keras
    from studio.core.project.store import ProjectError

    held = _HELD.get(str(model_file))
    if held is not None and held[0] == file_identity(model_file):
        return held[1]
    try:
        return load_keras(model_file, "the run's model")
    except ProjectError as exc:
        raise ExportError(str(exc)) from None


def load_network(model_file: Path) -> Any:
    return run_model(model_file)


def pixel_module(model_file: Path, config: TrainConfig, batch: int | None = 1, size: int | None = None) -> Any:
    """A ``tf.Module`` whose ``serve(pixels)`` returns ``{"probabilities": ..., "known_score": ...}`` (every
    named output of the model) (batch ``None`` = any;
    ``size`` fixes the input to ``size`` x ``size`` pixels, as a board needs; the resize is then a no-op)."""
    return network_module(load_network(model_file), config.preprocess, batch, size)


def network_module(network: Any, spec: PreprocessSpec, batch: int | None = 1, size: int | None = None) -> Any:
    """:func:`pixel_module` around a Keras network already in memory."""
    import tensorflow as tf

    from studio.core.preprocess import preprocess

    class PixelClassifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        @tf.function(input_signature=[tf.TensorSpec([batch, size, size, 3], tf.float32, name=INPUT_NAME)],
                     autograph=False)
        def serve(self, pixels: tf.Tensor) -> dict[str, tf.Tensor]:
            return named_outputs(self.network(preprocess(pixels, spec), training=False))

    return PixelClassifier()


def named_outputs(outputs: Any) -> dict[str, Any]:
    """The network's outputs by name: a scored network's dict as it is (``probabilities``, ``known_score``,
    whatever else it names), a plain network's one tensor as ``probabilities``."""
    if isinstance(outputs, dict):
        return dict(outputs)
    return {OUTPUT_NAME: outputs}


def output_order(names: Any) -> list[str]:
    """The order of outputs where a format keeps no names (TFLite): probabilities first (index 0, as before
    there were more), then the other names sorted. metadata.json's ``outputs`` lists them in this order."""
    names = list(names)
    return [OUTPUT_NAME, *sorted(n for n in names if n != OUTPUT_NAME)] if OUTPUT_NAME in names else sorted(names)
