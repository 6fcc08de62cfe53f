"""Where a model looked: the heat of every class as TensorFlow ops on the model's own layers.

One definition, used by Python (:mod:`studio.core.evaluation.explain`) and baked into the web export as the
named output :data:`WHY_OUTPUT`, so the page shows what the studio shows. The model is read as a chain of
steps; the last convolutional feature map ``A`` ``[N, h, w, C]`` is where the evidence is located:

- ``cam``: the tail is global average pooling, dropout, one softmax dense layer (pretrained head, compact):
  the exact class activation map ``A @ W[:, k]`` (no gradients; the bias is the same everywhere).
- ``gradcam``: the tail is max pooling / dropout / flatten / dense layers (cnn, cnn_dropout): Grad-CAM, the
  feature map weighted by the spatial mean of the gradient of each class's logit. The gradient is written out
  as forward ops (matrix products, ReLU masks, the max-pool routing), so TF.js runs it without gradient
  kernels; a test checks it against ``tf.GradientTape``.
- ``gradient``: anything else (the dense net: no feature map at all): SmoothGrad x input, Python only.

Both maps are of the centred logit ``z_k - mean(z)`` (:func:`_centred`): what tells class k from the others.
Every map is ReLU'd, resized to the model's input size (bilinear, half-pixel centres, as preprocessing) and
divided by its own maximum, so it is 0..1 with 1 where the evidence is strongest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

DEFAULT_OPACITY = 0.6  # the heatmap's strength over the picture, studio and page alike
WHY_OUTPUT = "why_maps"  # the export's named output [1, S, S, K]; sorts after "probabilities"
CAM, GRADCAM, GRADIENT = "cam", "gradcam", "gradient"
BROWSER_METHODS = (CAM, GRADCAM)  # forward ops only: the web export carries them
METHOD_NAMES = {
    CAM: "class activation map (exact for this model: its last feature map weighted by the answer's weights)",
    GRADCAM: "Grad-CAM on the last convolution layer's feature map",
    GRADIENT: "pixel sensitivity (SmoothGrad x input): a dense network sees pixels, not shapes, so this map "
              "is rough; it shows which pixels move the answer most",
}
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.1  # standard deviation, in the 0..1 input range


def export_info(method: str | None, config: Any, labels: list[str]) -> dict[str, Any]:
    """metadata.json's ``why``: the named output the page reads for "Show why", or why there is none."""
    if method is None:
        return {"output": None, "reason": "this model has no feature map a browser can trace (the dense "
                "network, or a format without the heatmap output); the studio shows a rough pixel map instead"}
    size = int(config.preprocess.image_size)
    return {"output": WHY_OUTPUT, "method": method, "method_text": METHOD_NAMES[method],
            "shape": [1, size, size, len(labels)], "opacity": DEFAULT_OPACITY,
            "description": "per class, 0..1 at the model's input size: where the evidence for it against the "
                           "other classes lies (0 everywhere: none)"}


@dataclass
class Step:
    layer: Any
    call: Callable[[Any], Any]
    kind: str  # the Keras class name, or "Features" for a backbone cut before its pooling


@dataclass
class Plan:
    method: str
    steps: list[Step]
    feature_index: int  # steps[: feature_index + 1] give A; -1 when there is none


def _steps(model: keras.Model) -> list[Step]:
    """The model as a chain of single-input steps (nested models ending in global pooling are cut there)."""
    import keras

    out: list[Step] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if kind == "Concatenate":  # gray -> RGB: the one layer taking the same input three times
            out.append(Step(layer, lambda x, lay=layer: lay([x, x, x]), kind))
        elif isinstance(layer, keras.Model) and type(layer.layers[-1]).__name__ == "GlobalAveragePooling2D":
            trunk = keras.Model(layer.inputs, layer.layers[-2].output)
            out.append(Step(trunk, lambda x, t=trunk: t(x, training=False), "Features"))
            last = layer.layers[-1]
            out.append(Step(last, lambda x, lay=last: lay(x), type(last).__name__))
        else:
            out.append(Step(layer, lambda x, lay=layer: lay(x, training=False), kind))
    return out


_PASS = {"Dropout", "SpatialDropout2D"}
_NOT_FEATURES = {"MaxPooling2D", "GlobalAveragePooling2D", "Flatten", "Dense", *_PASS}


def plan(model: keras.Model) -> Plan:
    steps = _steps(model)
    last = steps[-1] if steps else None
    if last is None or last.kind != "Dense" or _activation(last.layer) != "softmax":
        return Plan(GRADIENT, steps, -1)
    feature = max((i for i, s in enumerate(steps) if s.kind not in _NOT_FEATURES
                   and len(s.layer.output.shape) == 4), default=-1)
    if feature < 0:
        return Plan(GRADIENT, steps, -1)
    tail = [s.kind for s in steps[feature + 1:] if s.kind not in _PASS]
    if tail == ["GlobalAveragePooling2D", "Dense"]:
        return Plan(CAM, steps, feature)
    if tail and all(k in ("MaxPooling2D", "Flatten", "Dense") for k in tail) and all(
            _simple_pool(s.layer) for s in steps[feature + 1:] if s.kind == "MaxPooling2D") and all(
            _activation(s.layer) in ("relu", "linear") for s in steps[feature + 1:-1] if s.kind == "Dense"):
        return Plan(GRADCAM, steps, feature)
    return Plan(GRADIENT, steps, -1)


def _activation(layer: Any) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "")


def _simple_pool(layer: Any) -> bool:
    return (tuple(layer.pool_size) == (2, 2) and tuple(layer.strides) == (2, 2) and layer.padding == "valid")


# ----- the maps -----------------------------------------------------------------------------------------
def why_maps(p: Plan, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``(probabilities, maps)``: see :func:`why_pass`."""
    probabilities, maps, _features = why_pass(p, x)
    return probabilities, maps


def why_pass(p: Plan, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(probabilities [N, K], maps [N, S, S, K], features [N, F])`` for preprocessed input ``x`` ``[N, S, S, C]``
    (features: the input of the last dense layer, what the known score reads)
    (``cam`` and ``gradcam`` plans; forward ops only). One forward pass gives both, and each dense kernel is
    read once, so an exported graph holds every weight once."""
    import tensorflow as tf

    a = x
    for s in p.steps[: p.feature_index + 1]:
        a = s.call(a)
    tail = p.steps[p.feature_index + 1:]
    kernels = {id(s): tf.convert_to_tensor(s.layer.kernel) for s in tail if s.kind == "Dense"}
    inputs, outputs, h = [], [], a
    for s in tail:
        inputs.append(h)
        h = _dense(s.layer, h, kernels[id(s)]) if s.kind == "Dense" else s.call(h)
        outputs.append(h)
    kernel = kernels[id(tail[-1])]  # [F, K]: the answer's weights
    n, hh, ww, c = _shape(a)
    if p.method == CAM:
        cam = tf.reshape(tf.matmul(tf.reshape(a, [-1, c]), kernel), [n, hh, ww, -1])
    else:
        weights = _gradcam_weights(tail, inputs, outputs, kernels)  # [N, K, C]
        cam = tf.reshape(tf.matmul(tf.reshape(a, [n, hh * ww, c]), weights, transpose_b=True), [n, hh, ww, -1])
    return h, _normalise(_centred(cam), x), inputs[-1]


def _centred(cam: tf.Tensor) -> tf.Tensor:
    """Each class's map less the mean of all classes' maps: softmax(z) = softmax(z - mean z), so the part of
    the evidence every class shares decides nothing; what is left is the evidence for this class against the
    others (the map of the centred logit; on pictures where a class is told by what is *not* there, the raw
    map lights up the whole background)."""
    import tensorflow as tf

    return cam - tf.reduce_mean(cam, axis=-1, keepdims=True)


def _dense(layer: Any, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """A Dense layer's own arithmetic on an already-read kernel."""
    import tensorflow as tf

    y = tf.matmul(x, kernel)
    if layer.use_bias:
        y = y + tf.convert_to_tensor(layer.bias)
    act = _activation(layer)
    return tf.nn.softmax(y) if act == "softmax" else tf.nn.relu(y) if act == "relu" else y


def _shape(t: tf.Tensor) -> list[Any]:
    import tensorflow as tf

    dynamic = tf.shape(t)
    return [d if d is not None else dynamic[i] for i, d in enumerate(t.shape.as_list())]


def _normalise(cam: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    import tensorflow as tf

    size = x.shape[1], x.shape[2]
    heat = tf.image.resize(tf.nn.relu(cam), size, method="bilinear", antialias=False)
    top = tf.reduce_max(heat, axis=[1, 2], keepdims=True)
    return heat / tf.maximum(top, 1e-12)


def _gradcam_weights(tail: list[Step], inputs: list[Any], outputs: list[Any],
                     kernels: dict[int, Any]) -> tf.Tensor:
    """The gradient of every class's logit with respect to the feature map, written as forward ops and
    averaged over space: ``[N, K, C]`` (Grad-CAM's channel weights)."""
    import tensorflow as tf

    kernel = kernels[id(tail[-1])]
    n_classes = kernel.shape[-1]
    # d logit_k / d (input of the last dense) = W[:, k]: [N, K, F]
    grad = tf.zeros_like(inputs[-1][:, None, :]) + tf.transpose(kernel)[None]
    for s, u, v in zip(reversed(tail[:-1]), reversed(inputs[:-1]), reversed(outputs[:-1])):
        if s.kind == "Dense":
            if _activation(s.layer) == "relu":
                grad = grad * tf.cast(v > 0, grad.dtype)[:, None, :]
            k = kernels[id(s)]  # [F_in, F_out]
            grad = tf.reshape(tf.matmul(tf.reshape(grad, [-1, k.shape[1]]), k, transpose_b=True),
                              [-1, n_classes, k.shape[0]])
        elif s.kind == "Flatten":
            grad = tf.reshape(grad, [-1, n_classes, *u.shape[1:]])
        elif s.kind == "MaxPooling2D":
            grad = _through_max_pool(grad, u, v)
        # dropout: identity at inference
    return tf.reduce_mean(grad, axis=[2, 3])


def _through_max_pool(grad: tf.Tensor, u: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
    """Back through a 2x2/2 'valid' max pool: each window's gradient goes to its maximum (shared among ties,
    so the window's total, and thus Grad-CAM's spatial mean, is what TensorFlow's own gradient gives)."""
    import tensorflow as tf

    _, hp, wp, c = v.shape
    h, w = u.shape[1], u.shape[2]
    n_classes = grad.shape[1]

    def up(t: tf.Tensor, lead: int) -> tf.Tensor:  # [.., hp, wp, C] -> [.., 2hp, 2wp, C] (nearest)
        head = t.shape[:lead].as_list()
        head = [-1 if d is None else d for d in head]
        t = tf.reshape(t, [*head, hp, 1, wp, 1, c])
        t = tf.tile(t, [1] * lead + [1, 2, 1, 2, 1])
        return tf.reshape(t, [*head, 2 * hp, 2 * wp, c])

    crop = u[:, : 2 * hp, : 2 * wp, :]
    hit = tf.cast(tf.equal(crop, up(v, 1)), grad.dtype)
    ties = tf.nn.avg_pool2d(hit, 2, 2, "VALID") * 4.0
    share = hit / up(ties, 1)  # [N, 2hp, 2wp, C]
    out = up(grad, 2) * share[:, None]
    if (h, w) != (2 * hp, 2 * wp):
        out = tf.pad(out, [[0, 0], [0, 0], [0, h - 2 * hp], [0, w - 2 * wp], [0, 0]])
    return tf.reshape(out, [-1, n_classes, h, w, c])


def smoothgrad(model: keras.Model, x: tf.Tensor, class_index: int, seed: int = 0) -> tf.Tensor:
    """``[S, S]`` 0..1: |mean over noisy copies of (d logit / d input) x input|, summed over channels."""
    import tensorflow as tf

    steps = _steps(model)
    dense = steps[-1].layer
    rng = tf.random.Generator.from_seed(seed)
    noisy = x + rng.normal((SMOOTHGRAD_SAMPLES, *x.shape[1:]), stddev=SMOOTHGRAD_NOISE)
    with tf.GradientTape() as tape:
        tape.watch(noisy)
        h = noisy
        for s in steps[:-1]:
            h = s.call(h)
        logit = tf.matmul(h, dense.kernel)[:, class_index]
    grads = tape.gradient(logit, noisy)
    heat = tf.abs(tf.reduce_sum(tf.reduce_mean(grads, axis=0) * x[0], axis=-1))
    heat = tf.nn.avg_pool2d(heat[None, :, :, None], 3, 1, "SAME")[0, :, :, 0]  # a little smoothing
    return heat / tf.maximum(tf.reduce_max(heat), 1e-12)
