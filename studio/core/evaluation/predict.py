"""Predictions of a trained run for arbitrary image files: decode -> preprocess() -> model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.images.imaging import ImageRejected, load_rgb
from studio.core.limits import DEFAULT_MAX_PIXELS
from studio.core.project.runs import RunStatus, train_config
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
    """``[{path, label, probabilities: {class name: float}}]`` for each image file, in order."""
    from studio.core.preprocess import preprocess

    labels = run_labels(project, run)
    spec = train_config(run).preprocess
    model = model or load_run_model(project, run)
    inputs = []
    for p in paths:
        try:
            rgb = load_rgb(Path(p), max_pixels=DEFAULT_MAX_PIXELS)  # the import's limits, checked first
        except ImageRejected as exc:
            raise ProjectError(f"cannot read image {p}: {exc}") from None
        inputs.append(np.asarray(preprocess(rgb, spec)))
    if not inputs:
        return []
    probs = np.asarray(model.predict(np.stack(inputs), verbose=0, batch_size=64))
    if not np.isfinite(probs).all():
        raise ProjectError(f"the model of run {run.id} gives no numbers (NaN): its weights are damaged; "
                           "train the run again")
    out = []
    for p, row in zip(paths, probs):
        out.append({"path": str(p), "label": labels[int(row.argmax())],
                    "probabilities": {name: float(v) for name, v in zip(labels, row)}})
    return out
