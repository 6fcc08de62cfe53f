"""The SavedModel target: a TensorFlow SavedModel folder for TF Serving, TFX or any TensorFlow program.

Signature ``serving_default``: input ``pixels`` (float32 ``[batch, H, W, 3]``, RGB 0..255, any size), output
``probabilities`` (``[batch, n_labels]``, in the order of metadata's labels) and ``known_score``
(``[batch, 1]``, see :mod:`studio.core.evaluation.known_score`); the studio's preprocessing runs inside. Only
float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets.base import Classifier, ExportTarget, Outputs
from studio.core.export.targets.pixels import INPUT_NAME, OUTPUT_NAME
from studio.core.specs import TrainConfig

SIGNATURE = "serving_default"


class SavedModelTarget(ExportTarget):
    name: ClassVar[str] = "saved_model"
    model_dir: ClassVar[str] = "saved_model"
    model_format: ClassVar[str] = "tf-saved-model"
    model_entry: ClassVar[str] = "saved_model.pb"
    quantizations: ClassVar[tuple[str, ...]] = ("none",)
    default_quantization: ClassVar[str] = "none"

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        import tensorflow as tf

        from studio.core.export.targets.pixels import pixel_module

        if quantization != "none":
            raise ExportError("a SavedModel is written in float32 only (quantization none)")
        module = pixel_module(model_file, config, batch=None)
        try:
            tf.saved_model.save(module, str(dest), signatures={SIGNATURE: module.serve})
        except tf.errors.OpError as exc:
            reason = exc.message.splitlines()[0].rsplit("; ", 1)[-1]
            raise ExportError(f"the SavedModel could not be written to {dest}: {reason}") from None

    def load_written(self, dest: Path) -> Classifier:
        outputs = self.load_outputs(dest)
        return lambda pixels: outputs(pixels)[OUTPUT_NAME]

    def load_outputs(self, dest: Path) -> Outputs:
        import tensorflow as tf

        serve = tf.saved_model.load(str(dest)).signatures[SIGNATURE]

        def run(pixels: np.ndarray) -> dict[str, np.ndarray]:
            batch = tf.constant(np.asarray(pixels, dtype=np.float32)[None])
            return {name: np.asarray(v)[0] for name, v in serve(**{INPUT_NAME: batch}).items()}

        return run
