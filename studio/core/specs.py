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
QUANTIZATIONS = ("none", "float16", "uint8")


class SpecError(ValueError):
    """An invalid setting; the message names the field and the allowed range."""


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
        if not 8 <= int(self.image_size) <= 512:
            raise SpecError("image_size must be between 8 and 512 pixels")
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
        if not 0 <= self.rotation <= 180:
            raise SpecError("rotation must be between 0 and 180 degrees")
        for name in ("width_shift", "height_shift", "brightness", "contrast"):
            if not 0 <= getattr(self, name) <= 1:
                raise SpecError(f"{name} must be between 0 and 1")
        if not 0 <= self.shear <= 60:
            raise SpecError("shear must be between 0 and 60 degrees")
        lo, hi = self.zoom
        if not (0.1 <= lo <= hi <= 4.0):
            raise SpecError("zoom must be a range min <= max within 0.1..4.0")

    @property
    def enabled(self) -> bool:
        return self != AugmentSpec()


AUGMENT_PRESETS: dict[str, AugmentSpec] = {
    "None": AugmentSpec(),
    # The pipeline this product comes from (Keras ImageDataGenerator settings of the original notebook).
    "Original pipeline": AugmentSpec(rotation=30, width_shift=0.2, height_shift=0.2, shear=15, zoom=(0.7, 1.4),
                                     horizontal_flip=True, vertical_flip=True),
    "Light": AugmentSpec(rotation=10, width_shift=0.1, height_shift=0.1, zoom=(0.9, 1.1), brightness=0.1,
                         contrast=0.1),
}


@dataclass(frozen=True)
class TrainConfig(_JsonMixin):
    arch: str = "cnn"
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    use_augment: bool = False
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    early_stopping_patience: int = 0   # 0 = off
    class_weights: bool = False
    seed: int = 0
    fine_tune: bool = False            # pretrained only: then unfreeze the backbone's last blocks

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 10_000:
            raise SpecError("epochs must be between 1 and 10000")
        if not 1 <= self.batch_size <= 4096:
            raise SpecError("batch_size must be between 1 and 4096")
        if not 0 < self.learning_rate < 10:
            raise SpecError("learning_rate must be > 0 and < 10")
        if self.early_stopping_patience < 0:
            raise SpecError("early_stopping_patience must be >= 0")


@dataclass(frozen=True)
class ExportOptions(_JsonMixin):
    quantization: str = "none"
    zip: bool = False
    force: bool = False
    title: str | None = None

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise SpecError(f"quantization must be one of {QUANTIZATIONS}")
