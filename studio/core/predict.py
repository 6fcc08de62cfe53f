"""Predictions of a trained run for arbitrary image files: decode -> preprocess() -> model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.imaging import ImageRejected, load_rgb
from studio.core.limits import DEFAULT_MAX_PIXELS
from studio.core.project import Project, ProjectError, RunRecord
from studio.core.specs import TrainConfig

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"


def run_labels(project: Project, run: RunRecord) -> list[str]:
    """Class names in the run's model output order."""
    path = project.run_dir(run.id) / LABELS_FILE
    if not path.is_file():
        raise ProjectError(f"run {run.id} has no {LABELS_FILE}")
    return list(json.loads(path.read_text()))


def load_run_model(project: Project, run: RunRecord) -> keras.Model:
    path = project.run_dir(run.id) / MODEL_FILE
    if run.status != "finished" or not path.is_file():
        raise ProjectError(f"run {run.id} has no trained model (status: {run.status})")
    import keras

    return keras.models.load_model(path, compile=False)


def predict_files(project: Project, run: RunRecord, paths: Sequence[str | Path],
                  model: keras.Model | None = None) -> list[dict[str, Any]]:
    """``[{path, label, probabilities: {class name: float}}]`` for each image file, in order."""
    from studio.core.preprocess import preprocess

    labels = run_labels(project, run)
    spec = TrainConfig.from_dict(run.config).preprocess
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
    out = []
    for p, row in zip(paths, probs):
        out.append({"path": str(p), "label": labels[int(row.argmax())],
                    "probabilities": {name: float(v) for name, v in zip(labels, row)}})
    return out
