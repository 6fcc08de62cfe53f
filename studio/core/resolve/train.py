"""Training jobs: the user's choices over the architecture's and the project's defaults -> one TrainConfig."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from studio.core.project import settings
from studio.core.specs import DEFAULT_PATIENCE, AugmentSpec, PreprocessSpec, SpecError, TrainConfig
from studio.core.training import architectures

if TYPE_CHECKING:
    from studio.core.project.store import Project

DEFAULT_ARCH = TrainConfig().arch  # what `train` trains without --arch


@dataclass(frozen=True)
class TrainChoices:
    """What the user said; None (or False) = not said, the resolver decides."""

    arch: str = DEFAULT_ARCH
    augment: bool = False
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    patience: int | None = None
    image_size: int | None = None
    color: str | None = None
    class_weights: bool = False
    seed: int | None = None
    fine_tune: bool = False


@dataclass(frozen=True)
class TrainPlan:
    config: TrainConfig
    augment_note: str                      # where the augmentation came from, in words
    reasons: tuple[str, ...] = field(default=())  # why each default, in words (the window shows them)


def resolve_train(project: Project, choices: TrainChoices) -> TrainPlan:
    """The run's config: explicit choices over the architecture's defaults over the project's settings over the
    images. Raises :class:`SpecError` for an unknown architecture or a value out of range."""
    try:
        arch = architectures.get(choices.arch)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    saved = settings.load(project)
    saved_pre = project.get_setting(settings.PREPROCESS_KEY) or {}
    size = choices.image_size or arch.image_size or saved.preprocess.image_size
    chosen_color = choices.color or saved_pre.get("color") or arch.color
    color = chosen_color or image_color(project)
    pre = PreprocessSpec(image_size=int(size), color=color)
    augment, note = settings.training_augment(saved) if choices.augment else (AugmentSpec(), "no augmentation")
    budget = arch.epoch_budget(choices.augment)
    patience = DEFAULT_PATIENCE if choices.augment or arch.own_budget() else TrainConfig().early_stopping_patience
    given = {"batch_size": choices.batch_size, "learning_rate": choices.learning_rate, "seed": choices.seed}
    config = replace(TrainConfig(), arch=arch.name, preprocess=pre, augment=augment, use_augment=choices.augment,
                     epochs=choices.epochs or budget,
                     early_stopping_patience=patience if choices.patience is None else choices.patience,
                     class_weights=choices.class_weights, fine_tune=choices.fine_tune,
                     **{k: v for k, v in given.items() if v is not None})
    return TrainPlan(config, note, _reasons(arch, config, color_from_images=not chosen_color))


def image_color(project: Project) -> str:
    """"rgb" when any labelled image has colour, else "gray" (a colourless project trains smaller models)."""
    return "rgb" if any(im.channels >= 3 for im in project.images() if im.label is not None) else "gray"


def _reasons(arch: architectures.Architecture, config: TrainConfig, color_from_images: bool) -> tuple[str, ...]:
    pre = config.preprocess
    reasons = []
    if color_from_images:
        reasons.append("Colour, because your images have colour." if pre.color == "rgb" else
                       "Grayscale, because your images have no colour.")
    if arch.cached_features:
        reasons.append(f"{config.epochs} quick passes over the pictures' pretrained features (seconds, not "
                       f"minutes).")
    else:
        reasons.append(f"Up to {config.epochs} epochs; training stops early when validation stops improving."
                       if config.early_stopping_patience else f"{config.epochs} epochs.")
    return tuple(reasons)
