"""Data warnings and architecture cards: plain words from counts and scores, and the recommended setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.project.data_warnings import data_warnings, result_warnings, score_uncertainty, wilson_interval
from studio.core.project.demo import create_demo_project
from studio.core.resolve.recommend import BEST_SMALL, SMALL_DATA_ARCH, recommend
from studio.core.specs import AUGMENT_PRESETS, DEFAULT_AUGMENT, flip_warning
from studio.core.training import architectures
from studio.core.training.architectures import PRETRAINED


def _counts(**classes: tuple[int, int, int]) -> dict:
    return {name: {"train": t, "val": v, "test": s} for name, (t, v, s) in classes.items()}


def test_wilson_interval_is_wide_on_few_images_and_narrow_on_many() -> None:
    lo, hi = wilson_interval(0.5, 2)
    assert lo < 0.1 and hi > 0.9
    lo, hi = wilson_interval(0.9, 1000)
    assert 0.87 < lo < 0.9 < hi < 0.92
    assert wilson_interval(1.0, 10)[1] == 1.0 and wilson_interval(0.0, 10)[0] == 0.0
    assert "between 0.64 and 0.95" in score_uncertainty(0.85, 20)


def test_tiny_data_gets_every_warning() -> None:
    kinds = {w.kind for w in data_warnings(_counts(a=(4, 0, 1), b=(20, 3, 1)))}
    assert kinds == {"few_images", "no_split_images", "small_test", "imbalance"}
    warning = next(w for w in data_warnings(_counts(a=(4, 1, 1), b=(20, 3, 1))) if w.kind == "few_images")
    assert "“a” (4)" in warning.text and "b" not in warning.text.split(":")[0]


def test_healthy_data_and_one_class() -> None:
    assert data_warnings(_counts(a=(60, 10, 30), b=(55, 10, 30), c=(70, 12, 30))) == []
    assert [w.kind for w in data_warnings({**_counts(a=(60, 10, 30)), None: {"train": 5}})] == ["few_classes"]


def test_result_warnings_explain_a_shaky_score() -> None:
    warnings = result_warnings(1.0, 0.5, 4, {"0": 2, "1": 2})
    assert [w.kind for w in warnings] == ["small_test", "val_above_test", "few_images"]
    assert "between" in warnings[0].text
    assert result_warnings(0.95, 0.94, 400, {"0": 200, "1": 200}) == []


def test_every_registered_architecture_has_a_plain_card() -> None:
    shown = [c.name for c in architectures.all_architectures()]
    assert sorted(shown) == sorted(architectures.names())
    for c in architectures.all_architectures():
        assert c.title and c.summary and c.description and "_" not in c.title
    assert shown[0] == (PRETRAINED if PRETRAINED in architectures.names() else BEST_SMALL)


def test_recommendation_follows_the_data(tmp_path: Path) -> None:
    project, _ = create_demo_project(tmp_path / "demo", limit=60)
    rec = recommend(project)  # 60 images: too few for the compact net's batch normalisation to settle
    assert rec.arch == (PRETRAINED if PRETRAINED in architectures.names() else SMALL_DATA_ARCH)
    assert rec.patience > 0 and rec.reasons
    if rec.arch != PRETRAINED:
        assert rec.color == "gray" and rec.augment and rec.epochs == architectures.get(rec.arch).epoch_budget(True)
    project.close()


@pytest.mark.parametrize("name", list(AUGMENT_PRESETS))
def test_flip_warning_only_for_flipping_presets(name: str) -> None:
    spec = AUGMENT_PRESETS[name]
    assert (flip_warning(spec) is not None) == (spec.horizontal_flip or spec.vertical_flip)
    assert flip_warning(AUGMENT_PRESETS[DEFAULT_AUGMENT]) is None
