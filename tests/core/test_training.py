"""train(): events, run folder, determinism, cancel, failure, early stopping, the augmented input pipeline."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from studio.core.events import BatchEnd, CancelToken, EpochEnd, Event, RunCancelled, RunFinished, RunStarted
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project, ProjectError
from studio.core.specs import AUGMENT_PRESETS, PreprocessSpec, SpecError, TrainConfig
from studio.core.training import architectures
from studio.core.training.run import train
from tests.core.helpers import tf_data_autotune_flags

SMALL = PreprocessSpec(image_size=16, color="gray")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    p, _ = create_demo_project(tmp_path_factory.mktemp("train") / "digits", limit=200)
    return p


def _config(**kw: object) -> TrainConfig:
    base = dict(arch="cnn", preprocess=SMALL, epochs=2, batch_size=16, seed=3)
    return TrainConfig(**(base | kw))  # type: ignore[arg-type]


def test_three_epochs_emit_three_epoch_ends_and_write_the_run_folder(project: Project,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    autotunes = tf_data_autotune_flags(monkeypatch)
    got: list[Event] = []
    run = train(project, _config(epochs=3), got.append)
    assert run.status == "finished", run.error
    # training, validation and the test report each read a pipeline, none with tf.data's autotune thread
    assert len(autotunes) >= 3 and not any(autotunes), autotunes
    kinds = [type(e) for e in got]
    assert kinds[0] is RunStarted and kinds[-1] is RunFinished
    epoch_ends = [e for e in got if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epoch_ends] == [1, 2, 3]
    for e in epoch_ends:
        d = e.to_dict()
        assert d["event"] == "epoch_end"
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert np.isfinite(d[key])
    batches = [e for e in got if isinstance(e, BatchEnd)]
    assert batches and all(1 <= b.batch <= b.steps for b in batches)
    assert all(isinstance(e, BatchEnd) for e in got[1:-1] if not isinstance(e, EpochEnd))

    folder = project.run_dir(run.id)
    for name in ("config.json", "labels.json", "history.json", "timings.json", "model.keras", "report.json"):
        assert (folder / name).is_file(), name
    assert list((folder / "logs" / "train").iterdir()), "TensorBoard event files"
    assert TrainConfig.from_json((folder / "config.json").read_text()) == _config(epochs=3)
    assert json.loads((folder / "labels.json").read_text()) == project.class_names()
    history = json.loads((folder / "history.json").read_text())
    assert [len(history[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy")] == [3, 3, 3, 3]
    assert history["val_accuracy"] == [e.val_accuracy for e in epoch_ends]
    m = run.metrics
    assert m["epochs_run"] == 3 and m["best_val_accuracy"] == max(history["val_accuracy"])
    for key in ("test_accuracy", "macro_f1", "params", "weight_bytes", "train_seconds"):
        assert m[key] is not None, key
    assert m["augment"] is False


def test_best_epoch_weights_are_saved(project: Project) -> None:
    import keras

    from studio.core.evaluation.report import predict_items
    from studio.core.training.data import split_items

    got: list[Event] = []
    run = train(project, _config(arch="dense", epochs=4, learning_rate=0.05), got.append)
    finished = [e for e in got if isinstance(e, RunFinished)][0]
    model = keras.models.load_model(project.run_dir(run.id) / "model.keras", compile=False)
    val = split_items(project, "val", project.class_names())
    acc = float(np.mean(predict_items(model, val, _config()).argmax(1) == np.asarray(val.labels)))
    assert acc == pytest.approx(finished.best_val_accuracy, abs=1e-6)


def test_same_seed_same_metrics_with_augmentation(project: Project) -> None:
    cfg = _config(use_augment=True, augment=AUGMENT_PRESETS["Original pipeline"])
    a, b = train(project, cfg), train(project, cfg)
    c = train(project, _config(use_augment=True, augment=AUGMENT_PRESETS["Original pipeline"], seed=4))
    ha, hb, hc = (json.loads((project.run_dir(r.id) / "history.json").read_text()) for r in (a, b, c))
    assert ha == hb
    assert ha != hc
    assert a.metrics["augment"] is True


def test_cancel_in_epoch_two_ends_cancelled_quickly_and_keeps_earlier_runs(project: Project) -> None:
    before = {r.id: r for r in project.runs()}
    cancel = CancelToken()
    cancelled_at: list[float] = []
    got: list[Event] = []

    def reporter(event: Event) -> None:
        got.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            cancel.cancel()  # lands at the first batch of epoch 2
            cancelled_at.append(time.monotonic())

    run = train(project, _config(epochs=5, batch_size=4), reporter, cancel)
    elapsed = time.monotonic() - cancelled_at[0]
    assert run.status == "cancelled"
    assert elapsed < 2.0
    assert [e.epoch for e in got if isinstance(e, EpochEnd)] == [1]
    assert isinstance(got[-1], RunCancelled) and got[-1].epoch == 2
    assert not (project.run_dir(run.id) / "model.keras").exists()

    reopened = Project.open(project.root)
    after = {r.id: r for r in reopened.runs()}
    for rid, rec in before.items():
        assert after[rid] == rec
        if rec.status == "finished":
            assert (project.run_dir(rid) / "model.keras").is_file()
    assert reopened.integrity_check() == "ok"
    reopened.close()


def test_failure_marks_the_run_failed_and_keeps_earlier_runs(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:

    before = {r.id: r for r in project.runs()}

    def boom(*_a: object) -> object:
        raise RuntimeError("simulated out-of-memory: OOM when allocating tensor")

    monkeypatch.setitem(architectures._REGISTRY, "cnn", dataclasses.replace(architectures.get("cnn"), builder=boom))
    run = train(project, _config())
    assert run.status == "failed"
    assert "out of memory" in (run.error or "")
    assert (project.run_dir(run.id) / "error.log").is_file()
    assert {r.id: r for r in project.runs() if r.id in before} == before


def test_early_stopping_and_class_weights(project: Project) -> None:
    got: list[Event] = []
    # A learning rate this large makes training diverge, so validation stops improving at once.
    run = train(project, _config(arch="dense", epochs=30, learning_rate=5.0, early_stopping_patience=1,
                                 class_weights=True), got.append)
    assert run.status == "finished"
    assert run.metrics["epochs_run"] < 30
    assert run.metrics["epochs_run"] == len([e for e in got if isinstance(e, EpochEnd)])


def test_data_problems_raise_before_a_run_exists(tmp_path: Path) -> None:
    p, _ = create_demo_project(tmp_path / "one", limit=12)
    with pytest.raises(SpecError, match="unknown architecture"):
        train(p, _config(arch="nope"))
    only_zeros = [im.id for im in p.images() if im.label != "0"]
    p.trash_images(only_zeros)
    with pytest.raises(ProjectError, match="at least 2 classes"):
        train(p, _config())
    assert p.runs() == []


def test_training_pipeline_applies_exactly_the_preview_augmentation(project: Project) -> None:
    from studio.core.training.augment import preview
    from studio.core.training.data import image_dataset, split_items, steps_per_epoch, train_dataset

    spec = AUGMENT_PRESETS["Original pipeline"]
    items = split_items(project, "train", project.class_names())
    plain = {int(i): np.asarray(x) for x, _y, i in image_dataset(items, SMALL)}
    ds = train_dataset(items, SMALL, 16, seed=9, augment=spec)
    steps = steps_per_epoch(len(items), 16)
    # Recover the image ids of each batch from the un-augmented pipeline with the same shuffle.
    import tensorflow as tf

    order = (image_dataset(items, SMALL).shuffle(len(items), seed=9, reshuffle_each_iteration=True)
             .batch(16).repeat().map(lambda x, y, i: i))
    for step, ((x, _y), ids) in enumerate(zip(ds.take(2 * steps), order.take(2 * steps))):
        epoch = step // steps
        for k, image_id in enumerate(np.asarray(ids)):
            expected = preview(plain[int(image_id)], spec, epoch + 1, seed=9, image_id=int(image_id))[epoch]
            np.testing.assert_array_equal(np.asarray(x[k]), expected)
    assert tf.is_tensor(x)


def test_engine_modules_import_without_tensorflow() -> None:
    code = ("import sys; import studio.core.training.run, studio.core.training.data, studio.core.evaluation.report, "
            "studio.core.evaluation.predict, studio.core.training.augment, studio.core.training.architectures, "
            "studio.core.preprocess; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_demo_reaches_the_accuracy_targets(tmp_path: Path) -> None:
    """Issue 3 acceptance on the full demo (1,797 digits), 32x32 gray, 15 epochs: macro F1 on the test split
    >= 0.95 for cnn and cnn_dropout, >= 0.90 for dense (measured 2026-11-23: 0.985, 0.989, 0.956)."""
    project, _ = create_demo_project(tmp_path / "digits")
    targets = {"dense": 0.90, "cnn": 0.95, "cnn_dropout": 0.95}
    scores = {}
    for arch in targets:
        run = train(project, TrainConfig(arch=arch, preprocess=PreprocessSpec(), epochs=15, seed=0))
        assert run.status == "finished", run.error
        scores[arch] = run.metrics["macro_f1"]
    assert all(scores[a] >= t for a, t in targets.items()), scores
