"""``pretrained``: ImageNet EfficientNet-Lite0 (frozen) with a new softmax head, trained on cached features.

The head's training recipe is :mod:`studio.core.training.pretrained`; the backbone is
:mod:`studio.core.training.backbone`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.core.training.architectures import PRETRAINED, Architecture, register
from studio.core.training.backbone import DEFAULT_IMAGE_SIZE

if TYPE_CHECKING:
    import keras

DROPOUT = 0.2
# The head trains on cached features, one full-batch step per epoch (milliseconds): 100 steps bring its
# regularised objective to convergence (studio/core/training/pretrained.py; measured in bench/few_shot.py).
EPOCHS = 100


def _pretrained(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """Backbone (its own input scaling inside), global average pooling, Dropout 0.2, a softmax head. Gray input
    is widened to three channels first."""
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
    x = layers.Dropout(DROPOUT, name="head_dropout")(x)
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


PRETRAINED_ARCH = register(Architecture(
    PRETRAINED, _pretrained, "Pretrained (learns from few images)",
    "Starts from a network that has already seen millions of photos and only learns your classes on top.",
    good_for="photos and real-world objects, especially with few images per class",
    speed="trains fast; a bigger download in the browser (a few MB)",
    description="Pretrained EfficientNet-Lite0 (ImageNet, frozen) with a new softmax head: best for few images",
    image_size=DEFAULT_IMAGE_SIZE, color="rgb", cached_features=True, epochs=EPOCHS, augments_small_data=False,
    # uint8, its sensitive tensors kept float16 (export/targets/tfjs.py quantization_map): a page under 6 MB with
    # the browser's top-1 equal to predict on 21 photos (tests/web/test_pretrained_bundle.py); float16: 8.6 MB.
    export_quantization=("uint8",), rank=0))
