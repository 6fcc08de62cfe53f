"""A small trained run for the web tests and the benchmark (real Keras training, a few seconds)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.demo import create_demo_project
from studio.core.imaging import load_rgb
from studio.core.project import Project
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


def keras_probabilities(project: Project, run_id: str, images: list[np.ndarray]) -> np.ndarray:
    """What Python predicts: the saved Keras model on preprocess() of each decoded RGB image."""
    import keras

    from studio.core.preprocess import preprocess

    config = TrainConfig.from_dict(json.loads((project.run_dir(run_id) / "config.json").read_text()))
    model = keras.saving.load_model(project.run_dir(run_id) / "model.keras", compile=False)
    return np.concatenate([np.asarray(model(preprocess(im[np.newaxis], config.preprocess), training=False))
                           for im in images])


def train_run(root: Path, arch: str = "cnn", image_size: int = 20, color: str = "gray", epochs: int = 2,
              limit: int = 300, project: Project | None = None) -> TrainedRun:
    """A finished run with model.keras, config.json and labels.json, as training writes them."""
    import keras

    from studio.core.architectures import build
    from studio.core.preprocess import preprocess

    if project is None:
        project, _ = create_demo_project(root, limit=limit)
    config = TrainConfig(arch=arch, preprocess=PreprocessSpec(image_size=image_size, color=color),
                         epochs=epochs, batch_size=32)
    paths, classes = load_split(project, "train")
    labels = project.class_names()
    x = np.concatenate([np.asarray(preprocess(load_rgb(p)[np.newaxis], config.preprocess)) for p in paths])
    keras.utils.set_random_seed(0)
    model = build(arch, config.preprocess.input_shape, len(labels))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, classes, epochs=epochs, batch_size=32, verbose=0)
    run = project.create_run(arch, config.to_dict())
    run_dir = project.run_dir(run.id)
    model.save(run_dir / "model.keras")
    (run_dir / "config.json").write_text(config.to_json())
    (run_dir / "labels.json").write_text(json.dumps(labels))
    project.update_run(run.id, status="finished", metrics={"test_accuracy": 0.9, "macro_f1": 0.9})
    return TrainedRun(project, run.id, config, labels)
