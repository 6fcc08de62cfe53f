"""Classification report of a run on the held-out test split, and the runs comparison table.

Numbers come from scikit-learn (``classification_report``, ``confusion_matrix``) so they match what a
data scientist would compute by hand. A report is saved in the run folder (:mod:`studio.core.project.runs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from studio.core.project.store import Project, ProjectError, RunRecord
from studio.core.specs import TrainConfig

if TYPE_CHECKING:
    import keras
    import numpy as np

    from studio.core.training.data import SplitItems

EVAL_BATCH = 64


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """accuracy, macro_f1, per_class (name -> precision/recall/f1/support), macro and weighted averages and
    the confusion matrix (rows = true class, columns = predicted, in ``labels`` order)."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    ids = list(range(len(labels)))
    report = classification_report(y_true, y_pred, labels=ids, target_names=list(labels), output_dict=True,
                                   zero_division=0)

    def row(d: dict[str, float]) -> dict[str, float]:
        return {"precision": float(d["precision"]), "recall": float(d["recall"]), "f1": float(d["f1-score"]),
                "support": int(d["support"])}

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "per_class": {name: row(report[name]) for name in labels},
        "macro avg": row(report["macro avg"]),
        "weighted avg": row(report["weighted avg"]),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "labels": list(labels),
    }


def build_report(y_true: Sequence[int], probabilities: np.ndarray, labels: Sequence[str],
                 image_ids: Sequence[int], paths: Sequence[str]) -> dict[str, Any]:
    """:func:`classification_metrics` plus the misclassified images, most confident mistakes first, and the
    correctly classified ones (``correct``), least sure first (the ones nearest to a mistake)."""
    import numpy as np  # here, not at the top: the window's Train page reads compare_row at launch

    probabilities = np.asarray(probabilities)
    y_pred = probabilities.argmax(axis=1).tolist() if len(probabilities) else []
    report = classification_metrics(list(y_true), y_pred, labels)
    wrong = [
        {"image_id": int(image_ids[i]), "path": str(paths[i]), "true": labels[t], "predicted": labels[p],
         "confidence": float(probabilities[i, p])}
        for i, (t, p) in enumerate(zip(y_true, y_pred)) if t != p
    ]
    report["misclassified"] = sorted(wrong, key=lambda w: -w["confidence"])
    right = [
        {"image_id": int(image_ids[i]), "path": str(paths[i]), "true": labels[t], "predicted": labels[p],
         "confidence": float(probabilities[i, p])}
        for i, (t, p) in enumerate(zip(y_true, y_pred)) if t == p
    ]
    report["correct"] = sorted(right, key=lambda w: w["confidence"])
    report["n"] = len(y_true)
    return report


def predict_items(model: keras.Model, items: SplitItems, config: TrainConfig) -> np.ndarray:
    import numpy as np

    from studio.core.training.data import eval_dataset

    if not len(items):
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    return np.asarray(model.predict(eval_dataset(items, config.preprocess, EVAL_BATCH), verbose=0))


def evaluate_model(model: keras.Model, project: Project, labels: Sequence[str], config: TrainConfig) -> dict[str, Any]:
    """The report of ``model`` on the project's current test split (images whose label the run knows)."""
    import numpy as np

    from studio.core.training.data import check_stored, split_items, stored_image_problem

    items = split_items(project, "test", labels)
    if not len(items):
        raise ProjectError("the test split has no labelled images of this run's classes")
    check_stored(items)
    try:
        probs = predict_items(model, items, config)
    except Exception as exc:
        problem = stored_image_problem(exc)
        if problem is None:
            raise
        raise ProjectError(problem) from None
    if not np.isfinite(probs).all():
        raise ProjectError("the model gives no numbers (NaN) on the test images: its weights are damaged; "
                           "train the run again")
    return build_report(items.labels, probs, labels, items.image_ids, items.paths)


def evaluate(project: Project, run_id: str | None = None) -> dict[str, Any]:
    """Evaluate a run (default: the latest finished one) on the test split; saves ``report.json``."""
    from studio.core.evaluation.predict import load_run_model, run_labels
    from studio.core.project.runs import train_config

    run = project.resolve_run(run_id)
    model = load_run_model(project, run)
    report = evaluate_model(model, project, run_labels(project, run), train_config(run))
    report["run"] = run.id
    report["open_world"] = _open_world(project, run)
    if project.read_only:
        report["saved"] = False  # read-only media: the report is computed and shown, not stored
        return report
    save_report(project, run.id, report)
    project.update_run(run.id, metrics={"test_accuracy": report["accuracy"], "macro_f1": report["macro_f1"]})
    return report


def _open_world(project: Project, run: RunRecord) -> dict[str, Any] | None:
    """The test split at the calibrated "Not one of the classes" threshold (None when it cannot be measured)."""
    from studio.core.evaluation.unsure import test_figures

    try:
        return test_figures(project, run)
    except ProjectError:
        return None


def save_report(project: Project, run_id: str, report: dict[str, Any]) -> None:
    project.run_folder(run_id).write_report(report)


def load_report(project: Project, run_id: str) -> dict[str, Any] | None:
    return project.run_folder(run_id).report()


COMPARE_COLUMNS = ("run", "arch", "augment", "status", "params", "weight_bytes", "best_val_accuracy",
                   "test_accuracy", "macro_f1", "train_seconds", "epochs_run")


def compare_row(run: RunRecord) -> dict[str, Any]:
    m = run.metrics
    return {"run": run.id, "arch": run.arch, "augment": run.augmented, "status": str(run.status),
            "params": m.get("params"), "weight_bytes": m.get("weight_bytes"),
            "best_val_accuracy": m.get("best_val_accuracy"), "test_accuracy": m.get("test_accuracy"),
            "macro_f1": m.get("macro_f1"), "train_seconds": m.get("train_seconds"),
            "epochs_run": m.get("epochs_run"), "error": run.error}


def compare_runs(project: Project) -> list[dict[str, Any]]:
    """One row per run (oldest first): arch, augmentation, params, weight bytes, best val accuracy, test
    accuracy, macro F1, training time, status."""
    return [compare_row(r) for r in project.runs()]
