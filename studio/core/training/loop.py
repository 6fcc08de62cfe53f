"""One training loop for every tf.distribute strategy: ``fit(model, train_ds, val_ds, ...) -> FitResult``.

Keras 3's ``model.fit`` does not run under ``MultiWorkerMirroredStrategy`` (keras issue 20585), so every run
trains here: a ``@tf.function`` step runs ``strategy.run`` of a replica step (``tf.GradientTape``, per-example
sparse categorical cross-entropy on the model's class probabilities, class weights, the loss divided by the
global batch so the optimizer's cross-replica SUM of gradients is the mean), then the Keras optimizer applies
the gradients. The same code runs under the default strategy (one device, no wrapper), ``MirroredStrategy``
(several local GPUs) and ``MultiWorkerMirroredStrategy`` (TF_CONFIG).

It keeps what a run reports: a throttled :class:`BatchEnd` with the running loss/accuracy, one
:class:`EpochEnd` per finished epoch (metrics over every worker), cooperative cancel checked before every
batch, best-epoch weights (highest val accuracy, then lowest val loss), early stopping and TensorBoard
scalars. Metrics follow ``model.fit``: the training loss is the class-weighted mean, the training accuracy is
weighted by the class weights too, validation metrics are unweighted.

With several workers every decision that changes what the next collective is (stop for a cancel, early stop,
the end of validation) is agreed by all of them: a cancel on any worker stops all of them at the same batch;
early stopping and best epochs follow from metrics that are identical on every worker.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core import events
from studio.core.events import BatchEnd, CancelToken, EpochEnd, Reporter
from studio.core.project.runs import HISTORY_METRICS as METRICS

if TYPE_CHECKING:
    import keras
    import numpy as np
    import tensorflow as tf

BATCH_EVENT_INTERVAL = 0.1  # seconds: at most 10 batch events a second


class ClusterError(RuntimeError):
    """Another worker of a multi-worker run stopped answering (died, was killed, or the network failed)."""


@dataclass
class FitResult:
    """What a fit produced. ``epochs`` holds the finished epochs only (METRICS + ``seconds``)."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0                       # index into ``epochs``
    best_weights: list[np.ndarray] | None = None
    cancelled: bool = False
    current_epoch: int = 0                    # 1-based epoch that was running when the fit ended

    def history(self) -> dict[str, list[float]]:
        return {k: [e[k] for e in self.epochs] for k in METRICS}


def fit(model: keras.Model, train_ds: tf.data.Dataset, val_ds: tf.data.Dataset, *, epochs: int,
        steps_per_epoch: int, strategy: tf.distribute.Strategy | None = None,
        reporter: Reporter = events.ignore, cancel: CancelToken | None = None, run_id: str = "",
        class_weights: Mapping[int, float] | Sequence[float] | None = None, patience: int = 0,
        log_dir: Path | None = None, optimizer: keras.optimizers.Optimizer | None = None,
        first_epoch: int = 0, total_epochs: int | None = None, last_is_best: bool = False) -> FitResult:
    """Train ``model`` (built under ``strategy.scope()``; compiled or not) on ``train_ds`` for ``epochs`` x
    ``steps_per_epoch`` batches, validating on ``val_ds`` after each epoch.

    ``train_ds`` yields ``(inputs, labels)`` batches without end (the global batch: under several replicas or
    workers each gets its share); ``val_ds`` is finite. The model outputs class probabilities (softmax).
    The optimizer is ``optimizer``, else the compiled model's, else Adam. ``class_weights`` maps a class index
    to its weight (missing classes weigh 1). ``patience`` > 0 stops after that many epochs without a better
    validation. ``log_dir`` receives TensorBoard scalars (``train/`` and ``validation/``); pass None (and
    ``events.ignore``) on workers that must not write. A collective failure under several workers raises
    :class:`ClusterError` with a readable message. A second phase of one run (fine-tuning) passes
    ``first_epoch`` (epochs already done) and ``total_epochs`` so its events and scalars continue the count.
    ``last_is_best`` (a convex objective trained to convergence, like the pretrained head): every epoch runs and
    the last one is the result; validation is still measured and reported each epoch.
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    loop = _Loop(model, strategy, optimizer, class_weights, train_ds, val_ds)
    try:
        return loop.run(epochs, steps_per_epoch, reporter, cancel or CancelToken(), run_id, patience, log_dir,
                        first_epoch, total_epochs or first_epoch + epochs, last_is_best)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
            tf.errors.CancelledError, tf.errors.InternalError) as exc:
        if not loop.multi_worker:
            raise
        raise ClusterError(_lost_worker_message(str(exc))) from exc


def _lost_worker_message(text: str) -> str:
    """One readable line out of a collective's failure (TensorFlow's text runs to many lines)."""
    import re

    unhealthy = re.search(r"unhealthy[^/]*((?:\s*/job:\w+/replica:\d+/task:\d+)+)", text)
    if unhealthy:
        tasks = re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", unhealthy.group(1))
        who = ", ".join(f"{job} {index}" for job, index in tasks)
        return (f"lost contact with training {who}: it stopped sending heartbeats (crashed, killed or cut off); "
                "the run stops on every worker")
    if "failed to connect" in text or "Connection reset" in text or "Socket closed" in text:
        return ("lost contact with another training worker: its address stopped answering (crashed, killed or "
                "cut off); the run stops on every worker")
    first = text.strip().splitlines()[0] if text.strip() else "no detail"
    first = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", first)
    return f"lost contact with another training worker ({first[:200]}); the run stops on every worker"


def chain(first: FitResult, second: FitResult) -> FitResult:
    """One run's result from two phases (fine-tuning after the head): all epochs, and the better best epoch
    by the same key the loop uses (validation accuracy, then lower validation loss)."""
    out = FitResult(epochs=first.epochs + second.epochs, cancelled=second.cancelled,
                    current_epoch=second.current_epoch or first.current_epoch)
    out.best_epoch, out.best_weights = first.best_epoch, first.best_weights

    def key(e: dict[str, float]) -> tuple[float, float]:
        return e["val_accuracy"], -e["val_loss"]

    better = second.epochs and (not first.epochs or
                                key(second.epochs[second.best_epoch]) > key(first.epochs[first.best_epoch]))
    if better:
        out.best_epoch, out.best_weights = len(first.epochs) + second.best_epoch, second.best_weights
    return out


def final_model(model: keras.Model, result: FitResult, strategy: tf.distribute.Strategy | None = None) -> keras.Model:
    """The model to save and evaluate: the best epoch's weights, and under a multi-worker strategy a plain
    copy built outside it (Keras' predict would otherwise split the data across the workers)."""
    if strategy is not None and is_multi_worker(strategy):
        import keras

        copy = keras.models.clone_model(model)
        copy.set_weights(result.best_weights if result.best_weights is not None else model.get_weights())
        if getattr(model, "optimizer", None) is not None:  # saved like the single-machine model
            copy.compile(optimizer=type(model.optimizer).from_config(model.optimizer.get_config()),
                         loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return copy
    if result.best_weights is not None:
        model.set_weights(result.best_weights)
    return model


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


class _Loop:
    """The compiled step functions and accumulators of one fit."""

    def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy,
                 optimizer: keras.optimizers.Optimizer | None,
                 class_weights: Mapping[int, float] | Sequence[float] | None,
                 train_ds: tf.data.Dataset, val_ds: tf.data.Dataset) -> None:
        import keras
        import tensorflow as tf

        self.model, self.strategy = model, strategy
        self.multi_worker = is_multi_worker(strategy)
        self.replicas = strategy.num_replicas_in_sync
        n_classes = int(model.output_shape[-1])
        weights = [1.0] * n_classes
        if class_weights is not None:
            items = class_weights.items() if isinstance(class_weights, Mapping) else enumerate(class_weights)
            for i, w in items:
                weights[int(i)] = float(w)
        self.weighted = class_weights is not None
        with strategy.scope():
            self.optimizer = optimizer or getattr(model, "optimizer", None) or keras.optimizers.Adam()
            if not self.optimizer.built:
                self.optimizer.build(model.trainable_variables)
        self.class_weights = tf.constant(weights, tf.float32)
        # Sums over this worker's replicas: weighted loss, weighted correct, weight, examples. Created
        # outside the strategy: a plain local variable, read without any collective (batch events).
        self.train_sums = tf.Variable(tf.zeros(4), trainable=False, name="train_sums")
        self.val_sums = tf.Variable(tf.zeros(4), trainable=False, name="val_sums")
        # XLA as model.fit would use it (Keras resolves jit_compile to False on CPU and under tf.distribute).
        jit = bool(getattr(model, "jit_compile", False)) and not self.multi_worker and self.replicas == 1
        self._train_replica = tf.function(self._train_replica_step, jit_compile=jit)
        self._eval_replica = tf.function(self._eval_replica_step, jit_compile=jit)
        self.train_step = tf.function(self._train_step)
        self.eval_step = tf.function(self._eval_step, reduce_retracing=True)
        self.train_iter = iter(strategy.experimental_distribute_dataset(train_ds))
        self.val_dist = strategy.experimental_distribute_dataset(val_ds)

    # ----- compiled pieces -------------------------------------------------------------------
    def _sums(self, x: tf.Tensor, y: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        import keras
        import tensorflow as tf

        y = tf.cast(tf.reshape(y, [-1]), tf.int32)
        probs = self.model(x, training=training)
        per_example = keras.losses.sparse_categorical_crossentropy(y, probs)
        correct = tf.cast(tf.equal(tf.cast(tf.argmax(probs, axis=-1), tf.int32), y), tf.float32)
        w = tf.gather(self.class_weights, y) if (training and self.weighted) else tf.ones_like(per_example)
        n = tf.cast(tf.shape(y)[0], tf.float32)
        weighted_loss = tf.reduce_sum(per_example * w)
        return weighted_loss, tf.stack([weighted_loss, tf.reduce_sum(correct * w), tf.reduce_sum(w), n]), n

    def _train_replica_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            weighted_loss, sums, n = self._sums(x, y, True)
            if self.replicas > 1:
                # The global batch of this step (the last batch of an epoch is smaller; a replica may get
                # none): the mean over it, as model.fit's sum_over_batch_size, once gradients are summed.
                n = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, n)
            loss = weighted_loss / tf.maximum(n, 1.0)
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return sums

    def _train_step(self, iterator: Any) -> None:
        x, y = next(iterator)
        sums = self.strategy.run(self._train_replica, args=(x, y))
        self.train_sums.assign_add(tf_add_local(self.strategy, sums))

    def _eval_replica_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return self._sums(x, y, False)[1]

    def _eval_step(self, batch: Any) -> None:
        x, y = batch
        sums = self.strategy.run(self._eval_replica, args=(x, y))
        self.val_sums.assign_add(tf_add_local(self.strategy, sums))

    def _global(self, sums: tf.Variable) -> np.ndarray:
        """The sums over every worker (a collective: every worker calls it at the same point)."""
        if not self.multi_worker:
            return sums.numpy()
        return self._all_workers_sum(sums.read_value()).numpy()

    def _agree(self, flag: bool) -> bool:
        """True when ``flag`` is true on any worker (a collective under several workers)."""
        if not self.multi_worker:
            return flag
        import tensorflow as tf

        return bool(self._all_workers_sum(tf.constant([1.0 if flag else 0.0])).numpy()[0] > 0)

    def _all_workers_sum(self, value: tf.Tensor) -> tf.Tensor:
        if not hasattr(self, "_sum_fn"):
            import tensorflow as tf

            local = float(len(self.strategy.extended.worker_devices))

            @tf.function(reduce_retracing=True)
            def all_sum(v: tf.Tensor) -> tf.Tensor:
                per_replica = self.strategy.run(lambda: v / local)  # each local replica holds a share
                return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

            self._sum_fn = all_sum
        return self._sum_fn(value)

    # ----- the loop --------------------------------------------------------------------------
    def run(self, epochs: int, steps: int, report: Reporter, cancel: CancelToken, run_id: str, patience: int,
            log_dir: Path | None, first_epoch: int, total_epochs: int, last_is_best: bool = False) -> FitResult:
        import tensorflow as tf

        result = FitResult()
        writers = {name: tf.summary.create_file_writer(str(log_dir / name)) for name in ("train", "validation")} \
            if log_dir is not None else {}
        best_key: tuple[float, float] | None = None
        since_best = 0
        try:
            for epoch in range(first_epoch, first_epoch + epochs):
                result.current_epoch = epoch + 1
                started = time.monotonic()
                self.train_sums.assign(tf.zeros(4))
                last_event = 0.0
                for batch in range(steps):
                    if self._agree(cancel.cancelled):
                        result.cancelled = True
                        return result  # a partial epoch is not an epoch
                    self.train_step(self.train_iter)
                    now = time.monotonic()
                    if now - last_event >= BATCH_EVENT_INTERVAL or batch + 1 == steps:
                        last_event = now
                        s = self.train_sums.numpy()
                        report(BatchEnd(run_id, epoch + 1, batch + 1, steps, _ratio(s[0], s[3]),
                                        _ratio(s[1], s[2])))
                train = self._global(self.train_sums)
                if not self._validate(cancel):
                    result.cancelled = True
                    return result
                val = self._global(self.val_sums)
                values = {"loss": _ratio(train[0], train[3]), "accuracy": _ratio(train[1], train[2]),
                          "val_loss": _ratio(val[0], val[3]), "val_accuracy": _ratio(val[1], val[2])}
                seconds = time.monotonic() - started
                result.epochs.append({**values, "seconds": seconds})
                for name, prefix in (("train", ""), ("validation", "val_")):
                    if name in writers:
                        with writers[name].as_default():
                            tf.summary.scalar("epoch_loss", values[prefix + "loss"], step=epoch)
                            tf.summary.scalar("epoch_accuracy", values[prefix + "accuracy"], step=epoch)
                key = (values["val_accuracy"], -values["val_loss"])
                if best_key is None or key > best_key or last_is_best:
                    best_key, result.best_epoch, since_best = key, len(result.epochs) - 1, 0
                    result.best_weights = self.model.get_weights()
                else:
                    since_best += 1
                report(EpochEnd(run_id, epoch + 1, total_epochs, values["loss"], values["accuracy"], values["val_loss"],
                                values["val_accuracy"], seconds))
                if patience and since_best >= patience:
                    break
        finally:
            for w in writers.values():
                w.close()
        return result

    def _validate(self, cancel: CancelToken) -> bool:
        """Run the validation set; False when cancelled (checked before each batch on one worker; with
        several, agreed once at the end, since every worker must walk the whole distributed dataset)."""
        import tensorflow as tf

        self.val_sums.assign(tf.zeros(4))
        for batch in self.val_dist:
            if not self.multi_worker and cancel.cancelled:
                return False
            self.eval_step(batch)
        return not self._agree(cancel.cancelled)


def tf_add_local(strategy: tf.distribute.Strategy, value: Any) -> tf.Tensor:
    """The sum of a per-replica value over this worker's replicas (no collective)."""
    import tensorflow as tf

    parts = strategy.experimental_local_results(value)
    return parts[0] if len(parts) == 1 else tf.add_n(list(parts))


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")
