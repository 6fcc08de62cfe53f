"""train(project, config) -> RunRecord: one run, with typed events, cooperative cancel and a run folder.

The run folder (:class:`studio.core.project.runs.RunFolder`) receives the config, labels, history, timings, the
best-epoch Keras model, the test report and TensorBoard scalars. The run's row in project.db moves
running -> finished | failed | cancelled; earlier runs are never touched.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core import events
from studio.core.events import (
    CancelToken,
    Reporter,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
)
from studio.core.project.store import Project, ProjectError, RunRecord
from studio.core.specs import SpecError, TrainConfig
from studio.core.training import architectures, cluster
from studio.core.training import loop as train_loop
from studio.core.training.data import (
    SplitItems,
    check_stored,
    eval_dataset,
    split_items,
    steps_per_epoch,
    stored_image_problem,
    train_dataset,
)

if TYPE_CHECKING:
    import tensorflow as tf


def choose_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirrored when TF_CONFIG describes a cluster, Mirrored over several GPUs, else the default
    (one device, no wrapper: a single GPU or the CPU)."""
    import tensorflow as tf

    if cluster.current() is not None:
        return cluster.multi_worker_strategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def train(project: Project, config: TrainConfig, reporter: Reporter = events.ignore,
          cancel: CancelToken | None = None, strategy: tf.distribute.Strategy | None = None) -> RunRecord:
    """Train one model on the project's train split, validate on val, evaluate on test.

    Data problems found before the run starts raise :class:`ProjectError` / :class:`SpecError` and create no
    run. Any failure after that ends the run as ``failed`` (traceback in ``runs/<id>/error.log``) and is
    returned, not raised; a cancel ends it as ``cancelled`` within one batch.
    """
    if not cluster.is_chief():
        raise ProjectError("this process is a non-chief worker of a cluster (TF_CONFIG): it trains with "
                           "train_worker() and the chief writes the run")
    labels, splits = _checked_splits(project, config)
    cancel = cancel or CancelToken()
    report = _locked(reporter)
    run = project.create_run(config.arch, config.to_dict())
    folder = project.run_folder(run)
    try:
        folder.write_start(config.to_dict(), labels)
        return _train_run(project, run, config, labels, splits, report, cancel, strategy)
    except BaseException as exc:  # noqa: B036 - a run must never be left "running"
        cancelled = isinstance(exc, KeyboardInterrupt)
        folder.write_error(traceback.format_exc())
        message = _error_message(exc)
        project.update_run(run.id, status="cancelled" if cancelled else "failed", error=message)
        report(RunCancelled(run.id, 0) if cancelled else RunFailed(run.id, message))
        if cancelled:
            raise
        return project.run(run.id)
    finally:
        folder.drop_cache()


def train_worker(project: Project, config: TrainConfig, cancel: CancelToken | None = None,
                 strategy: tf.distribute.Strategy | None = None) -> str:
    """A non-chief worker's part of a multi-worker run: the same model, data and loop as the chief, its share
    of every batch, and nothing written into the project (its input cache lives in a temporary folder).
    Returns ``"finished"`` or ``"cancelled"`` (a cancel on any worker stops all) when the run's training ends;
    raises when it fails (a lost worker: :class:`train_loop.ClusterError`)."""
    import tempfile

    labels, splits = _checked_splits(project, config)
    with tempfile.TemporaryDirectory(prefix="edge-studio-worker-") as tmp:
        strategy = _seeded_strategy(config, strategy)
        model, train_ds, val_ds = _model_and_data(config, labels, splits, strategy, Path(tmp) / "cache")
        result = _fit(model, train_ds, val_ds, config, splits["train"], len(labels), strategy, events.ignore,
                      cancel or CancelToken(), "", None)
        if result.best_weights is not None:
            model.set_weights(result.best_weights)
        dump = os.environ.get(cluster.WORKER_WEIGHTS_ENV)
        if dump:  # tests compare a worker's final weights with the chief's model
            import numpy as np

            np.savez(dump, *model.get_weights())
    return "cancelled" if result.cancelled else "finished"


def _checked_splits(project: Project, config: TrainConfig) -> tuple[list[str], dict[str, SplitItems]]:
    try:
        architectures.get(config.arch)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    labels = project.class_names()
    splits = {s: split_items(project, s, labels) for s in ("train", "val", "test")}
    _check_data(labels, splits)
    return labels, splits


def _seeded_strategy(config: TrainConfig, strategy: tf.distribute.Strategy | None) -> tf.distribute.Strategy:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    return strategy or choose_strategy()


def _model_and_data(config: TrainConfig, labels: list[str], splits: dict[str, SplitItems],
                    strategy: tf.distribute.Strategy, cache: Path) -> tuple[Any, Any, Any]:
    """The compiled model (built under ``strategy``) and the train / validation datasets."""
    import keras

    augment = config.augment if config.use_augment else None
    train_ds = train_dataset(splits["train"], config.preprocess, config.batch_size, config.seed, augment,
                             cache / "train")
    val_ds = eval_dataset(splits["val"], config.preprocess, config.batch_size, cache / "val")
    with strategy.scope():
        model = architectures.build(config.arch, config.preprocess.input_shape, len(labels))
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, train_ds, val_ds


def _fit(model: Any, train_ds: Any, val_ds: Any, config: TrainConfig, train_items: SplitItems, n_classes: int,
         strategy: tf.distribute.Strategy, report: Reporter, cancel: CancelToken, run_id: str,
         log_dir: Path | None, first_epoch: int = 0, total_epochs: int | None = None,
         steps: int | None = None, last_is_best: bool = False) -> train_loop.FitResult:
    return train_loop.fit(model, train_ds, val_ds, epochs=config.epochs,
                          steps_per_epoch=steps or steps_per_epoch(len(train_items), config.batch_size),
                          strategy=strategy, last_is_best=last_is_best,
                          reporter=report, cancel=cancel, run_id=run_id,
                          class_weights=_class_weights(train_items, n_classes) if config.class_weights else None,
                          patience=config.early_stopping_patience, log_dir=log_dir, first_epoch=first_epoch,
                          total_epochs=total_epochs)


def _check_data(labels: list[str], splits: dict[str, SplitItems]) -> None:
    train = splits["train"]
    present = {labels[i] for i in train.labels}
    if len(present) < 2:
        raise ProjectError("training needs labelled images of at least 2 classes in the train split "
                           f"(found {len(present)}); label more images")
    if not len(splits["val"]):
        raise ProjectError("the validation split has no labelled images; add more images")
    for items in splits.values():
        check_stored(items)


def _train_run(project: Project, run: RunRecord, config: TrainConfig, labels: list[str],
               splits: dict[str, SplitItems], report: Reporter, cancel: CancelToken,
               strategy: tf.distribute.Strategy | None) -> RunRecord:
    started = time.monotonic()
    folder = project.run_folder(run)
    strategy = _seeded_strategy(config, strategy)

    train_items = splits["train"]
    steps = steps_per_epoch(len(train_items), config.batch_size)
    augment = config.augment if config.use_augment else None
    pretrained = None
    if architectures.get(config.arch).cached_features:
        # The head trains on cached backbone features; the run's model is composed after the fit.
        from studio.core.training import pretrained as pretrained_training
        from studio.core.training.features import FeaturesCancelled

        try:
            pretrained = pretrained_training.prepare(project, run.id, config, splits, len(labels), strategy,
                                                     report, cancel)
        except FeaturesCancelled:
            project.update_run(run.id, status="cancelled")
            report(RunCancelled(run.id, 0))
            return project.run(run.id)
        model, train_ds, val_ds = pretrained.head, pretrained.train_ds, pretrained.val_ds
        steps = pretrained.steps_per_epoch
    else:
        model, train_ds, val_ds = _model_and_data(config, labels, splits, strategy, folder.cache_dir)
    fine_tune = pretrained is not None and config.fine_tune
    total_epochs = config.epochs * (2 if fine_tune else 1)
    report(RunStarted(run.id, config.arch, total_epochs, steps))

    setup_seconds = time.monotonic() - started
    # The pretrained head phase: full batches, every epoch, the last kept (see pretrained_training).
    result = _fit(model, train_ds, val_ds, config, train_items, len(labels), strategy, report, cancel, run.id,
                  folder.logs_dir, total_epochs=total_epochs, steps=steps, last_is_best=pretrained is not None)
    if pretrained is not None and not result.cancelled:
        model = train_loop.final_model(model, result, strategy)  # the head's last epoch (last_is_best)
        model = pretrained.compose(config, len(labels), strategy)
        result.best_weights = model.get_weights()
        if fine_tune and not cancel.cancelled:
            from studio.core.training import pretrained as pretrained_training

            model, ft_train, ft_val = pretrained_training.fine_tune_setup(model, config, splits, strategy,
                                                                          folder.cache_dir)
            # Early stopping of the head phase does not end fine-tuning: the second phase has its own patience.
            result = train_loop.chain(result, _fit(model, ft_train, ft_val, config, train_items, len(labels),
                                                   strategy, report, cancel, run.id, folder.logs_dir,
                                                   first_epoch=len(result.epochs), total_epochs=total_epochs))
    train_seconds = time.monotonic() - started - setup_seconds
    size = architectures.describe(model)

    history = result.history()
    folder.write_history(history)
    timings: dict[str, Any] = {"setup_seconds": setup_seconds, "train_seconds": train_seconds,
                               "epoch_seconds": [e["seconds"] for e in result.epochs],
                               "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    if pretrained is not None:
        timings["feature_seconds"] = pretrained.feature_seconds
    metrics: dict[str, Any] = {**size, "augment": bool(augment and augment.enabled),
                               "epochs_run": len(result.epochs), "train_seconds": train_seconds,
                               "n_train": len(train_items), "n_val": len(splits["val"]),
                               "n_test": len(splits["test"])}
    if result.cancelled:
        folder.write_timings(timings)
        project.update_run(run.id, status="cancelled", metrics=metrics)
        report(RunCancelled(run.id, result.current_epoch))
        return project.run(run.id)

    model = train_loop.final_model(model, result, strategy)
    best = result.best_epoch
    folder.save_model(model)
    metrics.update(best_epoch=best + 1, best_val_accuracy=result.epochs[best]["val_accuracy"])

    eval_started = time.monotonic()
    if len(splits["test"]):
        from studio.core.evaluation.report import build_report, predict_items, save_report

        test = splits["test"]
        test_report = build_report(test.labels, predict_items(model, test, config), labels, test.image_ids,
                                   test.paths)
        test_report["run"] = run.id
        save_report(project, run.id, test_report)
        metrics.update(test_accuracy=test_report["accuracy"], macro_f1=test_report["macro_f1"])
    timings["evaluate_seconds"] = time.monotonic() - eval_started
    timings["total_seconds"] = time.monotonic() - started
    folder.write_timings(timings)
    project.update_run(run.id, status="finished", metrics=metrics)
    report(RunFinished(run.id, best + 1, metrics["best_val_accuracy"], timings["total_seconds"], metrics))
    return project.run(run.id)


def _class_weights(items: SplitItems, n_classes: int) -> dict[int, float]:
    """Inverse class frequency, normalised so that a balanced split gets weight 1 everywhere."""
    counts = items.class_counts(n_classes)
    present = [c for c in counts if c]
    total = sum(present)
    return {i: (total / (len(present) * c) if c else 1.0) for i, c in enumerate(counts)}


def _locked(reporter: Reporter) -> Reporter:
    """Batch events come from Keras' worker thread, epoch events from the training thread: serialise them."""
    lock = threading.Lock()

    def report(event: events.Event) -> None:
        with lock:
            reporter(event)
    return report


def _error_message(exc: BaseException) -> str:
    import re

    problem = stored_image_problem(exc)
    if problem:
        return problem
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "OOM" in str(exc) or isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return f"out of memory: {text[:300]} (try a smaller batch size or image size)"
    return re.sub(r"\s+", " ", f"{type(exc).__name__}: {text}")[:500]

