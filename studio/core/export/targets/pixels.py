"""The run's network with the studio's preprocessing in front: RGB pixels 0..255 of any size -> probabilities.

One graph for the formats that carry a TensorFlow graph (TFLite, SavedModel): the same
:func:`studio.core.preprocess.preprocess` as training runs inside it, so what they predict is what the
studio predicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.core.export.bundle_folder import ExportError
from studio.core.specs import TrainConfig

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"


def run_model(model_file: Path) -> Any:
    """The run's Keras model (safe mode); a damaged or crafted file is one :class:`ExportError` line."""
    from studio.core.project.runs import load_keras
    from studio.core.project.store import ProjectError

    try:
        return load_keras(model_file, "the run's model")
    except ProjectError as exc:
        raise ExportError(str(exc)) from None


def load_network(model_file: Path) -> Any:
    return run_model(model_file)


def pixel_module(model_file: Path, config: TrainConfig, batch: int | None = 1) -> Any:
    """A ``tf.Module`` whose ``serve(pixels)`` returns ``{"probabilities": ...}`` (batch ``None`` = any)."""
    import tensorflow as tf

    from studio.core.preprocess import preprocess

    network = load_network(model_file)
    spec = config.preprocess

    class PixelClassifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        @tf.function(input_signature=[tf.TensorSpec([batch, None, None, 3], tf.float32, name=INPUT_NAME)],
                     autograph=False)
        def serve(self, pixels: tf.Tensor) -> dict[str, tf.Tensor]:
            return {OUTPUT_NAME: self.network(preprocess(pixels, spec), training=False)}

    return PixelClassifier()
