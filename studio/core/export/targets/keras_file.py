"""The Keras target: one ``model.keras`` for people who run Keras (or TensorFlow) themselves.

The file holds the run's network behind the studio's preprocessing written as standard Keras layers
(Resizing: bilinear, half-pixel centres, no antialiasing; a fixed 1x1 convolution for ITU-R 601 luma when
the run is gray; Rescaling 1/255), so it takes RGB pixels 0..255 of any size and loads with
``keras.saving.load_model`` in safe mode (no Lambda layers, no custom code). Only float32: Keras files are
for further work, not for shipping small.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets.base import Classifier, ExportTarget, Outputs
from studio.core.export.targets.pixels import OUTPUT_NAME, named_outputs
from studio.core.specs import TrainConfig

MODEL_FILE = "model.keras"
# tf.image.rgb_to_grayscale's weights (what studio.core.preprocess uses)
LUMA = (0.2989, 0.5870, 0.1140)


class KerasFileTarget(ExportTarget):
    name: ClassVar[str] = "keras"
    model_dir: ClassVar[str] = "model"
    model_format: ClassVar[str] = "keras"
    model_entry: ClassVar[str] = MODEL_FILE
    quantizations: ClassVar[tuple[str, ...]] = ("none",)
    default_quantization: ClassVar[str] = "none"

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        import keras

        from studio.core.export.targets.pixels import load_network

        if quantization != "none":
            raise ExportError("a .keras file is written in float32 only (quantization none)")
        network = load_network(model_file)
        spec = config.preprocess
        pixels = keras.Input(shape=(None, None, 3), name="pixels")
        x = keras.layers.Resizing(spec.image_size, spec.image_size, interpolation="bilinear", name="resize")(pixels)
        if spec.color == "gray":
            luma = keras.layers.Conv2D(1, 1, use_bias=False, trainable=False, name="luma")
            x = luma(x)
            luma.set_weights([np.array(LUMA, dtype=np.float32).reshape(1, 1, 3, 1)])
        x = keras.layers.Rescaling(1 / 255, name="scale")(x)
        model = keras.Model(pixels, network(x), name="studio_classifier")
        dest.mkdir(parents=True, exist_ok=True)
        model.save(dest / MODEL_FILE)

    def load_written(self, dest: Path) -> Classifier:
        outputs = self.load_outputs(dest)
        return lambda pixels: outputs(pixels)[OUTPUT_NAME]

    def load_outputs(self, dest: Path) -> Outputs:
        import keras

        model = keras.saving.load_model(dest / MODEL_FILE, compile=False)

        def run(pixels: np.ndarray) -> dict[str, np.ndarray]:
            out = named_outputs(model(np.asarray(pixels, dtype=np.float32)[None], training=False))
            return {name: np.asarray(v)[0] for name, v in out.items()}

        return run
