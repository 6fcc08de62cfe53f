"""The TensorFlow Lite target: one ``model.tflite`` for phones, Raspberry Pis and other edge runtimes.

The model takes RGB pixels 0..255 of any size (``[1, H, W, 3]``; resize the input tensor, then allocate) and
runs the studio's preprocessing inside, like the web bundle's graph. Quantizations:

- ``none``: float32 throughout;
- ``float16``: float16 weights, float32 arithmetic (half the size);
- ``int8``: full-integer: int8 weights, activations, input and output (the input's scale is 1 and its zero
  point -128, so pixel values map exactly; the output is probabilities in steps of 1/256). Activation ranges
  are calibrated on images of the run's train split, every class in turn (:meth:`TfliteTarget.prepare`).

The run's labels are packed into the file (:mod:`studio.core.export.targets.tflite_labels`: ``unzip -l
model.tflite`` lists ``labels.txt``; interpreters ignore it).

:meth:`load_written` runs the written file with the TFLite interpreter, so what is measured is what ships.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets.base import Classifier, ExportTarget, Outputs
from studio.core.export.targets.pixels import OUTPUT_NAME
from studio.core.export.targets.tflite_labels import with_labels
from studio.core.specs import TrainConfig

if TYPE_CHECKING:
    from studio.core.project.store import Project, RunRecord

MODEL_FILE = "model.tflite"
QUANTIZATIONS = ("none", "float16", "int8")  # float32, float16 weights, full-integer int8
REPRESENTATIVE_IMAGES = 200  # calibration images, spread evenly over the train split
TRAIN_SPLIT = "train"


class TfliteTarget(ExportTarget):
    name: ClassVar[str] = "tflite"
    model_dir: ClassVar[str] = "model"
    model_format: ClassVar[str] = "tflite"
    model_entry: ClassVar[str] = MODEL_FILE
    quantizations: ClassVar[tuple[str, ...]] = QUANTIZATIONS
    default_quantization: ClassVar[str] = "none"

    def __init__(self) -> None:
        self.representative: list[Path] = []
        self.labels: list[str] = []

    def prepare(self, project: Project, run: RunRecord) -> None:
        """The run's labels, and the calibration images for int8 (:func:`calibration_images`)."""
        self.labels = project.run_folder(run).labels()
        self.representative = calibration_images(project, self.labels)

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        if quantization not in QUANTIZATIONS:
            raise ExportError(f"TFLite quantization must be one of {', '.join(QUANTIZATIONS)} (got {quantization})")
        if quantization == "int8" and not self.representative:
            raise ExportError("int8 needs calibration images from the train split, and it has none")
        data = convert(model_file, config, quantization, self.representative)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / MODEL_FILE).write_bytes(with_labels(data, self.labels))

    def load_written(self, dest: Path) -> Classifier:
        return interpreter_classifier(dest / MODEL_FILE)

    def load_outputs(self, dest: Path) -> Outputs:
        return interpreter_outputs(dest / MODEL_FILE)


def calibration_images(project: Project, labels: Sequence[str]) -> list[Path]:
    """Up to :data:`REPRESENTATIVE_IMAGES` train images for int8 calibration, taken from every class in turn
    (a calibration set of one class gives the other classes' activations ranges they never reach)."""
    paths, classes, _names = project.labelled_split(TRAIN_SPLIT, list(labels))
    by_class: dict[int, list[str]] = {}
    for path, cls in zip(paths, classes, strict=True):
        by_class.setdefault(int(cls), []).append(path)
    queues = [iter(v) for _k, v in sorted(by_class.items())]
    chosen: list[Path] = []
    while queues and len(chosen) < REPRESENTATIVE_IMAGES:
        for queue in list(queues):
            path = next(queue, None)
            if path is None:
                queues.remove(queue)
            elif len(chosen) < REPRESENTATIVE_IMAGES:
                chosen.append(Path(path))
    return chosen


def convert(model_file: Path, config: TrainConfig, quantization: str, representative: Sequence[Path],
            size: int | None = None) -> bytes:
    """The TFLite flatbuffer (``size``: a fixed ``size`` x ``size`` input, as a microcontroller needs)."""
    from studio.core.export.targets.pixels import pixel_module

    module = pixel_module(model_file, config, batch=1, size=size)
    return convert_module(module, quantization, lambda: _calibration(representative, size))


def convert_module(module: Any, quantization: str, samples: Callable[[], Iterator[list[np.ndarray]]]) -> bytes:
    """A :func:`~studio.core.export.targets.pixels.pixel_module` -> TFLite bytes (``samples``: int8 calibration
    inputs)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from studio.core.export.targets.pixels import output_order

    names = output_order(module.serve.get_concrete_function().structured_outputs)

    # A TFLite model keeps no output names: the outputs go in output_order (probabilities at index 0).
    @tf.function(input_signature=module.serve.input_signature, autograph=False)
    def ordered(pixels: tf.Tensor) -> tuple[tf.Tensor, ...]:
        out = module.serve(pixels)
        return tuple(out[n] for n in names)

    # Frozen first: converted with its variables, the model would read them at run time (READ_VARIABLE).
    frozen = convert_variables_to_constants_v2(ordered.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        return bytes(converter.convert())
    except Exception as exc:  # the converter raises ConverterError and plain RuntimeErrors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"the TFLite converter failed ({quantization}): {first}") from None


def _calibration(paths: Sequence[Path], size: int | None) -> Iterator[list[np.ndarray]]:
    from studio.core.images.imaging import ImageRejected, load_rgb

    for path in paths:
        try:
            pixels = load_rgb(path).astype(np.float32)
        except (ImageRejected, OSError):
            continue  # a damaged train image only costs one calibration sample
        yield [(pixels if size is None else resize_pixels(pixels, size))[None]]


def resize_pixels(pixels: np.ndarray, size: int) -> np.ndarray:
    """RGB ``(H, W, 3)`` -> ``(size, size, 3)`` float32 0..255 with the studio's resize (bilinear, half-pixel
    centres, no antialiasing), for a model whose input has a fixed size."""
    import tensorflow as tf

    return np.asarray(tf.image.resize(np.asarray(pixels, np.float32)[None], (size, size), method="bilinear",
                                      antialias=False))[0]


def interpreter_classifier(model_path: Path) -> Classifier:
    """RGB pixels ``(H, W, 3)`` 0..255 -> probabilities, with the TFLite interpreter on ``model_path``."""
    outputs = interpreter_outputs(model_path)
    return lambda pixels: outputs(pixels)[OUTPUT_NAME]


def interpreter_outputs(model_path: Path) -> Outputs:
    """RGB pixels ``(H, W, 3)`` 0..255 -> every named output (the signature's names), with the interpreter."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(model_path))
    source = interpreter.get_input_details()[0]
    names = output_names(interpreter, model_path)
    details = {d["index"]: d for d in interpreter.get_output_details()}
    shape: list[tuple[int, ...]] = [()]

    def run(pixels: np.ndarray) -> dict[str, np.ndarray]:
        x = np.asarray(pixels, dtype=np.float32)[None]
        if x.shape != shape[0]:
            interpreter.resize_tensor_input(source["index"], list(x.shape))
            interpreter.allocate_tensors()
            shape[0] = x.shape
        interpreter.set_tensor(source["index"], _to_input(x, source))
        interpreter.invoke()
        return {name: _from_output(interpreter.get_tensor(index), details[index])[0] for name, index in names.items()}

    return run


def output_names(interpreter: Any, model_path: Path) -> dict[str, int]:
    """Output name -> tensor index: the outputs are in :func:`~studio.core.export.targets.pixels.output_order`
    of the names metadata.json lists beside the model (without it: the first output is the probabilities)."""
    import json

    from studio.core.export.bundle_folder import METADATA
    from studio.core.export.targets.pixels import output_order

    # The interpreter lists outputs in the model's order; its tensor names (Identity, Identity_1, ...) say it.
    details = sorted(interpreter.get_output_details(), key=lambda d: _identity_number(d["name"]))
    indices = [d["index"] for d in details]
    names: list[str] = [OUTPUT_NAME]
    meta = model_path.parent.parent / METADATA
    try:
        listed = json.loads(meta.read_text(encoding="utf-8")).get("outputs")
        if isinstance(listed, dict) and len(listed) == len(indices):
            names = output_order(listed)
    except (OSError, ValueError):
        pass
    return dict(zip(names, indices))


def _identity_number(name: str) -> int:
    tail = name.rsplit("Identity", 1)[-1].lstrip("_").split(":")[0]
    return int(tail) if tail.isdigit() else 0


def _to_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return x
    scale, zero = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def _from_output(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return y
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * scale
