"""The ONNX target: ``model.onnx`` for ONNX Runtime (and any ONNX consumer), converted with tf2onnx.

The same input contract as the other targets: input ``pixels``, float32 ``[batch, height, width, 3]``, RGB
0..255 of any size; output ``probabilities`` ``[batch, n_labels]``; the studio's preprocessing (bilinear resize
with half-pixel centres, luma for gray runs, divide by 255) is inside the graph. The labels are also in the
model's metadata (``metadata_props["labels"]``, a JSON list). Route: the same ``tf.function`` the SavedModel
target serves -> ``tf2onnx.convert.from_function`` (works with TensorFlow 2.19 and Keras 3). Only float32.
:meth:`load_written` runs the written file with ONNX Runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets.base import Classifier, ExportTarget
from studio.core.export.targets.pixels import INPUT_NAME, OUTPUT_NAME
from studio.core.specs import TrainConfig

if TYPE_CHECKING:
    from studio.core.project.store import Project, RunRecord

MODEL_FILE = "model.onnx"
OPSET = 17
INPUT_DIMS = ("batch", "height", "width")


class OnnxTarget(ExportTarget):
    name: ClassVar[str] = "onnx"
    model_dir: ClassVar[str] = "model"
    model_format: ClassVar[str] = "onnx"
    model_entry: ClassVar[str] = MODEL_FILE
    quantizations: ClassVar[tuple[str, ...]] = ("none",)
    default_quantization: ClassVar[str] = "none"

    def __init__(self) -> None:
        self.labels: list[str] = []

    def prepare(self, project: Project, run: RunRecord) -> None:
        self.labels = project.run_folder(run).labels()

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        import tensorflow as tf

        from studio.core.export.targets.pixels import pixel_module

        if quantization != "none":
            raise ExportError("an ONNX model is written in float32 only (quantization none)")
        module = pixel_module(model_file, config, batch=None)
        proto = _convert(module.serve, tf.TensorSpec([None, None, None, 3], tf.float32, name=INPUT_NAME))
        _name_dims(proto)
        proto.metadata_props.add(key="labels", value=json.dumps(self.labels))
        dest.mkdir(parents=True, exist_ok=True)
        (dest / MODEL_FILE).write_bytes(proto.SerializeToString())

    def load_written(self, dest: Path) -> Classifier:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(dest / MODEL_FILE), providers=["CPUExecutionProvider"])

        def classify(pixels: np.ndarray) -> np.ndarray:
            batch = np.asarray(pixels, dtype=np.float32)[None]
            return np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0])[0]

        return classify


def _convert(function: Any, spec: Any) -> Any:
    import tf2onnx

    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=[spec], opset=OPSET)
    except Exception as exc:  # tf2onnx raises plain exceptions of many kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"the ONNX converter (tf2onnx) failed: {first}") from None
    return proto


def _name_dims(proto: Any) -> None:
    """tf2onnx names the free dimensions ``unk__N``; readable names say what may vary."""
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    for dim, name in zip(dims, INPUT_DIMS, strict=False):
        dim.dim_param = name
    out = proto.graph.output[0].type.tensor_type.shape.dim
    if out:
        out[0].dim_param = "batch"
