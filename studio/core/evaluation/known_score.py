"""Known-vs-unknown score: how much an image looks like the training images of *any* class.

A classifier names one of its classes for everything; this score says whether the image is one of the kinds it
was trained on at all. It is computed on the network's penultimate features ``f`` (the input of its last,
softmax Dense layer: for ``pretrained`` the 1280 EfficientNet-Lite0 features). Two methods, chosen per
architecture on data in ``bench/open_world.py`` (the README's "Not one of the classes" table):

- ``cosine-nearest`` (pretrained): the cosine similarity to the nearest training image,
  ``max_k (f / |f|) . p_k``, -1..1. The prototypes ``p_k`` are the training images' unit features (k-means
  centres per class beyond :data:`MAX_PROTOTYPES`), stored as coordinates in an orthonormal basis of their span
  (:data:`BASIS` directions; exact while they are fewer), so the constants stay small.
- ``mahalanobis`` (from-scratch models): minus the smallest Mahalanobis distance to a class mean, with one
  covariance shared by the classes (Ledoit-Wolf shrinkage), on the unit features projected on their first
  :data:`BASIS` principal directions: ``-min_c |(u - centre) V W - n_c|^2`` with ``W`` the whitening matrix.
- ``max-logit``: the largest logit of the softmax layer itself (measured, not chosen).

The score is computed inside every exported model by :func:`scored_network`, from standard Keras layers only
(UnitNormalization, Dense, Reshape, GlobalMaxPooling1D), so the page (TF.js), TFLite, SavedModel, the ``.keras``
file and ``edge-studio predict`` all compute it the same way; its output is named :data:`SCORE_OUTPUT`, beside
the unchanged ``probabilities``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

PROBABILITIES_OUTPUT = "probabilities"
SCORE_OUTPUT = "known_score"
COSINE = "cosine-nearest"
MAHALANOBIS = "mahalanobis"
MAX_LOGIT = "max-logit"
BASIS = 64              # directions kept for the prototypes (bench/open_world.py)
MAX_PROTOTYPES = 256    # training images kept as prototypes (k-means centres per class beyond that)
LAYER_PREFIX = "known_"  # every layer of the score is named so (exports keep these weights float16 at most)
_EPS = 1e-12            # what keras.layers.UnitNormalization adds
FEATURE_MODEL_NAME = "features_and_probabilities"  # the classifier inside a scored model (why_graph finds it)
MAX_CACHE_BYTES = 64 * 2**20  # known_score.npz: a few MB at most (1280 x 64 + 64 x 256 numbers)


def method_for(arch: str) -> str:
    """The measured choice (bench/open_world.py): cosine-nearest on pretrained features, Mahalanobis otherwise."""
    from studio.core.training.architectures import PRETRAINED

    return COSINE if arch == PRETRAINED else MAHALANOBIS


@dataclass(frozen=True)
class KnownScoreFit:
    """``x = g(f) @ basis + shift`` (g = unit length when ``normalize``; no basis: ``x = g(f)``), then
    ``score = max_k x @ weights[:, k] + bias[k]``, minus ``|x|^2`` for the Mahalanobis method."""

    method: str
    normalize: bool
    basis: np.ndarray | None   # (D, d) or None
    weights: np.ndarray        # (d or D, K)
    bias: np.ndarray           # (K,)
    train_scores: np.ndarray   # each training image's score (leave-one-out for cosine-nearest)
    shift: np.ndarray | None = None  # (d,) added after the basis

    @property
    def squared(self) -> bool:
        return self.method == MAHALANOBIS

    def score(self, features: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        """The score of feature rows, in numpy (the graph's arithmetic)."""
        x = unit(features) if self.normalize else np.asarray(features, np.float64)
        if self.basis is not None:
            x = x @ self.basis
        if self.shift is not None:
            x = x + self.shift
        best = (x @ self.weights + self.bias).max(axis=1)
        return best - (x * x).sum(axis=1) if self.squared else best

    def save(self, path: Path, root: Path | None = None) -> None:
        """Written without following a link out of the project (``root``: the project folder)."""
        from studio.core.project.runs import write_atomic

        buf = io.BytesIO()
        arrays = {"method": np.array(self.method), "normalize": np.array(self.normalize),
                  "weights": self.weights, "bias": self.bias, "train_scores": self.train_scores}
        if self.basis is not None:
            arrays["basis"] = self.basis
        if self.shift is not None:
            arrays["shift"] = self.shift
        np.savez(buf, **arrays)
        write_atomic(path, buf.getvalue(), root)

    @classmethod
    def load(cls, path: Path) -> KnownScoreFit | None:
        """None when the file is missing or not exactly what :meth:`save` writes (then it is fitted again):
        size, names, dtypes, shapes and finite values are checked before anything is used."""
        from studio.core.project.caches import ArraySpec, CacheInvalid, exists, notice, read_npz

        if not exists(path):
            return None
        for with_basis in (True, False):
            for with_shift in (True, False):
                spec = {"method": ArraySpec("U", ()), "normalize": ArraySpec("b", ()),
                        "weights": ArraySpec("f", ("d" if with_basis else "D", "K")), "bias": ArraySpec("f", ("K",)),
                        "train_scores": ArraySpec("f", (None,))}
                if with_basis:
                    spec["basis"] = ArraySpec("f", ("D", "d"))
                if with_shift:
                    spec["shift"] = ArraySpec("f", ("d" if with_basis else "D",))
                try:
                    z = read_npz(path, spec, MAX_CACHE_BYTES)
                except CacheInvalid as exc:
                    if str(exc).startswith("holds "):
                        continue  # another variant of the file
                    notice(f"{path.name} not used ({exc}); computing it again")
                    return None
                if str(z["method"]) not in (COSINE, MAHALANOBIS):
                    return None
                return cls(str(z["method"]), bool(z["normalize"]), z.get("basis"), z["weights"], z["bias"],
                           z["train_scores"], z.get("shift"))
        notice(f"{path.name} not used (not a known-score file); computing it again")
        return None


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.sqrt(np.maximum((x * x).sum(axis=1, keepdims=True), _EPS))


def fit(method: str, features: np.ndarray, labels: np.ndarray, *, logits_tr: np.ndarray | None = None,
        head: tuple[np.ndarray, np.ndarray] | None = None, basis: int | None = BASIS,
        max_prototypes: int = MAX_PROTOTYPES, seed: int = 0) -> KnownScoreFit:
    """Fit ``method`` on the training features ``(n, D)`` and their class indices. ``max-logit`` needs the
    softmax layer's ``head = (kernel (D, C), bias (C,))``, or only the training logits (bench)."""
    f32 = np.float32
    if method == MAX_LOGIT:
        if head is None:  # the bench: scores straight from logits
            kernel, bias = np.eye(0), np.zeros(0)
            train = np.asarray(logits_tr).max(axis=1)
            return _LogitsOnly(method, False, None, kernel.astype(f32), bias.astype(f32), train.astype(f32))
        kernel, bias = head
        fitted = KnownScoreFit(method, False, None, np.asarray(kernel, f32), np.asarray(bias, f32), np.zeros(0, f32))
        return KnownScoreFit(method, False, None, fitted.weights, fitted.bias, fitted.score(features).astype(f32))
    if method == MAHALANOBIS:
        return _mahalanobis(features, np.asarray(labels), basis or BASIS)
    if method != COSINE:
        raise ValueError(f"unknown score method {method!r}")
    u = unit(features)
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    loo = sims.max(axis=1) if len(u) > 1 else np.ones(len(u))
    protos = _prototypes(u, np.asarray(labels), max_prototypes, seed)
    if basis is None or basis >= protos.shape[1]:
        return KnownScoreFit(method, True, None, protos.T.astype(f32), np.zeros(len(protos), f32), loo.astype(f32))
    _, _, vt = np.linalg.svd(protos, full_matrices=False)  # not centred: the span of the prototypes
    v = vt[:basis].T                                      # (D, d), orthonormal columns
    if v.shape[1] < basis:
        v = np.pad(v, ((0, 0), (0, basis - v.shape[1])))  # constant shapes; zero columns change nothing
    coords = protos @ v                                   # (K, d)
    return KnownScoreFit(method, True, v.astype(f32), coords.T.astype(f32), np.zeros(len(protos), f32),
                         loo.astype(f32))


def _mahalanobis(features: np.ndarray, labels: np.ndarray, d: int) -> KnownScoreFit:
    from sklearn.covariance import LedoitWolf

    f32 = np.float32
    u = unit(features)
    centre = u.mean(axis=0)
    _, _, vt = np.linalg.svd(u - centre, full_matrices=False)
    v = vt[:d].T
    if v.shape[1] < d:
        v = np.pad(v, ((0, 0), (0, d - v.shape[1])))
    z = (u - centre) @ v
    classes = np.unique(labels)
    means = np.stack([z[labels == c].mean(axis=0) for c in classes])
    residual = z - means[np.searchsorted(classes, labels)]
    precision = LedoitWolf().fit(residual).precision_
    values, vectors = np.linalg.eigh((precision + precision.T) / 2)
    whiten = vectors @ np.diag(np.sqrt(np.maximum(values, 0))) @ vectors.T  # W W^T = precision
    a = v @ whiten                      # (D, d): x = u @ a + shift is whitened
    shift = -centre @ a
    n = means @ whiten                  # (C, d) class means, whitened
    fitted = KnownScoreFit(MAHALANOBIS, True, a.astype(f32), (2 * n.T).astype(f32),
                           (-(n * n).sum(axis=1)).astype(f32), np.zeros(0, f32), shift.astype(f32))
    return KnownScoreFit(MAHALANOBIS, True, fitted.basis, fitted.weights, fitted.bias,
                         fitted.score(features).astype(f32), fitted.shift)


class _LogitsOnly(KnownScoreFit):
    def score(self, features: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(logits).max(axis=1)


def _prototypes(u: np.ndarray, labels: np.ndarray, max_prototypes: int, seed: int) -> np.ndarray:
    if len(u) <= max_prototypes:
        return u
    from sklearn.cluster import KMeans

    out = []
    for c in np.unique(labels):
        members = u[labels == c]
        k = max(1, min(len(members), round(max_prototypes * len(members) / len(u))))
        out.append(unit(KMeans(n_clusters=k, n_init=1, random_state=seed).fit(members).cluster_centers_))
    return np.concatenate(out)


# ----- the network's penultimate features and the scored network -----------------------------------------
def feature_model(network: keras.Model) -> keras.Model:
    """``network`` with two outputs: the input of its last (softmax Dense) layer, and its probabilities."""
    import keras

    return keras.Model(network.inputs, [network.layers[-1].input, network.outputs[0]], name=FEATURE_MODEL_NAME)


def classifier_of(model: keras.Model) -> keras.Model:
    """The classifier inside a scored model (:func:`scored_network`), or ``model`` itself: its layers and
    weights are the run's own network's."""
    try:
        return model.get_layer(FEATURE_MODEL_NAME)
    except ValueError:
        return model


def score_of_features(model: keras.Model, features: Any) -> Any:
    """The known score of a scored model (:func:`scored_network`) from penultimate ``features`` computed
    elsewhere (the web graph's one pass that also gives the heatmaps): the same layers, so the same weights,
    in the order :func:`scored_network` wires them."""
    names = {layer.name for layer in model.layers}
    x = model.get_layer("known_unit")(features) if "known_unit" in names else features
    if "known_basis" in names:
        x = model.get_layer("known_basis")(x)
    each = model.get_layer("known_each")(model.get_layer("known_compare")(x))
    if "known_square" in names:
        best = model.get_layer("known_best")(each)
        return model.get_layer(SCORE_OUTPUT)([best, model.get_layer("known_square")([x, x])])
    return model.get_layer(SCORE_OUTPUT)(each)


def head_weights(network: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    kernel, bias = network.layers[-1].get_weights()
    return kernel, bias


def features_of(network: keras.Model, x: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(penultimate features, probabilities) of preprocessed inputs ``x``."""
    from studio.core.evaluation.inference import predict_in_batches

    feats, probs = predict_in_batches(feature_model(network), x, batch_size)
    return np.asarray(feats, np.float32), np.asarray(probs, np.float32)


def scored_network(network: keras.Model, constants: KnownScoreFit) -> keras.Model:
    """``network`` with named outputs ``{probabilities, known_score}`` (known_score shape ``(batch, 1)``), the
    score from standard layers holding the constants, so every export format computes it."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=network.inputs[0].shape[1:], name="x")
    f, probabilities = feature_model(network)(inputs)
    x = layers.UnitNormalization(name="known_unit")(f) if constants.normalize else f
    if constants.basis is not None:
        shifted = constants.shift is not None
        basis = layers.Dense(constants.basis.shape[1], use_bias=shifted, name="known_basis")
        x = basis(x)
        basis.set_weights([constants.basis, constants.shift] if shifted else [constants.basis])
    k = constants.weights.shape[1]
    compare = layers.Dense(k, name="known_compare")
    each = compare(x)
    compare.set_weights([constants.weights, constants.bias])
    each = layers.Reshape((k, 1), name="known_each")(each)
    if constants.squared:  # max_c (2 x.n_c - |n_c|^2) - |x|^2 = -min_c |x - n_c|^2
        best = layers.GlobalMaxPooling1D(name="known_best")(each)
        square = layers.Dot(axes=1, name="known_square")([x, x])
        score = layers.Subtract(name=SCORE_OUTPUT)([best, square])
    else:
        score = layers.GlobalMaxPooling1D(name=SCORE_OUTPUT)(each)
    probabilities = layers.Identity(name=PROBABILITIES_OUTPUT)(probabilities)
    return keras.Model(inputs, {PROBABILITIES_OUTPUT: probabilities, SCORE_OUTPUT: score},
                       name="scored_" + network.name)
