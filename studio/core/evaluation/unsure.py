"""The exported page's "unsure" answer: below a confidence threshold it says it is not sure instead of
naming a class.

The default threshold comes from the run's validation split (never the test split, whose accuracy the
bundle reports): it is the confidence below which the model's answers are more often wrong than right. In
numbers: among the thresholds at the observed top probabilities, the one that maximises (right answers
kept) - (wrong answers kept); a tie goes to the lower threshold, so nothing is refused for no gain. A
model that is right on every validation image gets 0 (never unsure): the data gives no reason for more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.project.store import Project, ProjectError, RunRecord

VALIDATION_SPLIT = "val"


@dataclass(frozen=True)
class UnsureThreshold:
    threshold: float        # 0..1; 0 = the page always names a class
    source: str             # "validation" | "user" | "no-validation-images"
    n_validation: int = 0
    kept: float = 1.0       # share of validation images the page still names at this threshold
    kept_accuracy: float | None = None  # accuracy on those

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "source": self.source, "n_validation": self.n_validation,
                "kept": round(self.kept, 4),
                "kept_accuracy": None if self.kept_accuracy is None else round(self.kept_accuracy, 4)}


def check_threshold(value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ProjectError(f"the unsure threshold must be between 0 and 1 (got {value!r})")
    return float(value)


def threshold_from(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """The rule in the module docstring, rounded down to a percent (what the Export page shows)."""
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    if conf.size == 0 or ok.all():
        return 0.0
    order = np.argsort(conf, kind="stable")
    conf, gain = conf[order], np.where(ok[order], 1, -1)
    # Keeping everything from index i upward scores sum(gain[i:]); i = len keeps nothing.
    kept_score = np.concatenate([np.cumsum(gain[::-1])[::-1], [0]])
    best = int(np.argmax(kept_score))  # argmax takes the first maximum: the lowest threshold
    if best == 0:
        return 0.0
    threshold = conf[best] if best < conf.size else 1.0
    return math.floor(float(threshold) * 100) / 100


def measure(threshold: float, confidences: Sequence[float], correct: Sequence[bool], source: str) -> UnsureThreshold:
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    keep = conf >= threshold
    return UnsureThreshold(threshold=threshold, source=source, n_validation=int(conf.size),
                           kept=float(keep.mean()) if conf.size else 1.0,
                           kept_accuracy=float(ok[keep].mean()) if keep.any() else None)


def validation_confidences(project: Project, run: RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """(top probability, right or wrong) of the run's model on every labelled validation image."""
    from studio.core.evaluation.predict import predict_files

    paths, classes, names = project.labelled_split(VALIDATION_SPLIT)
    if not paths:
        return np.zeros(0), np.zeros(0, dtype=bool)
    predictions = predict_files(project, run, paths)
    confidences = np.array([max(p["probabilities"].values()) for p in predictions])
    correct = np.array([p["label"] == names[c] for p, c in zip(predictions, classes)])
    return confidences, correct


def choose(project: Project, run: RunRecord, user_value: float | None) -> UnsureThreshold:
    """The user's threshold when given (measured on validation all the same), else the validation default."""
    if user_value == 0:
        return UnsureThreshold(threshold=0.0, source="user")  # never unsure: nothing to measure
    confidences, correct = validation_confidences(project, run)
    if user_value is not None:
        return measure(check_threshold(user_value), confidences, correct, "user")
    if confidences.size == 0:
        return UnsureThreshold(threshold=0.0, source="no-validation-images")
    return measure(threshold_from(confidences, correct), confidences, correct, "validation")
