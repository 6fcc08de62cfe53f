"""Plain dataclasses describing preprocessing, augmentation, training and export, with JSON round-trip.

They are stored with every run (``runs/<id>/config.json``) and with the project (the Augment page's
settings), so a run can always be reproduced and exported exactly as it was trained.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

COLOR_MODES = ("gray", "rgb")


class SpecError(ValueError):
    """An invalid setting; the message names the field and the allowed range."""


@dataclass(frozen=True)
class Range:
    """The allowed values of one spec field, declared once: the spec checks it, widgets take their limits
    from it (``ui_low``/``ui_high`` when the useful range of a control is narrower than the valid one)."""

    low: float
    high: float
    unit: str = ""
    open_low: bool = False
    open_high: bool = False
    ui_low: float | None = None
    ui_high: float | None = None

    def contains(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def check(self, name: str, value: float) -> None:
        if not self.contains(value):
            raise SpecError(f"{name} must be {self.text()}")

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.open_low or self.open_high:
            return f"{'>' if self.open_low else '>='} {self.low:g} and {'<' if self.open_high else '<='} " \
                   f"{self.high:g}{unit}"
        return f"between {self.low:g} and {self.high:g}{unit}"

    @property
    def widget_low(self) -> float:
        return self.low if self.ui_low is None else self.ui_low

    @property
    def widget_high(self) -> float:
        return self.high if self.ui_high is None else self.ui_high


PREPROCESS_RANGES = {"image_size": Range(8, 512, "pixels")}
AUGMENT_RANGES = {
    "rotation": Range(0, 180, "degrees"),
    "width_shift": Range(0, 1),
    "height_shift": Range(0, 1),
    "shear": Range(0, 60, "degrees"),
    "zoom": Range(0.1, 4.0),          # both ends of the (min, max) scale range
    "brightness": Range(0, 1),
    "contrast": Range(0, 1),
}
TRAIN_RANGES = {
    "epochs": Range(1, 10_000),
    "batch_size": Range(1, 4096),
    "learning_rate": Range(0, 10, open_low=True, open_high=True, ui_low=1e-5, ui_high=1.0),
    "early_stopping_patience": Range(0, 10_000),
}


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise SpecError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            value = data[f.name]
            if isinstance(value, list):
                value = tuple(value)
            if f.name == "preprocess" and isinstance(value, dict):
                value = PreprocessSpec.from_dict(value)
            elif f.name == "augment" and isinstance(value, dict):
                value = AugmentSpec.from_dict(value)
            kwargs[f.name] = value
    return cls(**kwargs)


class _JsonMixin:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return _from_dict(cls, data)

    @classmethod
    def from_json(cls: type[T], text: str) -> T:
        return _from_dict(cls, json.loads(text))


@dataclass(frozen=True)
class PreprocessSpec(_JsonMixin):
    """How a decoded RGB uint8 image becomes the model's input tensor.

    resize to ``image_size`` x ``image_size`` (bilinear, no aspect crop) -> gray (ITU-R 601 luma) or RGB ->
    float32 scaled to [0, 1]. The same definition runs in training, evaluation, the augmentation preview,
    prediction and, baked into the graph, in the exported web model.
    """

    image_size: int = 32
    color: str = "gray"

    def __post_init__(self) -> None:
        PREPROCESS_RANGES["image_size"].check("image_size", int(self.image_size))
        if self.color not in COLOR_MODES:
            raise SpecError(f"color must be one of {COLOR_MODES}")

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.image_size, self.image_size, self.channels)


@dataclass(frozen=True)
class AugmentSpec(_JsonMixin):
    """Random transforms applied to training images only. Every one is off by default."""

    rotation: float = 0.0            # degrees, +/-
    width_shift: float = 0.0         # fraction of width, +/-
    height_shift: float = 0.0        # fraction of height, +/-
    shear: float = 0.0               # degrees, +/-
    zoom: tuple[float, float] = (1.0, 1.0)  # scale range (min, max)
    horizontal_flip: bool = False
    vertical_flip: bool = False
    brightness: float = 0.0          # +/- fraction of full range added
    contrast: float = 0.0            # +/- fraction of contrast change

    def __post_init__(self) -> None:
        for name, allowed in AUGMENT_RANGES.items():
            if name != "zoom":
                allowed.check(name, getattr(self, name))
        lo, hi = self.zoom
        zoom = AUGMENT_RANGES["zoom"]
        if not (zoom.contains(lo) and zoom.contains(hi) and lo <= hi):
            raise SpecError(f"zoom must be a range min <= max within {zoom.low:g}..{zoom.high:g}")

    @property
    def enabled(self) -> bool:
        return self != AugmentSpec()


AUGMENT_PRESETS: dict[str, AugmentSpec] = {
    "None": AugmentSpec(),
    # Small moves only, no flips: safe for digits, letters and photos alike (see DEFAULT_AUGMENT).
    "Gentle": AugmentSpec(rotation=8, width_shift=0.08, height_shift=0.08, zoom=(0.92, 1.08), brightness=0.1,
                          contrast=0.1),
    "Light": AugmentSpec(rotation=10, width_shift=0.1, height_shift=0.1, zoom=(0.9, 1.1), brightness=0.1,
                         contrast=0.1),
    # The pipeline this product comes from (Keras ImageDataGenerator settings of the original notebook).
    "Original pipeline": AugmentSpec(rotation=30, width_shift=0.2, height_shift=0.2, shear=15, zoom=(0.7, 1.4),
                                     horizontal_flip=True, vertical_flip=True),
}

# What "with augmentation" (GUI) and `train --augment` (CLI) use when the user chose nothing. Measured by
# bench/augment_default.py (test accuracy on the digits demo and on a photo set; README has the table).
DEFAULT_AUGMENT = "Gentle"

# Plain words for each preset, shown in the studio; the keys above stay the names scripts use.
AUGMENT_PRESET_TITLES: dict[str, str] = {
    "None": "No changes",
    "Gentle": "Small shifts, zoom and lighting (recommended)",
    "Light": "A little more movement and lighting",
    "Original pipeline": "Strong: turns, slants and mirror flips (original notebook)",
}

DEFAULT_EPOCHS = 10
DEFAULT_PATIENCE = 5          # early stopping: epochs without a better validation score
# Augmented images are harder to fit: the budget grows, early stopping ends it. The rule itself is
# Architecture.epoch_budget (studio/core/training/architectures.py); an architecture may bring its own factor.
AUGMENTED_EPOCH_FACTOR = 2


def flip_warning(spec: AugmentSpec) -> str | None:
    """A plain warning when the spec mirrors images (a flipped 2, b or arrow means something else)."""
    if not (spec.horizontal_flip or spec.vertical_flip):
        return None
    return ("Mirror flips are on: a flipped image must still belong to its class. Turn them off for digits, "
            "letters, arrows or anything with a left and right.")


@dataclass(frozen=True)
class TrainConfig(_JsonMixin):
    """One training run. Its field defaults are the training defaults of the CLI, the window and the job
    protocol (the one definition)."""

    arch: str = "cnn"
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    use_augment: bool = False
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 32
    learning_rate: float = 1e-3
    early_stopping_patience: int = 0   # 0 = off
    class_weights: bool = False
    seed: int = 0
    fine_tune: bool = False            # pretrained only: then unfreeze the backbone's last blocks

    def __post_init__(self) -> None:
        for name, allowed in TRAIN_RANGES.items():
            allowed.check(name, getattr(self, name))


# Share of known images the page still answers; below the known score that keeps them it says "Not one of".
DEFAULT_KEEP_KNOWN = 0.95


@dataclass(frozen=True)
class ExportOptions(_JsonMixin):
    """One export's options. ``quantization`` is checked against the chosen target's own list at export
    (:mod:`studio.core.export.targets`: each target declares its quantizations and its default)."""

    quantization: str = "none"
    zip: bool = False
    force: bool = False
    title: str | None = None
    # The page answers "not sure" below this top probability; None = derived from the validation split.
    unsure_threshold: float | None = None
    # Share of known images the page still answers (the known-vs-unknown threshold); None = the project's choice.
    keep_known: float | None = None

    def __post_init__(self) -> None:
        if not self.quantization or not isinstance(self.quantization, str):
            raise SpecError("quantization must be a name, e.g. none")
        if self.keep_known is not None and not 0.5 <= self.keep_known <= 1.0:
            raise SpecError("keep_known must be between 0.5 and 1")
        if self.unsure_threshold is not None and not 0.0 <= self.unsure_threshold <= 1.0:
            raise SpecError("unsure_threshold must be between 0 and 1")
