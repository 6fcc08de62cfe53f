"""Data health on the projects that broke it: a burst of near-identical frames (thousands of copies of one
picture), single-colour frames, a project of unlabelled images only.

Copies are grouped (connected groups of confirmed near-copies) with memory linear in images and capped
lists; the 10,000-image acceptance run is ``bench/health_scale.py`` (too long for the suite).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from studio.core.health import check
from studio.core.health.check import HealthInput, analyse
from studio.core.health.dupes import DuplicatePair, confirm_by_pixels, groups, near_duplicates
from tests.hostile.conftest import BACKBONE_RSS_MB

slow = pytest.mark.slow  # the real backbone in a child process


def _burst(n: int, d: int = 256, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.random(d).astype(np.float32)
    return base + 0.001 * rng.standard_normal((n, d)).astype(np.float32)


def test_thousands_of_copies_make_one_group_with_linear_memory() -> None:
    n = 3000
    vectors = _burst(n)
    tracemalloc.start()
    pairs = near_duplicates(vectors, 0.9)
    found = groups(pairs, n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(pairs) <= 8 * n  # not n (n - 1) / 2 = 4,498,500
    assert [len(g) for g in found] == [n]
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB"


def test_separate_bursts_stay_separate_groups() -> None:
    vectors = np.vstack([_burst(50, seed=1), _burst(30, seed=2), _burst(1, seed=3)])
    found = groups(near_duplicates(vectors, 0.999), len(vectors))
    assert sorted(len(g) for g in found) == [30, 50]


def _flat(level: int, side: int) -> np.ndarray:
    return np.full((side, side + 3, 3), level, np.uint8)


def test_single_colour_copies_are_confirmed_by_their_level() -> None:
    images = [_flat(128, 20), _flat(128, 33), _flat(129, 40), _flat(30, 20)]
    pairs = [DuplicatePair(0, 1, 1.0), DuplicatePair(0, 2, 1.0), DuplicatePair(0, 3, 1.0)]
    kept = confirm_by_pixels(pairs, lambda row: images[row])
    assert [(p.a, p.b) for p in kept] == [(0, 1), (0, 2)]


def test_a_burst_of_single_colour_frames_is_one_capped_group() -> None:
    n = 1500
    rng = np.random.default_rng(0)
    data = HealthInput(ids=np.arange(1, n + 1), vectors=_burst(n),
                       labels=rng.integers(0, 2, n), splits=np.array(["train", "val", "test"] * (n // 3)),
                       class_names=("a", "b"))
    report = analyse(data, near_duplicate_threshold=0.9, pixels_of=lambda row: _flat(200, 16 + row % 7))
    assert report.notes["duplicate_groups"] == 1 and report.notes["duplicate_copies"] == n - 1
    (group,) = report.duplicate_groups
    assert group.size == n and len(group.ids) == check.GROUP_LISTED and group.leak
    assert group.splits == {"train": 500, "val": 500, "test": 500}
    assert group.keep in group.ids and data.splits[group.keep - 1] == "train"
    assert len(report.duplicates) == check.PAIRS_LISTED
    assert len(str(report.to_json())) < 2 * 2**20


def test_a_project_of_unlabelled_images_only_is_checked() -> None:
    n = 40
    data = HealthInput(ids=np.arange(n), vectors=np.random.default_rng(1).random((n, 64)).astype(np.float32),
                       labels=np.full(n, -1), splits=np.array(["train"] * n), class_names=())
    report = analyse(data, near_duplicate_threshold=0.999)
    assert report.images == n and report.labelled == 0 and not report.mislabels and not report.suggestions


@slow
def test_health_cli_on_unlabelled_frames_of_one_colour(cli, tmp_path: Path) -> None:
    import cv2

    (tmp_path / "in").mkdir()
    for i in range(40):
        cv2.imwrite(str(tmp_path / "in" / f"frame{i:02d}.png"), _flat(90, 16 + i))
    assert cli("import", tmp_path / "p", tmp_path / "in").rc == 0
    r = cli("health", tmp_path / "p", "--json", timeout=300, rss_limit_mb=BACKBONE_RSS_MB)
    assert r.rc == 0 and r.report["labelled"] == 0
    assert [g["size"] for g in r.report["duplicate_groups"]] == [40]
    text = cli("health", tmp_path / "p", timeout=300, rss_limit_mb=BACKBONE_RSS_MB)
    assert text.rc == 0 and "39 near-copies in 1 groups" in text.out
