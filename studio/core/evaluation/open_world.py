"""A run's known-vs-unknown score: its constants (fitted once on the run's training images, kept in the run
folder) and the run's network with the score as a second named output (:func:`scored_model`), which every
export target and ``predict`` use, so all of them compute the same ``known_score``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from studio.core.evaluation import known_score
from studio.core.evaluation.known_score import KnownScoreFit
from studio.core.project.runs import train_config
from studio.core.project.store import Project, ProjectError, RunRecord

if TYPE_CHECKING:
    import keras

TRAIN_SPLIT = "train"


def preprocessed(paths: Sequence[str | Path], run: RunRecord) -> np.ndarray:
    """The run's model inputs for image files (decode with the import's limits -> preprocess())."""
    from studio.core.images.imaging import ImageRejected, load_rgb
    from studio.core.limits import DEFAULT_MAX_PIXELS
    from studio.core.preprocess import preprocess

    spec = train_config(run).preprocess
    inputs = []
    for p in paths:
        try:
            rgb = load_rgb(Path(p), max_pixels=DEFAULT_MAX_PIXELS)
        except ImageRejected as exc:
            raise ProjectError(f"cannot read image {p}: {exc}") from None
        inputs.append(np.asarray(preprocess(rgb, spec)))
    return np.stack(inputs) if inputs else np.zeros((0, spec.image_size, spec.image_size, spec.channels),
                                                    np.float32)


def constants(project: Project, run: RunRecord, network: keras.Model | None = None) -> KnownScoreFit:
    """The run's score constants: read from its folder, or fitted on its training images and saved there."""
    folder = project.run_folder(run)
    method = known_score.method_for(run.arch)
    cached = KnownScoreFit.load(folder.known_score_path)
    if cached is not None and cached.method == method:
        return cached
    labels = folder.labels()
    paths, classes, _ = project.labelled_split(TRAIN_SPLIT, labels)
    if not paths:
        raise ProjectError(f"run {run.id}: the train split has no images of its classes to compare with")
    network = network or folder.load_model()
    feats, _ = known_score.features_of(network, preprocessed(paths, run))
    fitted = known_score.fit(method, feats, np.asarray(classes),
                             head=known_score.head_weights(network))
    try:
        fitted.save(folder.known_score_path, folder.root)
    except OSError:
        pass  # a read-only project still scores; it fits again next time
    return fitted


def scored_model(project: Project, run: RunRecord, network: keras.Model | None = None) -> keras.Model:
    """The run's network with outputs ``{probabilities, known_score}`` (``network``: the run's model when the
    caller has loaded it already; loading a pretrained run's takes about a second)."""
    network = network or project.run_folder(run).load_model()
    return known_score.scored_network(network, constants(project, run, network))


def write_scored_model(scored: keras.Model, directory: Path) -> Path:
    """A :func:`scored_model` saved as a ``.keras`` file in ``directory`` (what the export targets convert)."""
    path = Path(tempfile.mkdtemp(prefix="scored-", dir=directory)) / "model.keras"
    scored.save(path)
    return path
