"""Show why: a heatmap of the evidence for the predicted (or a chosen) class of a trained run.

Images go through the studio's one preprocessing (:func:`studio.core.preprocess.preprocess`); the heat is
computed at the model's input (``S x S``, see :mod:`studio.core.evaluation.why_graph` for the method of each
architecture) and stretched back to the image's own size and aspect by :meth:`Explanation.at_size` (the
preprocessing squashes without cropping, so the stretch puts every value back over the pixels it came from).
An :class:`Explainer` holds the model and its compiled function: build it once, then explain many images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.evaluation.why_graph import (
    CAM,
    DEFAULT_OPACITY,
    GRADCAM,
    GRADIENT,
    METHOD_NAMES,
    plan,
    smoothgrad,
    why_maps,
)
from studio.core.images.imaging import ImageRejected, load_rgb
from studio.core.limits import DEFAULT_MAX_PIXELS
from studio.core.project.runs import train_config
from studio.core.project.store import Project, ProjectError, RunRecord
from studio.core.specs import PreprocessSpec

if TYPE_CHECKING:
    import keras

__all__ = ["CAM", "GRADCAM", "GRADIENT", "METHOD_NAMES", "Explainer", "Explanation", "explain_files",
           "load_explainer", "overlay"]

# Heat -> colour: blue (little) through cyan and yellow to red (most); the page's script.js uses the same stops.
HEAT_STOPS = ((0.0, (48, 18, 160)), (0.35, (30, 160, 230)), (0.6, (120, 220, 90)), (0.8, (250, 200, 30)),
              (1.0, (230, 40, 20)))
OVERLAY_SUFFIX = "_why.png"


@dataclass(frozen=True)
class Explanation:
    probabilities: np.ndarray  # [K]
    class_index: int           # the class whose evidence the heatmap shows
    heatmap: np.ndarray        # [S, S] float32 0..1 at the model's input size
    method: str

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    def at_size(self, height: int, width: int) -> np.ndarray:
        """The heatmap over an image of ``height x width`` (bilinear), 0..1."""
        import cv2

        return np.clip(cv2.resize(self.heatmap, (int(width), int(height)), interpolation=cv2.INTER_LINEAR), 0, 1)


class Explainer:
    """A run's model ready to explain images (the model is loaded once; the heat function compiled once)."""

    def __init__(self, model: keras.Model, spec: PreprocessSpec, labels: Sequence[str]) -> None:
        self.model = model
        self.spec = spec
        self.labels = list(labels)
        self.plan = plan(model)
        self.method = self.plan.method
        self._maps: Any = None

    @property
    def method_text(self) -> str:
        return METHOD_NAMES[self.method]

    def class_index(self, name: str | None) -> int | None:
        if name is None:
            return None
        if name not in self.labels:
            raise ProjectError(f"unknown class {name!r}; the run's classes are {', '.join(self.labels)}")
        return self.labels.index(name)

    def explain(self, rgb: np.ndarray, class_index: int | None = None) -> Explanation:
        """One RGB image (uint8 ``[H, W, 3]``, any size)."""
        return self.explain_batch([rgb], class_index)[0]

    def explain_batch(self, images: Sequence[np.ndarray], class_index: int | None = None) -> list[Explanation]:
        import tensorflow as tf

        from studio.core.preprocess import preprocess

        if not images:
            return []
        x = tf.stack([preprocess(im, self.spec) for im in images])
        if self.method == GRADIENT:
            probs = np.asarray(self.model(x, training=False))
            out = []
            for i, row in enumerate(probs):
                c = int(np.argmax(row)) if class_index is None else class_index
                heat = np.asarray(smoothgrad(self.model, x[i:i + 1], c), np.float32)
                out.append(Explanation(row, c, heat, self.method))
            return out
        if self._maps is None:
            self._maps = tf.function(lambda t: why_maps(self.plan, t), reduce_retracing=True, autograph=False)
        probs, maps = (np.asarray(t) for t in self._maps(x))
        out = []
        for row, m in zip(probs, maps):
            c = int(np.argmax(row)) if class_index is None else class_index
            out.append(Explanation(row, c, np.ascontiguousarray(m[:, :, c], np.float32), self.method))
        return out


def load_explainer(project: Project, run: RunRecord) -> Explainer:
    from studio.core.evaluation.predict import load_run_model, run_labels

    return Explainer(load_run_model(project, run), train_config(run).preprocess, run_labels(project, run))


def colorize(heat: np.ndarray) -> np.ndarray:
    """``[H, W]`` 0..1 -> RGB uint8 along :data:`HEAT_STOPS`."""
    at = np.array([s for s, _ in HEAT_STOPS])
    colours = np.array([c for _, c in HEAT_STOPS], np.float32)
    flat = np.clip(heat, 0, 1).ravel()
    rgb = np.stack([np.interp(flat, at, colours[:, ch]) for ch in range(3)], axis=-1)
    return rgb.reshape(*heat.shape, 3).round().astype(np.uint8)


def overlay(rgb: np.ndarray, heat: np.ndarray, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """The photo with the heat laid over it: each pixel blends towards the heat colour by ``opacity x heat``,
    so where the model did not look the photo stays as it is (not darkened)."""
    alpha = (float(np.clip(opacity, 0, 1)) * np.clip(heat, 0, 1))[..., None]
    return (rgb.astype(np.float32) * (1 - alpha) + colorize(heat).astype(np.float32) * alpha).round().astype(np.uint8)


def explain_files(project: Project, run: RunRecord, paths: Sequence[str | Path], class_name: str | None = None,
                  out_dir: str | Path | None = None, explainer: Explainer | None = None) -> list[dict[str, Any]]:
    """Per image ``{path, label, class, method, probabilities, heatmap (rows, S x S, 0..1)}`` and, with
    ``out_dir``, ``overlay`` (the PNG written there, at the image's own size)."""
    import cv2

    explainer = explainer or load_explainer(project, run)
    chosen = explainer.class_index(class_name)
    images = []
    for p in paths:
        try:
            images.append(load_rgb(Path(p), max_pixels=DEFAULT_MAX_PIXELS))
        except ImageRejected as exc:
            raise ProjectError(f"cannot read image {p}: {exc}") from None
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot write to {out}: {exc.strerror or exc}") from None
    results, used = [], set()
    for p, rgb in zip(paths, images):
        e = explainer.explain(rgb, chosen)
        item: dict[str, Any] = {
            "path": str(p), "label": explainer.labels[e.predicted], "class": explainer.labels[e.class_index],
            "method": e.method,
            "probabilities": {n: float(v) for n, v in zip(explainer.labels, e.probabilities)},
            "heatmap": np.round(e.heatmap.astype(float), 5).tolist()}
        if out is not None:
            name = _unique(Path(p).stem + OVERLAY_SUFFIX, used)
            picture = overlay(rgb, e.at_size(*rgb.shape[:2]))
            target = out / name
            if not cv2.imwrite(str(target), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
                raise ProjectError(f"cannot write {target}")
            item["overlay"] = str(target)
        results.append(item)
    return results


def _unique(name: str, used: set[str]) -> str:
    stem, n, candidate = name[: -len(OVERLAY_SUFFIX)], 1, name
    while candidate in used:
        n += 1
        candidate = f"{stem}-{n}{OVERLAY_SUFFIX}"
    used.add(candidate)
    return candidate
