"""The three reference architectures of the original notebook: a dense net, a CNN and a CNN with dropout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.core.training.architectures import Architecture, register

if TYPE_CHECKING:
    import keras


def sequential(name: str, input_shape: tuple[int, int, int], stack: list[Any]) -> keras.Model:
    import keras

    return keras.Sequential([keras.Input(shape=tuple(input_shape)), *stack], name=name)


def _dense(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    from keras import layers

    return sequential("dense", input_shape, [
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

    return sequential("cnn", input_shape, [
        *_conv_stack(),
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ])


def _cnn_dropout(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    from keras import layers

    # As in the original notebook: the conv stack, Dropout 0.5, then Dense 250 in place of Dense 100.
    return sequential("cnn_dropout", input_shape, [
        *_conv_stack(),
        layers.Dropout(0.5),
        layers.Flatten(),
        layers.Dense(250, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ])


CNN = register(Architecture(
    "cnn", _cnn, "Classic CNN", "Three layers that learn small patterns, then larger ones, then a decision.",
    good_for="simple pictures such as digits, icons and symbols", speed="fast to train; small file",
    description="CNN: Conv 32/64/128 (3x3, ReLU) each with 2x2 max-pool, Dense 100, softmax", rank=20))
CNN_DROPOUT = register(Architecture(
    "cnn_dropout", _cnn_dropout, "Classic CNN with dropout",
    "The classic CNN, taught to rely on no single detail (it randomly ignores half of them while training).",
    good_for="bigger data sets where the classic CNN memorises", speed="like the classic CNN; needs more epochs",
    description="CNN with Dropout 0.5 and Dense 250 before the softmax", rank=30))
DENSE = register(Architecture(
    "dense", _dense, "Simple dense network",
    "Looks at every pixel at once, without any notion of shape; a baseline to beat.",
    good_for="tiny, centred, clean images", speed="fastest to train; file grows with the image size",
    description="Dense network: Flatten, Dense 150, Dense 150 (ReLU), softmax", rank=40))
