"""The heat of each architecture: which method, and that the forward-op Grad-CAM equals TensorFlow's own
gradient (the web export carries the forward-op version, so the browser needs no gradient kernels)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.evaluation.why_graph import CAM, GRADCAM, GRADIENT, plan, smoothgrad, why_maps

tf = pytest.importorskip("tensorflow")


def _model(arch: str, size: int = 20, channels: int = 3, n: int = 3):
    import keras

    from studio.core.training import architectures

    keras.utils.set_random_seed(3)
    return architectures.build(arch, (size, size, channels), n)


def _images(size: int, channels: int = 3, n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (n, size, size, channels)).astype(np.float32)


@pytest.mark.parametrize(("arch", "method"), [("cnn", GRADCAM), ("cnn_dropout", GRADCAM), ("compact", CAM),
                                              ("dense", GRADIENT)])
def test_each_architecture_gets_its_method(arch: str, method: str) -> None:
    assert plan(_model(arch)).method == method


def _reference_gradcam(model, x: np.ndarray, feature_index: int) -> np.ndarray:
    """Textbook Grad-CAM with tf.GradientTape on the centred logits (each logit less the mean of all: what
    softmax depends on), for every class: [N, h, w, K] before resizing."""
    layers = model.layers
    maps = []
    for c in range(layers[-1].units):
        with tf.GradientTape() as tape:
            h = tf.constant(x)
            for layer in layers[: feature_index + 1]:
                h = layer(h, training=False)
            a = h
            tape.watch(a)
            for layer in layers[feature_index + 1:-1]:
                h = layer(h, training=False)
            logit = tf.matmul(h, layers[-1].kernel) + layers[-1].bias
            score = tf.reduce_sum(logit[:, c] - tf.reduce_mean(logit, axis=1))
        grads = tape.gradient(score, a)
        weights = tf.reduce_mean(grads, axis=[1, 2])
        maps.append(tf.einsum("nhwc,nc->nhw", a, weights))
    return np.stack([np.asarray(m) for m in maps], axis=-1)


@pytest.mark.parametrize(("arch", "size"), [("cnn", 20), ("cnn_dropout", 24), ("cnn", 26)])
def test_forward_op_gradcam_equals_the_gradient_tape(arch: str, size: int) -> None:
    # 26 px: the last conv map is 6x6 and its max-pool drops nothing; 20 px: 5x5, the pool drops a row and column.
    model = _model(arch, size)
    p = plan(model)
    x = _images(size)
    reference = np.maximum(_reference_gradcam(model, x, p.feature_index), 0)
    reference = np.asarray(tf.image.resize(reference, (size, size), method="bilinear"))
    reference = reference / np.maximum(reference.max(axis=(1, 2), keepdims=True), 1e-12)
    probs, maps = why_maps(p, tf.constant(x))
    np.testing.assert_allclose(np.asarray(probs), np.asarray(model(x)), atol=1e-6)
    assert maps.shape == (2, size, size, 3)
    np.testing.assert_allclose(np.asarray(maps), reference, atol=1e-4)


def test_cam_is_the_feature_map_weighted_by_the_answer() -> None:
    model = _model("compact", 16)
    p = plan(model)
    x = _images(16)
    a = tf.constant(x)
    for s in p.steps[: p.feature_index + 1]:
        a = s.call(a)
    kernel = np.asarray(model.layers[-1].kernel)
    centred = kernel - kernel.mean(axis=1, keepdims=True)  # the centred logit's weights
    cam = np.maximum(np.einsum("nhwc,ck->nhwk", np.asarray(a), centred), 0)
    cam = np.asarray(tf.image.resize(cam, (16, 16), method="bilinear"))
    cam = cam / np.maximum(cam.max(axis=(1, 2), keepdims=True), 1e-12)
    probs, maps = why_maps(p, tf.constant(x))
    np.testing.assert_allclose(np.asarray(probs), np.asarray(model(x)), atol=1e-6)
    np.testing.assert_allclose(np.asarray(maps), cam, atol=1e-5)
    tops = np.asarray(maps).max(axis=(1, 2))
    # 1 where the class has evidence against the others; 0 (an empty map) where it has none anywhere
    assert float(np.asarray(maps).min()) >= 0 and np.all(np.isclose(tops, 1) | (tops == 0))
    predicted = np.asarray(probs).argmax(axis=1)
    assert np.allclose(tops[np.arange(len(predicted)), predicted], 1)  # the answer always has some


def test_the_dense_net_gets_a_pixel_map_in_range() -> None:
    model = _model("dense", 12, channels=1)
    heat = np.asarray(smoothgrad(model, tf.constant(_images(12, 1, 1)), 1))
    assert heat.shape == (12, 12) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
