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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from studio.core.project.store import Project, ProjectError, RunRecord
from studio.core.specs import DEFAULT_KEEP_KNOWN

if TYPE_CHECKING:  # NumPy loads when a rule is computed, not with the Export page
    import numpy as np

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
    import numpy as np

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
    import numpy as np

    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    keep = conf >= threshold
    return UnsureThreshold(threshold=threshold, source=source, n_validation=int(conf.size),
                           kept=float(keep.mean()) if conf.size else 1.0,
                           kept_accuracy=float(ok[keep].mean()) if keep.any() else None)


def validation_confidences(project: Project, run: RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """(top probability, right or wrong) of the run's model on every labelled validation image."""
    import numpy as np

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


# ----- open world: "not one of the classes", from the known-vs-unknown score ---------------------------------
NEVER_UNSURE = -1e30  # below every score
DEFAULT_KEEP = DEFAULT_KEEP_KNOWN  # share of known images the page still answers (the user can change it)


@dataclass(frozen=True)
class KnownThreshold:
    """Below ``threshold`` of the model's ``known_score`` the page says "Not one of: ..."."""

    threshold: float
    keep: float                       # the share of known images asked to be kept
    n_validation: int = 0
    n_training: int = 0               # leave-one-out training scores pooled with the validation ones
    kept_validation: float | None = None
    others: int = 0                   # the project's "other things" images measured
    others_refused: float | None = None  # share of those refused at the threshold

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 4)
        return {"threshold": round(self.threshold, 6), "keep": self.keep, "n_validation": self.n_validation,
                "n_training": self.n_training, "kept_validation": r(self.kept_validation),
                "others": self.others, "others_refused": r(self.others_refused)}


def check_keep(value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.5 <= value <= 1.0):
        raise ProjectError(f"the share of known images to keep must be between 0.5 and 1 (got {value!r})")
    return float(value)


def calibrate_score(validation: Sequence[float], training_loo: Sequence[float], keep: float = DEFAULT_KEEP,
                    others: Sequence[float] = ()) -> KnownThreshold:
    """The threshold that keeps ``keep`` of the known images: the lower quantile of the validation scores and
    of the leave-one-out training scores, whichever is lower (the training images fit the model better than
    unseen ones; the validation split alone is a handful of images). Never the test split.

    The quantile is ``1 - keep`` less one standard error of a share measured on that many images
    (:func:`refused_level`): a threshold set exactly at the validation quantile keeps ``keep`` of the
    validation images but, by chance, less of the next ones about half of the time (the demo's digits models
    answered 93-95 % of the test pictures at 95 %); the margin makes "keeps 95 %" hold for new pictures."""
    import numpy as np

    keep = check_keep(keep)
    val = np.asarray(validation, np.float64)
    loo = np.asarray(training_loo, np.float64)
    pools = [p for p in (val, loo) if p.size]
    if not pools or keep >= 1.0:
        threshold = NEVER_UNSURE
    else:
        threshold = min(float(np.quantile(p, refused_level(keep, p.size), method="lower")) for p in pools)
    other = np.asarray(others, np.float64)
    return KnownThreshold(threshold=threshold, keep=keep, n_validation=int(val.size), n_training=int(loo.size),
                          kept_validation=float(np.mean(val >= threshold)) if val.size else None,
                          others=int(other.size),
                          others_refused=float(np.mean(other < threshold)) if other.size else None)


def refused_level(keep: float, n: int) -> float:
    """The share of ``n`` calibration scores to put below the threshold: ``1 - keep`` less one standard error
    (``sqrt(keep (1 - keep) / n)``), never below 0."""
    refused = 1.0 - keep
    return max(0.0, refused - math.sqrt(keep * refused / n)) if n else refused


KNOWN_KEEP_CAP = 0.99
KEEP_SETTING = "open_world_keep"  # the project's chosen share of known images kept (the Export page's control)


def project_keep(project: Project) -> float:
    """The share of known images the project keeps (its saved choice, else :data:`DEFAULT_KEEP`)."""
    value = project.get_setting(KEEP_SETTING)
    try:
        return check_keep(value) if value is not None else DEFAULT_KEEP
    except ProjectError:
        return DEFAULT_KEEP  # a damaged setting falls back to the default


def save_keep(project: Project, keep: float) -> None:
    project.set_setting(KEEP_SETTING, check_keep(keep))


@dataclass(frozen=True)
class UnsureRule:
    """The page's whole decision: "Not one of: ..." below ``known.threshold`` of known_score, else "not sure"
    below ``probability.threshold`` of the top probability, else the class. ``predict`` applies the same."""

    known: KnownThreshold
    probability: UnsureThreshold

    def not_a_class(self, known_score: float) -> bool:
        return known_score < self.known.threshold

    def unsure(self, prediction: dict[str, Any]) -> bool:
        return (self.not_a_class(prediction["known_score"])
                or max(prediction["probabilities"].values()) < self.probability.threshold)

    def to_json(self) -> dict[str, Any]:
        return {**self.probability.to_json(), "known_score": self.known.to_json()}


def calibrate(project: Project, run: RunRecord, keep: float | None = None,
              probability_threshold: float | None = None, model: Any = None) -> UnsureRule:
    """The one function that decides a run's "unsure" rule (export, predict, the studio): the top probability
    rule (as :func:`choose`), and the known-score threshold such that the whole decision answers ``keep`` of
    the validation images (None = the project's choice), calibrated on the validation split and the training
    images' own scores, never the test split; measured on the project's "other things" images. One pass of the
    model over the validation images serves both. ``model``: the run's scored model when the caller has it."""
    import numpy as np

    from studio.core.evaluation import open_world
    from studio.core.evaluation.predict import predict_files

    keep = project_keep(project) if keep is None else check_keep(keep)
    model = model or open_world.scored_model(project, run)
    paths, classes, names = project.labelled_split(VALIDATION_SPLIT, project.run_folder(run).labels())
    predictions = predict_files(project, run, paths, model=model)
    confidences = np.array([max(p["probabilities"].values()) for p in predictions])
    correct = np.array([p["label"] == names[c] for p, c in zip(predictions, classes)])
    if probability_threshold == 0:
        probability = UnsureThreshold(threshold=0.0, source="user")
    elif probability_threshold is not None:
        probability = measure(check_threshold(probability_threshold), confidences, correct, "user")
    elif confidences.size == 0:
        probability = UnsureThreshold(threshold=0.0, source="no-validation-images")
    else:
        probability = measure(threshold_from(confidences, correct), confidences, correct, "validation")
    # "Answer S of the pictures of the classes" is the whole decision: the known score keeps S of what the
    # probability rule answers, at most KNOWN_KEEP_CAP of it (so it always turns away the unlike tail).
    answered = confidences >= probability.threshold
    share = float(answered.mean()) if answered.size else 1.0
    known_keep = keep if keep >= 1.0 else min(KNOWN_KEEP_CAP, max(keep, keep / share if share else keep))
    scores = np.array([p["known_score"] for p in predictions])
    others = _other_scores(project, run, model)
    known = calibrate_score(scores[answered], open_world.constants(project, run).train_scores, known_keep, others)
    known = replace(known, keep=keep, n_validation=int(scores.size),
                    kept_validation=float(np.mean(answered & (scores >= known.threshold))) if scores.size else None)
    return UnsureRule(known=known, probability=probability)


def _other_scores(project: Project, run: RunRecord, model: Any) -> list[float]:
    from studio.core.evaluation.predict import predict_files
    from studio.core.project import others

    paths = others.paths(project)
    return [p["known_score"] for p in predict_files(project, run, paths, model=model)] if paths else []


def test_figures(project: Project, run: RunRecord, keep: float | None = None) -> dict[str, Any]:
    """What the calibrated rule does on the test split (measured there, never chosen there): the share of
    test pictures answered, the accuracy of those, and the "other things" refused."""
    from studio.core.evaluation import open_world
    from studio.core.evaluation.predict import predict_files

    model = open_world.scored_model(project, run)  # loaded once for the rule and the test pictures
    rule = calibrate(project, run, keep, model=model)
    paths, classes, names = project.labelled_split("test", project.run_folder(run).labels())
    predictions = predict_files(project, run, paths, model=model) if paths else []
    answered = [p["label"] == names[c] for p, c in zip(predictions, classes) if not rule.unsure(p)]
    return {"keep": rule.known.keep, "known_threshold": rule.known.threshold, "n_test": len(predictions),
            "answered": len(answered) / len(predictions) if predictions else None,
            "answered_accuracy": sum(answered) / len(answered) if answered else None,
            "others": rule.known.others, "others_refused": rule.known.others_refused}
