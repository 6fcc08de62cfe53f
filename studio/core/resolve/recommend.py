"""The setting the studio recommends for a project's data: which architecture, and whether to augment.

Everything else (epochs, early stopping, input size, colour) is what :func:`studio.core.resolve.train.resolve_train`
decides for that choice, so a recommended run and ``edge-studio train --arch A [--augment]`` are the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studio.core.resolve.train import TrainChoices, TrainPlan, resolve_train
from studio.core.training import architectures
from studio.core.training.architectures import PRETRAINED, Architecture

if TYPE_CHECKING:
    from studio.core.project.store import Project

BEST_SMALL = "compact"    # best test macro F1 of the from-scratch models on the demo (README table)
AUGMENT_BELOW = 300       # training images per class below which varying them helps (bench/augment_default.py)
# Below this many training images the compact net's batch normalisation has too few steps to settle (seen: a
# 12-class, 48-image project stayed at validation accuracy 0 for 6 epochs); the plain CNN learns at once.
SMALL_DATA = 300
SMALL_DATA_ARCH = "cnn"


@dataclass(frozen=True)
class Recommendation:
    arch: str
    augment: bool
    plan: TrainPlan
    reasons: tuple[str, ...] = field(default=())

    @property
    def card(self) -> Architecture:
        return architectures.get(self.arch)

    @property
    def epochs(self) -> int:
        return self.plan.config.epochs

    @property
    def patience(self) -> int:
        return self.plan.config.early_stopping_patience

    @property
    def image_size(self) -> int:
        return self.plan.config.preprocess.image_size

    @property
    def color(self) -> str:
        return self.plan.config.preprocess.color


def recommend(project: Project) -> Recommendation:
    """The pretrained model when it is registered, else the best small one; augmentation while classes are
    small (and the architecture wants it); the rest resolved as for any run."""
    per_class: dict[str, int] = {}
    for im in project.images(split="train"):
        if im.label is not None:
            per_class[im.label] = per_class.get(im.label, 0) + 1
    if PRETRAINED in architectures.names():
        name = PRETRAINED
    else:
        name = BEST_SMALL if sum(per_class.values()) >= SMALL_DATA else SMALL_DATA_ARCH
    arch = architectures.get(name)
    smallest = min(per_class.values()) if per_class else 0
    augment = arch.augments_small_data and smallest < AUGMENT_BELOW
    plan = resolve_train(project, TrainChoices(arch=name, augment=augment))
    reasons = [f"{arch.title}: {arch.good_for}." if arch.good_for else arch.title]
    reasons += list(plan.reasons[:-1])
    if augment:
        reasons.append(f"Varied training images (small shifts, zoom and lighting), because the smallest class has "
                       f"only {smallest} training images.")
    reasons.append(plan.reasons[-1])
    return Recommendation(name, augment, plan, tuple(reasons))
