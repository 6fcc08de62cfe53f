"""Predictions of a trained run for arbitrary image files: decode -> preprocess() -> model (with its
known-vs-unknown score, :mod:`studio.core.evaluation.open_world`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.project.runs import RunStatus
from studio.core.project.store import Project, ProjectError, RunRecord

if TYPE_CHECKING:
    import keras

def run_labels(project: Project, run: RunRecord) -> list[str]:
    """Class names in the run's model output order."""
    return project.run_folder(run).labels()


def load_run_model(project: Project, run: RunRecord) -> keras.Model:
    if run.status != RunStatus.FINISHED:
        raise ProjectError(f"run {run.id} has no trained model (status: {run.status})")
    return project.run_folder(run).load_model()


def predict_files(project: Project, run: RunRecord, paths: Sequence[str | Path],
                  model: keras.Model | None = None) -> list[dict[str, Any]]:
    """``[{path, label, probabilities: {class name: float}, known_score}]`` for each image file, in order.

    ``model`` is the run's scored model (:func:`studio.core.evaluation.open_world.scored_model`) when given."""
    from studio.core.evaluation import open_world
    from studio.core.evaluation.known_score import PROBABILITIES_OUTPUT, SCORE_OUTPUT

    labels = run_labels(project, run)
    if run.status != RunStatus.FINISHED:
        raise ProjectError(f"run {run.id} has no trained model (status: {run.status})")
    inputs = open_world.preprocessed(paths, run)
    if not len(inputs):
        return []
    model = model or open_world.scored_model(project, run)
    outputs = model.predict(inputs, verbose=0, batch_size=64)
    probs = np.asarray(outputs[PROBABILITIES_OUTPUT])
    scores = np.asarray(outputs[SCORE_OUTPUT]).reshape(len(inputs))
    if not (np.isfinite(probs).all() and np.isfinite(scores).all()):
        raise ProjectError(f"the model of run {run.id} gives no numbers (NaN): its weights are damaged; "
                           "train the run again")
    out = []
    for p, row, score in zip(paths, probs, scores):
        out.append({"path": str(p), "label": labels[int(row.argmax())],
                    "probabilities": {name: float(v) for name, v in zip(labels, row)},
                    "known_score": float(score)})
    return out
