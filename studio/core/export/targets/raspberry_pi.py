"""The Raspberry Pi / Linux board target: ``model.tflite`` (labels packed in), ``labels.txt`` and ``classify.py``.

``classify.py`` runs with ``pip install ai-edge-litert numpy pillow`` only (LiteRT, the TFLite runtime for Linux
boards): ``python classify.py IMAGE`` prints ``LABEL CONFIDENCE``; ``--camera`` reads a camera through OpenCV.
The model is the TFLite target's (RGB pixels 0..255 of any size, the studio's preprocessing inside), so the
script resizes nothing. :meth:`load_written` runs the written model with LiteRT, the runtime the board uses.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np

from studio.core.export.targets.base import Classifier
from studio.core.export.targets.tflite import MODEL_FILE, QUANTIZATIONS, TfliteTarget
from studio.core.export.targets.tflite_labels import LABELS_FILE, labels_text
from studio.core.specs import TrainConfig

SCRIPT = "classify.py"
SCRIPT_SOURCE = Path(__file__).with_name("files") / SCRIPT
REQUIREMENTS = "requirements.txt"
REQUIREMENTS_TEXT = "ai-edge-litert\nnumpy\npillow\n"


class RaspberryPiTarget(TfliteTarget):
    name: ClassVar[str] = "raspberry_pi"
    model_dir: ClassVar[str] = "raspberry_pi"
    model_format: ClassVar[str] = "tflite"
    model_entry: ClassVar[str] = MODEL_FILE
    quantizations: ClassVar[tuple[str, ...]] = QUANTIZATIONS
    default_quantization: ClassVar[str] = "none"

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        super().write_model(model_file, config, dest, quantization)
        (dest / LABELS_FILE).write_text(labels_text(self.labels), encoding="utf-8")
        (dest / REQUIREMENTS).write_text(REQUIREMENTS_TEXT, encoding="utf-8")
        shutil.copyfile(SCRIPT_SOURCE, dest / SCRIPT)

    def load_written(self, dest: Path) -> Classifier:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # the packaged app leaves LiteRT out: TensorFlow carries the same TFLite runtime
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter  # noqa: N806

        interpreter = Interpreter(model_path=str(dest / MODEL_FILE))
        source = interpreter.get_input_details()[0]
        target = interpreter.get_output_details()[0]
        shape: list[tuple[int, ...]] = [()]

        def classify(pixels: np.ndarray) -> np.ndarray:
            from studio.core.export.targets.tflite import _from_output, _to_input

            x = np.asarray(pixels, dtype=np.float32)[None]
            if x.shape != shape[0]:
                interpreter.resize_tensor_input(source["index"], list(x.shape))
                interpreter.allocate_tensors()
                shape[0] = x.shape
            interpreter.set_tensor(source["index"], _to_input(x, source))
            interpreter.invoke()
            return _from_output(interpreter.get_tensor(target["index"]), target)[0]

        return classify
