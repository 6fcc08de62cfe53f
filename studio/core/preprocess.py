"""The one definition of preprocessing: decoded RGB pixels -> model input tensor.

Training, evaluation, prediction and the augmentation preview call :func:`preprocess`, and the web export
bakes the same function into the exported graph, so the browser sees exactly what Python sees.
TensorFlow is imported inside the function so that importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.core.specs import PreprocessSpec

if TYPE_CHECKING:
    import tensorflow as tf


def preprocess(images: Any, spec: PreprocessSpec) -> tf.Tensor:
    """RGB batch ``[N, H, W, 3]`` (uint8 or float 0..255, any H and W) -> float32 ``[N, S, S, C]`` in 0..1.

    Steps, in this order: bilinear resize to ``spec.image_size`` (half-pixel centres, no antialiasing, no
    aspect-ratio crop) -> ITU-R 601 luma when ``spec.color == "gray"`` -> divide by 255.
    A single image ``[H, W, 3]`` is accepted too and returns ``[S, S, C]``.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(images)
    single = x.shape.rank == 3
    if single:
        x = x[tf.newaxis]
    x = tf.cast(x, tf.float32)
    size = int(spec.image_size)
    if tuple(x.shape[1:3]) != (size, size):  # at the size already, the resize is the identity (a board's
        x = tf.image.resize(x, (size, size), method="bilinear", antialias=False)  # fixed input skips the op)
    if spec.color == "gray":
        x = tf.image.rgb_to_grayscale(x)
    x = x / 255.0
    return x[0] if single else x
