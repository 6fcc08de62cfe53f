"""Project settings: what a run trains with when the user gave nothing else (the Augment page's choices).

The window writes them (:func:`save`), the CLI and the window read them (:func:`load`); the resolver
(:mod:`studio.core.resolve.train`) turns them plus the user's explicit choices into a :class:`TrainConfig`. The
settings keys and the rule "``--augment`` with no saved augmentation means the default preset" live here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studio.core.specs import AUGMENT_PRESETS, DEFAULT_AUGMENT, AugmentSpec, PreprocessSpec, SpecError

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
