"""Data health on synthetic feature vectors (no backbone): mislabels, leaks, outliers, suggestions, cache."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.events import CancelToken, HealthProgress
from studio.core.health.check import HealthCancelled, HealthInput, analyse

K, D = 6, 256


def clusters(n: int, seed: int = 0, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, true labels, centres): ReLU'd Gaussian clusters, like pooled CNN features."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(K, D)) * 2.0
    y = np.arange(n) % K
    x = np.maximum(centres[y] + spread * rng.normal(size=(n, D)) * 2.5, 0).astype(np.float32)
    return x, y, centres


def splits_for(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).choice(["train", "val", "test"], n, p=[0.7, 0.15, 0.15])


def run(x, labels, splits, **kw):  # noqa: ANN001, ANN201
    names = tuple(f"c{k}" for k in range(K))
    return analyse(HealthInput(np.arange(len(x)) + 100, x, labels, splits, names),
                   near_duplicate_threshold=kw.pop("threshold", 0.95), **kw)


def test_flipped_labels_rank_first_with_the_true_class_suggested():
    x, y, _ = clusters(600)
    rng = np.random.default_rng(3)
    flipped = rng.choice(len(y), 30, replace=False)
    labels = y.copy()
    labels[flipped] = (labels[flipped] + rng.integers(1, K, 30)) % K
    report = run(x, labels, splits_for(len(y)))
    ranked = [m.id - 100 for m in report.mislabels]
    caught = set(ranked[:60]) & set(flipped.tolist())
    precision = len(set(ranked) & set(flipped.tolist())) / max(1, len(ranked))
    print(f"recall in first 2x: {len(caught) / 30:.2f}, precision of the list: {precision:.2f}")
    assert len(caught) >= 24
    right = [m for m in report.mislabels if m.id - 100 in caught and m.suggested == f"c{y[m.id - 100]}"]
    assert len(right) >= 0.9 * len(caught)
    for m in report.mislabels:
        assert m.label == f"c{labels[m.id - 100]}" and m.suggested != m.label and m.reason
        assert ("check it yourself" in m.reason) == (m.split == "test") == m.needs_review


def test_test_labels_train_nothing():
    """Changing test labels flags no new train/val image (test labels never fit a head; they only enter
    cleanlab's per-class thresholds, with the other labels)."""
    x, y, _ = clusters(300)
    splits = splits_for(len(y))
    labels = y.copy()
    a = run(x, labels, splits)
    test_rows = np.flatnonzero(splits == "test")
    labels[test_rows[:5]] = (labels[test_rows[:5]] + 1) % K
    b = run(x, labels, splits)
    moved = {int(i) + 100 for i in test_rows[:5]}
    assert {m.id for m in b.mislabels} - moved <= {m.id for m in a.mislabels}
    assert len(moved & {m.id for m in b.mislabels}) >= 4  # and they are caught


def test_near_copies_across_splits_are_leaks_and_distinct_images_are_not():
    x, y, _ = clusters(300)
    rng = np.random.default_rng(5)
    splits = splits_for(len(y))
    originals = rng.choice(len(y), 12, replace=False)
    copies = x[originals] * (1 + 0.02 * rng.normal(size=(12, D))).astype(np.float32)
    other = {"train": "test", "val": "train", "test": "train"}
    xs = np.vstack([x, copies])
    labels = np.concatenate([y, y[originals]])
    split_all = np.concatenate([splits, [other[s] for s in splits[originals]]])
    report = run(xs, labels, split_all)
    pairs = {frozenset((d.a - 100, d.b - 100)) for d in report.leaks}  # (the copy to keep, the other)
    for k, o in enumerate(originals):
        assert frozenset((int(o), len(y) + k)) in pairs
    assert len(report.duplicates) == 12 and len(report.duplicate_groups) == 12
    assert all(d.split_a != d.split_b and "flattered" in d.reason for d in report.leaks)


def test_outliers_are_the_images_unlike_any_class():
    x, y, _ = clusters(300)
    rng = np.random.default_rng(9)
    # Pictures of something else: they light up a few other feature channels, nothing the classes use.
    strange = np.zeros((3, D), dtype=np.float32)
    for k in range(3):
        strange[k, rng.choice(D, 12, replace=False)] = 20.0
    report = run(np.vstack([x, strange]), np.concatenate([y, [0, 1, 2]]), np.array(["train"] * 303))
    assert {o.id - 100 for o in report.outliers} >= {300, 301, 302}
    assert len(report.outliers) <= 6


def test_suggestions_and_the_label_next_queue():
    x, y, centres = clusters(400)
    labels = y.copy()
    unlabelled = np.arange(0, 400, 10)
    labels[unlabelled] = -1
    # Two images halfway between two classes: the head cannot tell, so they come first in the queue.
    mid = np.maximum((centres[[0, 2]] + centres[[1, 3]]) / 2, 0).astype(np.float32)
    xs = np.vstack([x, mid])
    report = run(xs, np.concatenate([labels, [-1, -1]]), np.array(["train"] * 402))
    by_id = {s.id - 100: s for s in report.suggestions}
    assert set(by_id) == set(unlabelled.tolist()) | {400, 401}
    right = sum(by_id[int(i)].suggested == f"c{y[i]}" for i in unlabelled)
    assert right >= 0.9 * len(unlabelled)
    assert {s.id - 100 for s in report.label_next[:4]} >= {400, 401}
    assert [s.uncertainty for s in report.label_next] == sorted((s.uncertainty for s in report.label_next),
                                                                reverse=True)


def test_tiny_and_imbalanced_classes_are_named():
    x, y, _ = clusters(600)
    keep = (y != 5) | (np.arange(600) < 30)  # class c5 keeps a handful
    report = run(x[keep], y[keep], np.array(["train"] * int(keep.sum())))
    text = " ".join(report.warnings)
    assert "'c5' has only" in text and "imbalanced" in text and "no test image" in text
    assert {c.name: c.train for c in report.classes}["c5"] == 5


def test_progress_and_cancel():
    x, y, _ = clusters(200)
    seen = []
    run(x, y, splits_for(200), reporter=seen.append)
    assert {e.stage for e in seen} >= {"labels", "duplicates", "outliers"}
    assert all(isinstance(e, HealthProgress) and 0 <= e.done <= e.total for e in seen)
    cancel = CancelToken()

    def cancel_on_first(event):  # noqa: ANN001
        cancel.cancel()

    with pytest.raises(HealthCancelled):
        run(x, y, splits_for(200), reporter=cancel_on_first, cancel=cancel)


def test_report_json_round_trip():
    from studio.core.health.report import HealthReport

    x, y, _ = clusters(200)
    labels = y.copy()
    labels[:3] = (labels[:3] + 1) % K
    labels[-4:] = -1
    report = run(x, labels, splits_for(200))
    data = report.to_json()
    assert set(data) >= {"mislabels", "duplicates", "leaks", "outliers", "suggestions", "label_next", "classes"}
    assert HealthReport.from_json(data) == report
