"""Project settings: what a run trains with when the user gave nothing else (the Augment page's choices).

The window writes them (:func:`save`), the CLI and the window read them (:func:`load`), and
:func:`train_config` turns them plus the user's explicit choices into a :class:`TrainConfig`. The settings keys
and the rule "``--augment`` with no saved augmentation means the default preset (a larger epoch budget that early
stopping ends)" live here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from studio.core.specs import (
    AUGMENT_PRESETS,
    DEFAULT_AUGMENT,
    DEFAULT_PATIENCE,
    AugmentSpec,
    PreprocessSpec,
    SpecError,
    TrainConfig,
    augment_epochs,
)
from studio.core.training import architectures

if TYPE_CHECKING:
    from studio.core.project.store import Project

PREPROCESS_KEY = "preprocess"
AUGMENT_KEY = "augment"
FALLBACK_AUGMENT_PRESET = DEFAULT_AUGMENT  # measured by bench/augment_default.py


@dataclass(frozen=True)
class ProjectSettings:
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)


def load(project: Project) -> ProjectSettings:
    """The saved settings (defaults for what was never saved). Damaged saved values raise :class:`SpecError`."""
    try:
        return ProjectSettings(PreprocessSpec.from_dict(project.get_setting(PREPROCESS_KEY) or {}),
                               AugmentSpec.from_dict(project.get_setting(AUGMENT_KEY) or {}))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"the project's saved settings are damaged: {exc}") from None


def save(project: Project, settings: ProjectSettings) -> None:
    project.set_setting(PREPROCESS_KEY, settings.preprocess.to_dict())
    project.set_setting(AUGMENT_KEY, settings.augment.to_dict())


def training_augment(settings: ProjectSettings) -> tuple[AugmentSpec, str]:
    """The augmentation a run "with augmentation" uses, and a note saying where it came from."""
    if settings.augment.enabled:
        return settings.augment, "augmentation: the project's saved settings"
    return AUGMENT_PRESETS[FALLBACK_AUGMENT_PRESET], f"augmentation: the {FALLBACK_AUGMENT_PRESET.lower()} preset"


def train_config(project: Project, *, arch: str, use_augment: bool, image_size: int | None = None,
                 color: str | None = None, **choices: Any) -> tuple[TrainConfig, str]:
    """The run's config: the user's explicit choices (``choices`` are :class:`TrainConfig` fields; None =
    not given) over the project's settings over the defaults; plus a note on the augmentation's source."""
    settings = load(project)
    pre = settings.preprocess
    # An architecture may bring its own input size (pretrained: the measured default) and then wants colour
    # unless the project chose gray; explicit choices always win.
    arch_size = architectures.default_image_size(arch)
    saved_color = (project.get_setting(PREPROCESS_KEY) or {}).get("color", "rgb") if arch_size else pre.color
    pre = PreprocessSpec(image_size=image_size if image_size is not None else arch_size or pre.image_size,
                         color=color or saved_color)
    augment, note = training_augment(settings) if use_augment else (AugmentSpec(), "no augmentation")
    arch_epochs = architectures.default_epochs(arch)
    base_epochs = arch_epochs or TrainConfig().epochs
    if use_augment:  # augmented images are harder to fit: a larger budget, ended by early stopping
        base_epochs = augment_epochs(base_epochs)
    if choices.get("epochs") is None and (use_augment or arch_epochs):
        choices["epochs"] = base_epochs
    if choices.get("early_stopping_patience") is None and (use_augment or arch_epochs):
        choices["early_stopping_patience"] = DEFAULT_PATIENCE
    config = replace(TrainConfig(), arch=arch, preprocess=pre, augment=augment, use_augment=bool(use_augment),
                     **{k: v for k, v in choices.items() if v is not None})
    return config, note
