"""Architecture registry: one factory per model, ``build(name, input_shape, n_classes) -> keras.Model``.

Models hold inference layers only (no preprocessing, no augmentation), so the exported web model is exactly
the trained network; preprocessing is :func:`studio.core.preprocess.preprocess`, augmentation lives in the
input pipeline. Convolutions use ``same`` padding so every allowed input size (8..512 px) builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

PRETRAINED = "pretrained"
PRETRAINED_DROPOUT = 0.2
Factory = Callable[[tuple[int, int, int], int], "keras.Model"]


def _dense(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    from keras import layers

    return _sequential("dense", input_shape, [
        layers.Flatten(),
        layers.Dense(150, activation="relu"),
        layers.Dense(150, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ])


def _conv_stack() -> list[Any]:
    from keras import layers

    out: list[Any] = []
    for filters in (32, 64, 128):
        out += [layers.Conv2D(filters, 3, padding="same", activation="relu"), layers.MaxPooling2D(2)]
    return out


def _cnn(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    from keras import layers

    return _sequential("cnn", input_shape, [
        *_conv_stack(),
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ])


def _cnn_dropout(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    from keras import layers

    # As in the original notebook: the conv stack, Dropout 0.5, then Dense 250 in place of Dense 100.
    return _sequential("cnn_dropout", input_shape, [
        *_conv_stack(),
        layers.Dropout(0.5),
        layers.Flatten(),
        layers.Dense(250, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ])


def _compact(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """Browser-first: depthwise-separable convolutions with batch normalisation and global average pooling,
    so the parameter count does not grow with the input size (no Flatten -> Dense)."""
    from keras import layers

    def block(filters: int, separable: bool = True) -> list[Any]:
        conv = layers.SeparableConv2D if separable else layers.Conv2D
        # Momentum 0.9: the moving statistics settle within an epoch or two on small projects (0.99 left
        # validation at chance for ~10 epochs on the demo).
        return [conv(filters, 3, padding="same", use_bias=False), layers.BatchNormalization(momentum=0.9),
                layers.ReLU()]

    return _sequential("compact", input_shape, [
        *block(24, separable=False), layers.MaxPooling2D(2),
        *block(48), layers.MaxPooling2D(2),
        *block(96), layers.MaxPooling2D(2),
        *block(128),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.2),
        layers.Dense(n_classes, activation="softmax"),
    ])


def _pretrained(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """ImageNet EfficientNet-Lite0 (frozen, its own input scaling inside, see :mod:`studio.core.training.backbone`),
    global average pooling, Dropout 0.2, a softmax head. Gray input is widened to three channels first."""
    import keras
    from keras import layers

    from studio.core.training import backbone

    inputs = keras.Input(shape=tuple(input_shape))
    x = inputs
    if input_shape[-1] == 1:
        x = layers.Concatenate(name="gray_to_rgb")([inputs, inputs, inputs])
    features = backbone.build((input_shape[0], input_shape[1], 3))
    features.trainable = False
    x = features(x)
    x = layers.Dropout(PRETRAINED_DROPOUT, name="head_dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=PRETRAINED)


def head(n_classes: int, l2: float = 0.0) -> keras.Model:
    """The trainable part of ``pretrained`` alone, on backbone feature vectors (trained on cached features):
    a softmax layer with an L2 penalty ``l2`` on its weights, i.e. a regularised logistic regression."""
    import keras
    from keras import layers

    from studio.core.training.backbone import FEATURE_DIM

    inputs = keras.Input(shape=(FEATURE_DIM,))
    regulariser = keras.regularizers.L2(l2) if l2 > 0 else None
    outputs = layers.Dense(n_classes, activation="softmax", name="head", kernel_regularizer=regulariser)(inputs)
    return keras.Model(inputs, outputs, name="pretrained_head")


def _sequential(name: str, input_shape: tuple[int, int, int], stack: list[Any]) -> keras.Model:
    import keras

    return keras.Sequential([keras.Input(shape=tuple(input_shape)), *stack], name=name)


_FACTORIES: dict[str, Factory] = {
    PRETRAINED: _pretrained,
    "dense": _dense,
    "cnn": _cnn,
    "cnn_dropout": _cnn_dropout,
    "compact": _compact,
}

ARCHITECTURES: tuple[str, ...] = tuple(_FACTORIES)

DESCRIPTIONS: dict[str, str] = {
    PRETRAINED: "Pretrained EfficientNet-Lite0 (ImageNet, frozen) with a new softmax head: best for few images",
    "dense": "Dense network: Flatten, Dense 150, Dense 150 (ReLU), softmax",
    "cnn": "CNN: Conv 32/64/128 (3x3, ReLU) each with 2x2 max-pool, Dense 100, softmax",
    "cnn_dropout": "CNN with Dropout 0.5 and Dense 250 before the softmax",
    "compact": "Compact browser-first CNN: separable convolutions, batch norm, global average pooling",
}


# Weight quantization an export uses unless asked otherwise. Pretrained: uint8, whose tensors that per-tensor
# uint8 would hurt stay float16 (studio/core/export/targets/tfjs.py, quantization_map): the page fits in 6 MB
# and keeps Python's top-1 (tests/web/test_pretrained_bundle.py); float16 alone made a 9.4 MB page.
DEFAULT_QUANTIZATION: dict[str, str] = {PRETRAINED: "uint8"}


# Epochs an architecture trains for unless asked otherwise. The pretrained head trains on cached features, one
# full-batch step per epoch (milliseconds): 100 steps bring its regularised objective to convergence
# (studio/core/training/pretrained.py; measured in bench/few_shot.py).
DEFAULT_EPOCHS_BY_ARCH: dict[str, int] = {PRETRAINED: 100}


def default_epochs(name: str) -> int | None:
    """The epoch budget an architecture brings (None: the general default)."""
    return DEFAULT_EPOCHS_BY_ARCH.get(name)


def default_quantization(name: str) -> str:
    return DEFAULT_QUANTIZATION.get(name, "none")


def default_image_size(name: str) -> int | None:
    """The input size an architecture is trained at unless asked otherwise (None: the project's setting)."""
    if name == PRETRAINED:
        from studio.core.training.backbone import DEFAULT_IMAGE_SIZE

        return DEFAULT_IMAGE_SIZE
    return None


def build(name: str, input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """A fresh, uncompiled model; raises ``ValueError`` for an unknown name or fewer than 2 classes."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    if n_classes < 2:
        raise ValueError("a classifier needs at least 2 classes")
    return _FACTORIES[name](tuple(int(d) for d in input_shape), int(n_classes))  # type: ignore[arg-type]


def describe(model: keras.Model) -> dict[str, int]:
    """``params`` (all weights, trainable or not) and ``weight_bytes`` (float32 size of those weights)."""
    import numpy as np

    sizes = [(int(np.prod(w.shape)), np.dtype(w.dtype).itemsize) for w in model.weights]
    return {"params": sum(n for n, _ in sizes), "weight_bytes": sum(n * b for n, b in sizes)}
