"""The ``pretrained`` architecture's part of a run: the head trains on cached backbone features, then
preprocessing-ready backbone + head are composed into the run's model; ``fine_tune`` adds a second phase.

:mod:`studio.core.training.run` runs the same fit path, events, early stopping, report and run folder as for
every architecture; this module only supplies what differs: the head model and feature datasets
(:func:`prepare`), the composed model (:meth:`Prepared.compose`) and the fine-tuning model and image datasets
(:func:`fine_tune_setup`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.events import CancelToken, FeatureProgress, Reporter
from studio.core.project.store import Project
from studio.core.specs import AUGMENT_PRESETS, AugmentSpec, TrainConfig
from studio.core.training import architectures, backbone
from studio.core.training.data import SplitItems, eval_dataset, train_dataset
from studio.core.training.features import image_features, view_features
from studio.core.training.models.pretrained import head as head_model

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

# The head is a regularised multinomial logistic regression on the features (scikit-learn's default objective,
# C = 1: an L2 penalty of 1 / (2 n) per training image), trained full batch to convergence: one Adam step per
# epoch at its own learning rate, every epoch run and the last one kept. Choosing an epoch by a few dozen
# validation images picks noise: measured on the photo crops of bench/few_shot.py (8 classes, 10 / 20 / 30
# labelled per class), this recipe gave 0.885 / 0.875 / 0.897 test accuracy over 3 seeds where minibatches at
# 1e-3 with early stopping gave 0.72 / 0.87 / 0.89; a converged scikit-learn LogisticRegression 0.90 / 0.88 / 0.92.
HEAD_LEARNING_RATE = 0.03
# The head also learns from HEAD_VIEWS augmented views of each training image (small crops, turns and lighting;
# mirrored too when the run's own augmentation mirrors), their features cached like the plain ones. Measured with
# bench/few_shot.py and README "Few photos": +0.5-1 point on photo crops at 128-224 px; 4 views did as well as 8.
HEAD_VIEWS = 4
HEAD_VIEW_AUGMENT = AugmentSpec(rotation=8, width_shift=0.08, height_shift=0.08, zoom=(0.85, 1.0), brightness=0.1,
                                contrast=0.1)
HEAD_MAX_BATCH = 4096   # larger projects take several steps per epoch

# Fine-tuning: the last blocks (and the head convolution) learn, at this fraction of the run's learning rate.
FINE_TUNE_BLOCKS = 3
FINE_TUNE_LR_FACTOR = 0.05
FINE_TUNE_AUGMENT = "Light"  # when the run has no augmentation of its own


@dataclass
class Prepared:
    head: keras.Model
    train_ds: tf.data.Dataset
    val_ds: tf.data.Dataset
    feature_seconds: float
    steps_per_epoch: int  # of the head phase (full batches)

    def compose(self, config: TrainConfig, n_classes: int, strategy: tf.distribute.Strategy) -> keras.Model:
        """Backbone + the trained head as one model on the studio's preprocessed input."""
        with strategy.scope():
            model = architectures.build(config.arch, config.preprocess.input_shape, n_classes)
        model.get_layer("head").set_weights(self.head.get_layer("head").get_weights())
        return model


def prepare(project: Project, run_id: str, config: TrainConfig, splits: dict[str, SplitItems], n_classes: int,
            strategy: tf.distribute.Strategy, report: Reporter, cancel: CancelToken) -> Prepared:
    """Features of the train and validation images (cached), the compiled head and its datasets."""
    import time

    import keras
    import tensorflow as tf

    from studio.core.training.data import finish

    started = time.monotonic()
    spec = config.preprocess
    ids = [i for s in ("train", "val") for i in splits[s].image_ids]
    n_views = HEAD_VIEWS * len(splits["train"])
    feats = image_features(project, ids, image_size=spec.image_size, color=spec.color, cancel=cancel,
                           progress=lambda d, t: report(FeatureProgress(run_id, d, t + n_views)))
    views = view_features(project, splits["train"].image_ids, views=HEAD_VIEWS, augment=view_augment(config),
                          image_size=spec.image_size, color=spec.color, cancel=cancel,
                          progress=lambda d, t: report(FeatureProgress(run_id, len(ids) + d, len(ids) + t)))
    n_plain = len(splits["train"])
    x_train = np.concatenate([feats.vectors[:n_plain], views.reshape(-1, views.shape[-1])])
    x_val = feats.vectors[n_plain:]
    y_plain = np.asarray(splits["train"].labels, np.int32)
    y_train = np.concatenate([y_plain, np.repeat(y_plain, HEAD_VIEWS)])
    n_train = len(y_train)
    y_val = np.asarray(splits["val"].labels, np.int32)
    batch = max(1, min(n_train, HEAD_MAX_BATCH))
    train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                .shuffle(max(1, n_train), seed=config.seed, reshuffle_each_iteration=True)
                .batch(batch).repeat())
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(batch)
    with strategy.scope():
        head = head_model(n_classes, l2=1.0 / (2 * max(1, n_train)))
        head.compile(optimizer=keras.optimizers.Adam(HEAD_LEARNING_RATE),
                     loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return Prepared(head, finish(train_ds), finish(val_ds), time.monotonic() - started, -(-n_train // batch))


def view_augment(config: TrainConfig) -> AugmentSpec:
    """The views' augmentation: mirrored only where the run's own augmentation mirrors."""
    own = config.augment if config.use_augment else AugmentSpec()
    return replace(HEAD_VIEW_AUGMENT, horizontal_flip=own.horizontal_flip)


def fine_tune_setup(model: keras.Model, config: TrainConfig, splits: dict[str, SplitItems],
                    strategy: tf.distribute.Strategy, cache: Path) -> tuple[Any, Any, Any]:
    """``model`` (composed) with its last blocks trainable, compiled at a low learning rate, and the image
    datasets with augmentation (the run's own, else the Light preset). Batch norm stays in inference mode."""
    import keras

    features = model.get_layer(backbone.NAME)
    features.trainable = True
    first = backbone.N_BLOCKS - FINE_TUNE_BLOCKS
    for layer in features.layers:
        block = backbone.block_of(layer.name)
        layer.trainable = (block is not None and block >= first
                           and not isinstance(layer, keras.layers.BatchNormalization))
    with strategy.scope():
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate * FINE_TUNE_LR_FACTOR),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    augment = config.augment if config.use_augment and config.augment.enabled else AUGMENT_PRESETS[FINE_TUNE_AUGMENT]
    train_ds = train_dataset(splits["train"], config.preprocess, config.batch_size, config.seed + 1, augment,
                             cache / "train")
    val_ds = eval_dataset(splits["val"], config.preprocess, config.batch_size, cache / "val")
    return model, train_ds, val_ds
