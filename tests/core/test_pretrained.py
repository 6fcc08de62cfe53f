"""The ``pretrained`` architecture: head trained on cached features, composed into the run's model; fine-tune."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from studio.core.events import CancelToken, EpochEnd, Event, FeatureProgress, RunCancelled, RunFinished, RunStarted
from studio.core.export.targets import get_target
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.resolve.export import default_quantization
from studio.core.specs import PreprocessSpec, TrainConfig
from studio.core.training import architectures, backbone, features
from studio.core.training.models.pretrained import head as head_model
from studio.core.training.run import train
from tests.core.helpers import tf_data_autotune_flags

SPEC = PreprocessSpec(image_size=32, color="gray")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    p, _ = create_demo_project(tmp_path_factory.mktemp("pre") / "digits", limit=90)
    return p


def test_model_layout() -> None:
    import keras

    model = architectures.build("pretrained", (40, 40, 1), 3)
    assert model.get_layer("gray_to_rgb") is not None
    inner = model.get_layer(backbone.NAME)
    assert not inner.trainable and isinstance(inner.layers[1], keras.layers.Rescaling)
    assert model.output_shape == (None, 3)
    assert architectures.describe(model)["params"] > 3_000_000
    tfjs = get_target("tfjs")
    assert default_quantization("pretrained", tfjs) == "uint8"
    assert default_quantization("cnn", tfjs) == "none"


def test_head_on_cached_features_then_fine_tune(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    autotunes = tf_data_autotune_flags(monkeypatch)
    got: list[Event] = []
    run = train(project, TrainConfig(arch="pretrained", preprocess=SPEC, epochs=2, batch_size=16, seed=1,
                                     learning_rate=1e-2, fine_tune=True), got.append)
    assert run.status == "finished", run.error
    # features, head, fine-tune and the test report: no pipeline keeps tf.data's autotune thread
    assert len(autotunes) >= 4 and not any(autotunes), autotunes
    kinds = [type(e) for e in got]
    assert kinds.index(FeatureProgress) < kinds.index(RunStarted) and kinds[-1] is RunFinished
    ends = [e for e in got if isinstance(e, EpochEnd)]
    assert [(e.epoch, e.epochs) for e in ends] == [(1, 4), (2, 4), (3, 4), (4, 4)]  # head 2 + fine-tune 2
    folder = project.run_dir(run.id)
    for name in ("model.keras", "history.json", "timings.json", "report.json"):
        assert (folder / name).is_file()
    assert run.metrics["test_accuracy"] > 0.3  # 10 digit classes from 6 images each: chance is 0.1

    from studio.core.evaluation.predict import load_run_model

    model = load_run_model(project, run)  # the whole network, on the preprocessed input
    assert model.input_shape == (None, 32, 32, 1)
    assert model.get_layer(backbone.NAME).get_layer("block15_project_conv").trainable  # fine-tuned block


def test_composed_model_equals_head_on_cached_features(project: Project) -> None:
    run = train(project, TrainConfig(arch="pretrained", preprocess=SPEC, epochs=3, batch_size=16, seed=2,
                                     learning_rate=1e-2))
    assert run.status == "finished", run.error
    from studio.core.evaluation.predict import load_run_model

    model = load_run_model(project, run)
    ids = [im.id for im in project.images(split="train")][:5]
    cached = features.image_features(project, ids, image_size=32, color="gray")
    head = head_model(model.output_shape[-1])
    head.get_layer("head").set_weights(model.get_layer("head").get_weights())
    from studio.core.images.imaging import load_rgb
    from studio.core.preprocess import preprocess

    x = np.stack([np.asarray(preprocess(load_rgb(project.image_path(project.image(i))), SPEC)) for i in ids])
    np.testing.assert_allclose(model.predict(x, verbose=0), head.predict(cached.vectors, verbose=0), atol=1e-5)


def test_cancel_during_the_feature_pass(project: Project) -> None:
    token = CancelToken()
    token.cancel()
    got: list[Event] = []
    run = train(project, TrainConfig(arch="pretrained", preprocess=PreprocessSpec(24, "gray"), epochs=1),
                got.append, token)
    assert run.status == "cancelled" and isinstance(got[-1], RunCancelled)


def test_cli_defaults_for_pretrained(project: Project) -> None:
    from studio.commands.train_cmds import train_config

    args = argparse.Namespace(arch="pretrained", image_size=None, color=None, augment=False, epochs=5,
                              batch_size=32, lr=1e-3, patience=0, class_weights=False, seed=0, fine_tune=True)
    config, _ = train_config(project, args)
    assert config.preprocess == PreprocessSpec(backbone.DEFAULT_IMAGE_SIZE, "rgb") and config.fine_tune
    args.image_size, args.color, args.arch = 96, "gray", "cnn"
    config, _ = train_config(project, args)
    assert config.preprocess == PreprocessSpec(96, "gray")
