"""Project settings owned by core: what a run trains with when the user gave nothing; ranges declared once."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.project import settings
from studio.core.project.store import Project
from studio.core.resolve.train import TrainChoices, resolve_train
from studio.core.specs import (
    AUGMENT_PRESETS,
    AUGMENT_RANGES,
    DEFAULT_AUGMENT,
    PREPROCESS_RANGES,
    TRAIN_RANGES,
    AugmentSpec,
    PreprocessSpec,
    SpecError,
    TrainConfig,
)
from studio.core.training import architectures


def train_config(project: Project, *, arch: str, use_augment: bool, early_stopping_patience: int | None = None,
                 **choices: object) -> tuple[TrainConfig, str]:
    plan = resolve_train(project, TrainChoices(arch=arch, augment=use_augment, patience=early_stopping_patience,
                                               **choices))  # type: ignore[arg-type]
    return plan.config, plan.augment_note


def test_augment_without_saved_settings_means_the_measured_default(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        config, note = train_config(project, arch="cnn", use_augment=True)
        assert config.augment == AUGMENT_PRESETS[DEFAULT_AUGMENT] and DEFAULT_AUGMENT.lower() in note
        # A larger budget that early stopping ends, unless the user chose the epochs and patience.
        assert config.epochs == architectures.get("cnn").epoch_budget(True) and config.early_stopping_patience > 0
        chosen, _ = train_config(project, arch="cnn", use_augment=True, epochs=3, early_stopping_patience=0)
        assert (chosen.epochs, chosen.early_stopping_patience) == (3, 0)
        plain, note = train_config(project, arch="cnn", use_augment=False)
        assert not plain.augment.enabled and note == "no augmentation"
        assert (plain.epochs, plain.batch_size, plain.learning_rate) == (TrainConfig().epochs, TrainConfig().batch_size,
                                                                          TrainConfig().learning_rate)


def test_saved_settings_then_explicit_choices_win(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        light = AUGMENT_PRESETS["Light"]
        settings.save(project, settings.ProjectSettings(PreprocessSpec(24, "rgb"), light))
        assert settings.load(project) == settings.ProjectSettings(PreprocessSpec(24, "rgb"), light)
        config, note = train_config(project, arch="dense", use_augment=True, image_size=40, epochs=3,
                                             seed=None)
        assert config.augment == light and "saved settings" in note
        assert config.preprocess == PreprocessSpec(40, "rgb") and config.epochs == 3 and config.seed == 0


def test_damaged_saved_settings_are_one_clear_error(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        project.set_setting(settings.AUGMENT_KEY, {"rotation": 999})
        with pytest.raises(SpecError, match="rotation must be between 0 and 180"):
            settings.load(project)
        project.set_setting(settings.AUGMENT_KEY, ["not", "a", "dict"])
        with pytest.raises(SpecError):
            settings.load(project)


@pytest.mark.parametrize("ranges, cls", [(PREPROCESS_RANGES, PreprocessSpec), (AUGMENT_RANGES, AugmentSpec),
                                         (TRAIN_RANGES, TrainConfig)])
def test_each_declared_range_is_what_the_spec_enforces(ranges: dict, cls: type) -> None:
    for name, allowed in ranges.items():
        if name == "zoom":
            cls(zoom=(allowed.low, allowed.high))
            with pytest.raises(SpecError):
                cls(zoom=(allowed.low / 2, allowed.high))
            continue
        for inside in (allowed.widget_low, allowed.widget_high):
            cls(**{name: type(getattr(cls(), name))(inside)})
        outside = allowed.high * 2 + 1
        with pytest.raises(SpecError, match=name):
            cls(**{name: type(getattr(cls(), name))(outside)})


def test_an_architecture_brings_its_epoch_budget_and_explicit_choices_win(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        config, _ = train_config(project, arch=architectures.PRETRAINED, use_augment=False)
        assert config.epochs == architectures.get(architectures.PRETRAINED).epochs > TrainConfig().epochs
        assert config.early_stopping_patience > 0  # the larger budget is ended by early stopping
        given, _ = train_config(project, arch=architectures.PRETRAINED, use_augment=False, epochs=3,
                                         early_stopping_patience=0)
        assert (given.epochs, given.early_stopping_patience) == (3, 0)
        plain, _ = train_config(project, arch="cnn", use_augment=False)
        assert (plain.epochs, plain.early_stopping_patience) == (TrainConfig().epochs, 0)
