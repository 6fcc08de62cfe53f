"""train(project, config) -> RunRecord: one run, with typed events, cooperative cancel and a run folder.

The run folder (:class:`studio.core.runs.RunFolder`) receives the config, labels, history, timings, the
best-epoch Keras model, the test report and TensorBoard scalars. The run's row in project.db moves
running -> finished | failed | cancelled; earlier runs are never touched.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core import architectures, events
from studio.core.data import (
    SplitItems,
    check_stored,
    eval_dataset,
    split_items,
    steps_per_epoch,
    stored_image_problem,
    train_dataset,
)
from studio.core.events import (
    BatchEnd,
    CancelToken,
    EpochEnd,
    Reporter,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
)
from studio.core.project import Project, ProjectError, RunRecord
from studio.core.runs import HISTORY_METRICS as METRICS
from studio.core.specs import SpecError, TrainConfig

if TYPE_CHECKING:
    import tensorflow as tf

BATCH_EVENT_INTERVAL = 0.1  # seconds: at most 10 batch events a second


def choose_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirrored when TF_CONFIG describes a cluster, Mirrored over several GPUs, else the default."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
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
    if config.arch not in architectures.ARCHITECTURES:
        raise SpecError(f"unknown architecture {config.arch!r}; choose one of {', '.join(architectures.ARCHITECTURES)}")
    labels = project.class_names()
    splits = {s: split_items(project, s, labels) for s in ("train", "val", "test")}
    _check_data(labels, splits)

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
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    strategy = strategy or choose_strategy()

    train_items = splits["train"]
    steps = steps_per_epoch(len(train_items), config.batch_size)
    augment = config.augment if config.use_augment else None
    cache = folder.cache_dir
    pretrained = None
    if config.arch == architectures.PRETRAINED:
        # The head trains on cached backbone features; the run's model is composed after the fit.
        from studio.core import pretrained_training
        from studio.core.features import FeaturesCancelled

        try:
            pretrained = pretrained_training.prepare(project, run.id, config, splits, len(labels), strategy,
                                                     report, cancel)
        except FeaturesCancelled:
            project.update_run(run.id, status="cancelled")
            report(RunCancelled(run.id, 0))
            return project.run(run.id)
        model, train_ds, val_ds = pretrained.head, pretrained.train_ds, pretrained.val_ds
    else:
        train_ds = train_dataset(train_items, config.preprocess, config.batch_size, config.seed, augment,
                                 cache / "train")
        val_ds = eval_dataset(splits["val"], config.preprocess, config.batch_size, cache / "val")
        with strategy.scope():
            model = architectures.build(config.arch, config.preprocess.input_shape, len(labels))
            model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fine_tune = pretrained is not None and config.fine_tune
    total_epochs = config.epochs * (2 if fine_tune else 1)
    report(RunStarted(run.id, config.arch, total_epochs, steps))

    progress = _progress_class()(run.id, replace(config, epochs=total_epochs), steps, report, cancel,
                                 folder.logs_dir)
    setup_seconds = time.monotonic() - started
    class_weight = _class_weights(train_items, len(labels)) if config.class_weights else None
    model.fit(train_ds, steps_per_epoch=steps, epochs=config.epochs, validation_data=val_ds,
              class_weight=class_weight, callbacks=[progress], verbose=0, shuffle=False)  # the dataset shuffles
    if pretrained is not None:
        if progress.best_weights is not None:
            model.set_weights(progress.best_weights)
        model = pretrained.compose(config, len(labels), strategy)
        progress.best_weights = model.get_weights() if progress.best_weights is not None else None
        if fine_tune and not cancel.cancelled:
            model, ft_train, ft_val = pretrained_training.fine_tune_setup(model, config, splits, strategy, cache)
            progress.restart_patience()  # early stopping of the head phase does not end fine-tuning
            model.fit(ft_train, steps_per_epoch=steps, initial_epoch=len(progress.epochs), epochs=total_epochs,
                      validation_data=ft_val, class_weight=class_weight, callbacks=[progress], verbose=0,
                      shuffle=False)
    train_seconds = time.monotonic() - started - setup_seconds
    progress.close()
    size = architectures.describe(model)

    history = {k: [e[k] for e in progress.epochs] for k in METRICS}
    folder.write_history(history)
    timings: dict[str, Any] = {"setup_seconds": setup_seconds, "train_seconds": train_seconds,
                               "epoch_seconds": [e["seconds"] for e in progress.epochs],
                               "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    if pretrained is not None:
        timings["feature_seconds"] = pretrained.feature_seconds
    metrics: dict[str, Any] = {**size, "augment": bool(augment and augment.enabled),
                               "epochs_run": len(progress.epochs), "train_seconds": train_seconds,
                               "n_train": len(train_items), "n_val": len(splits["val"]),
                               "n_test": len(splits["test"])}
    if cancel.cancelled:
        folder.write_timings(timings)
        project.update_run(run.id, status="cancelled", metrics=metrics)
        report(RunCancelled(run.id, progress.current_epoch))
        return project.run(run.id)

    best = progress.best_epoch
    if progress.best_weights is not None:
        model.set_weights(progress.best_weights)
    folder.save_model(model)
    metrics.update(best_epoch=best + 1, best_val_accuracy=progress.epochs[best]["val_accuracy"])

    eval_started = time.monotonic()
    if len(splits["test"]):
        from studio.core.evaluation import build_report, predict_items, save_report

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


_PROGRESS_CLASS: type | None = None


def _progress_class() -> type:
    """The Keras callback, defined on first use so this module imports without TensorFlow. It handles events,
    cancel, best weights, early stopping and TensorBoard scalars in one place, so they agree on the epoch."""
    global _PROGRESS_CLASS
    if _PROGRESS_CLASS is not None:
        return _PROGRESS_CLASS
    import keras
    import tensorflow as tf

    class Progress(keras.callbacks.Callback):
        # Batch ends are handed to Keras' worker thread, so the training loop never waits for metric values.
        async_safe = True

        def __init__(self, run_id: str, config: TrainConfig, steps: int, report: Reporter, cancel: CancelToken,
                     log_dir: Path) -> None:
            super().__init__()
            self.run_id, self.config, self.steps, self.report, self.cancel = run_id, config, steps, report, cancel
            self.epochs: list[dict[str, float]] = []
            self.best_epoch = 0
            self.best_weights: list[Any] | None = None
            self.current_epoch = 0
            self._best_key: tuple[float, float] | None = None
            self._since_best = 0
            self._epoch_start = 0.0
            self._last_batch_event = 0.0
            self._writers = {name: tf.summary.create_file_writer(str(log_dir / name))
                             for name in ("train", "validation")}

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.current_epoch = epoch + 1
            self._epoch_start = time.monotonic()

        def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if self.cancel.cancelled:
                self.model.stop_training = True

        def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if self.cancel.cancelled:
                self.model.stop_evaluating = True

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            now = time.monotonic()
            if now - self._last_batch_event < BATCH_EVENT_INTERVAL and batch + 1 < self.steps:
                return
            self._last_batch_event = now
            logs = logs or {}
            self.report(BatchEnd(self.run_id, self.current_epoch, batch + 1, self.steps,
                                 float(logs.get("loss", float("nan"))), float(logs.get("accuracy", float("nan")))))

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if self.cancel.cancelled:
                return  # a partial epoch is not an epoch
            logs = logs or {}
            values = {k: float(logs.get(k, float("nan"))) for k in METRICS}
            seconds = time.monotonic() - self._epoch_start
            self.epochs.append({**values, "seconds": seconds})
            for name, prefix in (("train", ""), ("validation", "val_")):
                with self._writers[name].as_default():
                    tf.summary.scalar("epoch_loss", values[prefix + "loss"], step=epoch)
                    tf.summary.scalar("epoch_accuracy", values[prefix + "accuracy"], step=epoch)
            key = (values["val_accuracy"], -values["val_loss"])
            if self._best_key is None or key > self._best_key:
                self._best_key, self.best_epoch, self._since_best = key, epoch, 0
                self.best_weights = self.model.get_weights()
            else:
                self._since_best += 1
            self.report(EpochEnd(self.run_id, epoch + 1, self.config.epochs, values["loss"], values["accuracy"],
                                 values["val_loss"], values["val_accuracy"], seconds))
            patience = self.config.early_stopping_patience
            if patience and self._since_best >= patience:
                self.model.stop_training = True

        def restart_patience(self) -> None:
            self._since_best = 0

        def close(self) -> None:
            for w in self._writers.values():
                w.close()

    _PROGRESS_CLASS = Progress
    return Progress


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

