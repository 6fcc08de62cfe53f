"""Acceptance of the data-health check on the demo digits with the real backbone features.

One demo project (features computed once, ~1,800 images) is copied for each test, cache included.
"""

from __future__ import annotations

import json
import shutil

import pytest

from bench.health_faults import add_leaked_copies, flip_labels
from studio.cli import main
from studio.core.health.check import cached_report, check_project
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_with_features(tmp_path_factory):
    root = tmp_path_factory.mktemp("health") / "demo"
    project, _ = create_demo_project(root)
    check_project(project)  # computes and caches the backbone features (and a first report)
    project.close()
    return root


@pytest.fixture
def demo(demo_with_features, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(demo_with_features, root)
    with Project.open(root) as project:
        yield project


def test_flipped_labels_are_found_first(demo):
    truth = flip_labels(demo, 0.05, seed=7)
    report = check_project(demo)
    ranked = [m.id for m in report.mislabels]
    first = set(ranked[: 2 * len(truth)])
    caught = first & set(truth)
    precision = len(set(ranked) & set(truth)) / max(1, len(ranked))
    recall = len(set(ranked) & set(truth)) / len(truth)
    print(f"\n{len(truth)} flipped: {len(caught)} in the first {2 * len(truth)} entries "
          f"({len(caught) / len(truth):.0%}); whole list of {len(ranked)}: precision {precision:.2f}, "
          f"recall {recall:.2f}")
    assert len(caught) >= 0.8 * len(truth)
    right = [m for m in report.mislabels if m.id in caught and m.suggested == truth[m.id]]
    assert len(right) >= 0.8 * len(caught)


def test_altered_copies_in_other_splits_are_reported_as_leaks(demo, capsys):
    pairs = add_leaked_copies(demo, 20, seed=3)
    assert main(["health", str(demo.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    found = {frozenset((d["a"], d["b"])) for d in data["leaks"]}
    planted = {frozenset(p) for p in pairs}
    false_pairs = [d for d in data["duplicates"] if frozenset((d["a"], d["b"])) not in planted]
    print(f"\nleaks found {len(found & planted)} of 20; other pairs reported: {len(false_pairs)}")
    assert planted <= found
    assert len(false_pairs) <= 2
    # The report is cached until images or labels change.
    assert cached_report(demo) is not None
    demo.set_labels([pairs[0][1]], demo.classes()[0].id)
    assert cached_report(demo) is None
