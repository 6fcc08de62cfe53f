"""Plain words for people who never trained a model: one sentence that says how a run did, and a short
meaning for each expert term, shown as its tooltip. Qt-free text, used by the Evaluate and Train pages."""

from __future__ import annotations

from typing import Any

MEANINGS = {
    "Accuracy": "Share of the test photos the model got right.",
    "Precision": "Of the photos the model called this class, the share that really were this class.",
    "Recall": "Of the photos that really were this class, the share the model found.",
    "F1": "One score that balances precision and recall (1.000 is perfect).",
    "Macro F1": "The F1 score averaged over the classes, each class counting the same.",
    "Weighted F1": "The F1 score averaged over the classes, bigger classes counting more.",
    "Support": "How many test photos of this class there were.",
    "macro avg": "Average over the classes, each class counting the same.",
    "weighted avg": "Average over the classes, weighted by how many test photos each has.",
    "accuracy": "Share of all test photos the model got right.",
    "Test images": "Photos kept aside (the test split) that the model never trained on: the fair exam.",
    "Misclassified": "Test photos the model got wrong.",
    "Best val acc": "Best share of the validation photos (checked after each pass) the model got right.",
    "Test acc": "Share of the test photos (never used in training) the model got right.",
    "Test macro F1": "How well the model did on the test photos, each class counting the same (1.000 is perfect).",
    "Augmentation": "Whether training saw randomly changed copies of the photos (turned, flipped, brighter…).",
    "Params": "How many numbers the model learns; more means a bigger, slower model.",
}


def meaning(term: str) -> str:
    return MEANINGS.get(term, "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def worst_confusion(report: dict[str, Any]) -> tuple[str, str, int] | None:
    """The pair of classes mixed up most often (both directions counted), or None without mistakes."""
    labels = [str(x) for x in report.get("labels") or []]
    matrix = report.get("confusion_matrix") or []
    best: tuple[str, str, int] | None = None
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            n = int(matrix[i][j]) + int(matrix[j][i]) if i < len(matrix) and j < len(matrix) else 0
            if n and (best is None or n > best[2]):
                best = (labels[i], labels[j], n)
    return best


def result_sentence(report: dict[str, Any]) -> str:
    """"Right on 12 of 13 test photos; mixes up coffee and rocket (1 photo)." from a classification report."""
    matrix = report.get("confusion_matrix") or []
    n = int(report.get("n", sum(sum(int(v) for v in row) for row in matrix)))
    right = sum(int(matrix[i][i]) for i in range(len(matrix)))
    if n == 0:
        return "There are no test photos to check the model on yet."
    text = f"Right on {right} of {_plural(n, 'test photo')}"
    pair = worst_confusion(report)
    if pair is None:
        return text + "; no mix-ups."
    a, b, count = pair
    return text + f"; mixes up {a} and {b} most ({_plural(count, 'photo')})."
