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

    ``model`` is the run's scored model (:func:`studio.core.evaluation.open_world.scored_model`) when given.
    The project's own images go through the model once per run (:mod:`studio.core.evaluation.run_outputs`)."""
    from studio.core.evaluation import open_world, run_outputs
    from studio.core.evaluation.inference import predict_in_batches
    from studio.core.evaluation.known_score import PROBABILITIES_OUTPUT, SCORE_OUTPUT

    labels = run_labels(project, run)
    if run.status != RunStatus.FINISHED:
        raise ProjectError(f"run {run.id} has no trained model (status: {run.status})")
    if not paths:
        return []
    keys = [run_outputs.content_key(project, p) for p in paths]
    kept = run_outputs.read(project, run, len(labels)) if any(keys) else {}
    todo = [i for i, key in enumerate(keys) if key is None or key not in kept]
    probs = np.zeros((len(paths), len(labels)), np.float32)
    scores = np.zeros(len(paths), np.float32)
    for i, key in enumerate(keys):
        if key is not None and key in kept:
            probs[i], scores[i] = kept[key]
    if todo:
        inputs = open_world.preprocessed([paths[i] for i in todo], run)
        model = model or open_world.scored_model(project, run)
        outputs = predict_in_batches(model, inputs, batch_size=64)
        new_probs = np.asarray(outputs[PROBABILITIES_OUTPUT])
        new_scores = np.asarray(outputs[SCORE_OUTPUT]).reshape(len(todo))
        if not (np.isfinite(new_probs).all() and np.isfinite(new_scores).all()):
            raise ProjectError(f"the model of run {run.id} gives no numbers (NaN): its weights are damaged; "
                               "train the run again")
        probs[todo], scores[todo] = new_probs, new_scores
        new = {keys[i]: (probs[i], float(scores[i])) for i in todo if keys[i] is not None}
        if new:
            run_outputs.write(project, run, {**kept, **new}, len(labels))
    out = []
    for p, row, score in zip(paths, probs, scores):
        out.append({"path": str(p), "label": labels[int(row.argmax())],
                    "probabilities": {name: float(v) for name, v in zip(labels, row)},
                    "known_score": float(score)})
    return out
