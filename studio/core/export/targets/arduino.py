"""The Arduino / microcontroller target: a sketch folder for TensorFlow Lite Micro.

``edge_classifier/`` holds ``edge_classifier.ino`` (one inference on a frame buffer, the label on the serial
monitor), ``model_data.cc/.h`` (the model as a C array), ``model_settings.h`` (input size, channels,
quantization, class count and labels, the tensor arena), ``sample_frame.h`` (one test image), the raw
``model.tflite`` (labels packed in) and ``BOARDS.md`` (flash and RAM needed vs available per board).

The model is full-integer int8 (calibrated on train images of every class) with a FIXED input of the run's
size x size RGB pixels: a board cannot resize tensors. The studio's preprocessing after the resize (gray,
divide by 255) is inside the model. The arena is measured by running the model in TensorFlow Lite Micro's
interpreter; a model that fits no board in :data:`~studio.core.export.targets.boards.BOARDS` is refused with
the largest input size (or the architecture) that would fit the smallest board.
:meth:`load_written` runs the bytes of the C array in ``model_data.cc`` with TensorFlow Lite Micro.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets import board_fit, boards, c_sources, micro
from studio.core.export.targets.base import Classifier, ExportTarget
from studio.core.export.targets.tflite import MODEL_FILE, calibration_images, convert, resize_pixels
from studio.core.export.targets.tflite_labels import with_labels
from studio.core.specs import TrainConfig

if TYPE_CHECKING:
    from studio.core.project.store import Project, RunRecord

SKETCH = "edge_classifier"
BOARDS_FILE = "BOARDS.md"
ARENA_MARGIN = 1.1   # the reserve over the measured arena, rounded up to whole kB
SAMPLE_SPLIT = "test"


class ArduinoTarget(ExportTarget):
    name: ClassVar[str] = "arduino"
    model_dir: ClassVar[str] = SKETCH
    model_format: ClassVar[str] = "tflite-micro-sketch"
    model_entry: ClassVar[str] = MODEL_FILE
    quantizations: ClassVar[tuple[str, ...]] = ("int8",)
    default_quantization: ClassVar[str] = "int8"

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.representative: list[Path] = []
        self.sample: tuple[Path, str] | None = None
        self.arch = ""
        self._notes: list[str] = []

    def prepare(self, project: Project, run: RunRecord) -> None:
        self.labels = project.run_folder(run).labels()
        self.representative = calibration_images(project, self.labels)
        self.arch = run.arch
        for split in (SAMPLE_SPLIT, "train"):
            paths, classes, names = project.labelled_split(split, self.labels)
            if paths:
                self.sample = (Path(paths[0]), names[classes[0]])
                break

    def model_bytes(self, dest: Path) -> int:
        """What goes into the board's flash: the model's bytes (the C array's text is far longer)."""
        return (dest / MODEL_FILE).stat().st_size

    def notes(self) -> list[str]:
        return list(self._notes)

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        if quantization != "int8":
            raise ExportError("a microcontroller model is full-integer int8 only (quantization int8)")
        if not self.representative:
            raise ExportError("int8 needs calibration images from the train split, and it has none")
        spec = config.preprocess
        size = int(spec.image_size)
        model = with_labels(convert(model_file, config, "int8", self.representative, size=size), self.labels)
        arena = micro.arena_bytes(model)
        need = boards.Need(model_bytes=len(model), arena_bytes=arena, frame_bytes=size * size * 3)
        fits = boards.fitting(need)
        if not fits:
            raise ExportError(refusal(need, size, self.arch or config.arch, spec.color, len(self.labels)))
        self._notes = [] if need.fits(boards.BOARDS[0]) else [
            warning(need, fits, size, self.arch or config.arch, spec.color, len(self.labels))]
        micro_model = micro.interpreter(model)
        source, target = micro_model.get_input_details(0), micro_model.get_output_details(0)
        settings = c_sources.BoardModel(
            size=size, gray=spec.color == "gray", labels=self.labels,
            input_scale=float(source["quantization_parameters"]["scales"][0]),
            input_zero_point=int(source["quantization_parameters"]["zero_points"][0]),
            output_scale=float(target["quantization_parameters"]["scales"][0]),
            output_zero_point=int(target["quantization_parameters"]["zero_points"][0]),
            arena_bytes=arena, arena_reserve=-(-int(arena * ARENA_MARGIN) // 1024) * 1024,
            ops=c_sources.model_ops(model))
        dest.mkdir(parents=True, exist_ok=True)
        (dest / MODEL_FILE).write_bytes(model)
        files = {**c_sources.model_data_files(model), c_sources.SETTINGS_H: c_sources.settings_header(settings),
                 f"{SKETCH}.ino": c_sources.sketch(SKETCH, settings),
                 c_sources.SAMPLE_FRAME_H: self._sample_header(size),
                 BOARDS_FILE: boards_page(need, settings)}
        for name, text in files.items():
            (dest / name).write_text(text, encoding="utf-8")

    def _sample_header(self, size: int) -> str:
        from studio.core.images.imaging import load_rgb

        if self.sample is None:
            return c_sources.sample_frame_header(np.zeros((size, size, 3), np.uint8), "(none)")
        path, label = self.sample
        return c_sources.sample_frame_header(board_frame(load_rgb(path), size), label)

    def load_written(self, dest: Path) -> Classifier:
        model = c_sources.array_bytes((dest / c_sources.MODEL_DATA_CC).read_text(encoding="utf-8"))
        settings = (dest / c_sources.SETTINGS_H).read_text(encoding="utf-8")
        size = _constant(settings, "kInputWidth")
        micro_model = micro.interpreter(model, arena_size=_constant(settings, "kTensorArenaSize"))
        source = micro_model.get_input_details(0)["quantization_parameters"]
        target = micro_model.get_output_details(0)["quantization_parameters"]

        def classify(pixels: np.ndarray) -> np.ndarray:
            frame = board_frame(pixels, size).astype(np.float32)
            q = np.round(frame / source["scales"][0]) + source["zero_points"][0]
            micro_model.set_input(np.clip(q, -128, 127).astype(np.int8)[None], 0)
            micro_model.invoke()
            y = np.asarray(micro_model.get_output(0))[0].astype(np.float32)
            return (y - target["zero_points"][0]) * target["scales"][0]

        return classify


def board_frame(pixels: np.ndarray, size: int) -> np.ndarray:
    """RGB pixels of any size -> the board's ``size`` x ``size`` uint8 frame (the studio's resize, rounded)."""
    return np.clip(np.round(resize_pixels(pixels, size)), 0, 255).astype(np.uint8)


def _constant(header: str, name: str) -> int:
    found = re.search(rf"\b{name} = (\d+);", header)
    if not found:
        raise ExportError(f"{c_sources.SETTINGS_H} has no {name}")
    return int(found.group(1))


def boards_page(need: boards.Need, m: c_sources.BoardModel) -> str:
    return (f"# Boards for this model\n\nInput {m.size}x{m.size} RGB, {len(m.labels)} classes, int8. "
            f"Model {need.model_bytes} bytes; tensor arena {m.arena_bytes} bytes measured by TensorFlow Lite "
            f"Micro's interpreter (the sketch reserves {m.arena_reserve}); frame buffer {need.frame_bytes} bytes.\n"
            f"Needed = model + {boards.size_text(boards.RUNTIME_FLASH)} flash, arena + frame + "
            f"{boards.size_text(boards.RUNTIME_RAM)} RAM for the runtime, the board's core and the sketch "
            "(typical sizes, not measured).\n\n" + boards.table_text(need))


def warning(need: boards.Need, fits: list[boards.Board], size: int, arch: str, color: str, n_classes: int) -> str:
    """One line: the model fits some boards, not the smallest; what would fit that one."""
    smallest = boards.BOARDS[0]
    line = (f"the model needs {boards.size_text(need.flash)} flash and {boards.size_text(need.ram)} RAM: too big for "
            f"the {smallest.name}; it fits {', '.join(b.name for b in fits)} (see {SKETCH}/{BOARDS_FILE})")
    return line + _what_fits(size, arch, color, n_classes)


def _what_fits(size: int, arch: str, color: str, n_classes: int) -> str:
    smallest = boards.BOARDS[0]
    found = board_fit.smallest_fit(arch, size, color, n_classes, smallest)
    if found is None:
        return f"; no architecture here fits the {smallest.name}"
    fit_arch, fit_size = found
    return (f"; {fit_arch} at {fit_size}x{fit_size} would fit the {smallest.name} "
            f"(train again with --arch {fit_arch} --image-size {fit_size})")


def refusal(need: boards.Need, size: int, arch: str, color: str, n_classes: int) -> str:
    """One line: what the model needs, that no board has it, and what would fit the smallest board."""
    largest = boards.BOARDS[-1]
    line = (f"the int8 model at {size}x{size} needs {boards.size_text(need.flash)} flash and "
            f"{boards.size_text(need.ram)} RAM, more than any board in the table has (the largest, {largest.name}: "
            f"{boards.size_text(largest.flash)} flash, {boards.size_text(largest.ram)} RAM)")
    return line + _what_fits(size, arch, color, n_classes)
