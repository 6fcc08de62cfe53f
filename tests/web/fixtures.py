"""A small trained run for the web tests and the benchmark: the studio's own training and prediction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.specs import PreprocessSpec, TrainConfig


@dataclass(frozen=True)
class TrainedRun:
    project: Project
    run_id: str
    config: TrainConfig
    labels: list[str]


def load_split(project: Project, split: str) -> tuple[list[Path], np.ndarray]:
    paths, classes, _ = project.labelled_split(split)
    return paths, np.asarray(classes)


def python_probabilities(project: Project, run_id: str, paths: list[Path]) -> np.ndarray:
    """What the studio predicts for these files (`edge-studio predict`): rows in the run's label order."""
    from studio.core.evaluation.predict import predict_files, run_labels

    run = project.run(run_id)
    labels = run_labels(project, run)
    return np.array([[p["probabilities"][name] for name in labels] for p in predict_files(project, run, paths)])


def train_run(root: Path, arch: str = "cnn", image_size: int = 20, color: str = "gray", epochs: int = 2,
              limit: int = 300, project: Project | None = None) -> TrainedRun:
    """A finished run trained by :func:`studio.core.training.run.train` on the demo digits (first ``limit``)."""
    from studio.core.evaluation.predict import run_labels
    from studio.core.training.run import train

    if project is None:
        project, _ = create_demo_project(root, limit=limit)
    config = TrainConfig(arch=arch, preprocess=PreprocessSpec(image_size=image_size, color=color),
                         epochs=epochs, batch_size=32, seed=0)
    run = train(project, config)
    if run.status != "finished":
        raise RuntimeError(f"training the test run failed: {run.error}")
    return TrainedRun(project, run.id, config, run_labels(project, run))
