"""train_loop.fit on its own: an uncompiled head on feature vectors (how a pretrained run trains its head)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.events import BatchEnd, CancelToken, EpochEnd, Event
from studio.core.training.loop import fit


def _data() -> tuple[object, object]:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8)).astype("float32")
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((x[:70], y[:70])).shuffle(70, seed=0).batch(16).repeat()
    val = tf.data.Dataset.from_tensor_slices((x[70:], y[70:])).batch(16)  # 30: a partial last batch
    return train, val


def _head() -> object:
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])


def test_fit_trains_an_uncompiled_model_and_reports_keras_metrics(tmp_path: Path) -> None:
    import keras

    train, val = _data()
    model = _head()
    got: list[Event] = []
    result = fit(model, train, val, epochs=4, steps_per_epoch=5, reporter=got.append, run_id="r",
                 log_dir=tmp_path / "logs", optimizer=keras.optimizers.Adam(0.05))
    assert not result.cancelled and len(result.epochs) == 4 and result.current_epoch == 4
    ends = [e for e in got if isinstance(e, EpochEnd)]
    assert [(e.run, e.epoch, e.epochs) for e in ends] == [("r", i, 4) for i in (1, 2, 3, 4)]
    assert all(isinstance(e, BatchEnd) and e.steps == 5 for e in got if not isinstance(e, EpochEnd))
    assert result.history()["val_accuracy"] == [e.val_accuracy for e in ends]
    assert result.epochs[-1]["val_accuracy"] > 0.8
    assert list((tmp_path / "logs" / "validation").iterdir())

    # The best epoch's validation metrics are what Keras' own evaluate says of the best weights.
    best = result.epochs[result.best_epoch]
    assert best["val_accuracy"] == max(result.history()["val_accuracy"])
    model.set_weights(result.best_weights)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(val, verbose=0)
    assert loss == pytest.approx(best["val_loss"], rel=1e-5) and accuracy == pytest.approx(best["val_accuracy"])


def test_fit_cancelled_before_a_batch_runs_no_epoch() -> None:
    train, val = _data()
    cancel = CancelToken()
    cancel.cancel()
    result = fit(_head(), train, val, epochs=3, steps_per_epoch=5, cancel=cancel)
    assert result.cancelled and result.epochs == [] and result.best_weights is None and result.current_epoch == 1


def test_last_is_best_runs_every_epoch_and_keeps_the_last_weights() -> None:
    """The pretrained head's mode: patience is not applied and the last epoch is the result."""
    import keras

    train, val = _data()
    model = _head()
    result = fit(model, train, val, epochs=6, steps_per_epoch=5, patience=1, last_is_best=True,
                 optimizer=keras.optimizers.Adam(0.5))  # a large step: validation does not improve every epoch
    assert len(result.epochs) == 6 and result.best_epoch == 5
    assert all(np.array_equal(a, b) for a, b in zip(result.best_weights, model.get_weights()))
