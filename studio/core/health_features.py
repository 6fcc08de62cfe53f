"""Where a health check gets its image features, and the near-duplicate threshold calibrated for each source.

The real source is the pretrained backbone's feature cache (``studio.core.features.image_features``).
Until that module exists in this checkout, :class:`PixelFeatures` stands in: each image downscaled by the
project's one preprocessing definition to 24x24 gray pixels. It is a real, weaker feature (no semantics),
named in every report (``feature_source``) so nobody mistakes its results for the backbone's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from studio.core.events import CancelToken
from studio.core.project import Project

try:  # the backbone's feature cache (issue 13)
    from studio.core.features import FeatureSet, image_features
except ImportError:  # pragma: no cover - only while the backbone is not merged
    image_features = None

    @dataclass(frozen=True)
    class FeatureSet:  # type: ignore[no-redef]
        ids: np.ndarray
        vectors: np.ndarray

Progress = Callable[[int, int], None]


class FeatureSource(Protocol):
    name: str
    near_duplicate_threshold: float

    def features(self, project: Project, image_ids: Sequence[int], *, progress: Progress | None = None,
                 cancel: CancelToken | None = None) -> FeatureSet: ...


class BackboneFeatures:
    """EfficientNet-Lite0 features from the project's feature cache."""

    name = "backbone"
    # Calibrated by bench/health.py (re-encoded / resized / cropped copies vs distinct images).
    near_duplicate_threshold = 0.95

    def features(self, project: Project, image_ids: Sequence[int], *, progress: Progress | None = None,
                 cancel: CancelToken | None = None) -> FeatureSet:
        assert image_features is not None
        return image_features(project, list(image_ids), progress=progress, cancel=cancel)


class PixelFeatures:
    """Temporary stand-in: 24x24 gray pixels through the project's preprocessing (no pretrained semantics)."""

    name = "pixels-24-gray"
    near_duplicate_threshold = 0.985
    SIZE = 24
    BATCH = 256

    def features(self, project: Project, image_ids: Sequence[int], *, progress: Progress | None = None,
                 cancel: CancelToken | None = None) -> FeatureSet:
        from studio.core.imaging import load_rgb
        from studio.core.preprocess import preprocess
        from studio.core.specs import PreprocessSpec

        spec = PreprocessSpec(image_size=self.SIZE, color="gray")
        records = {r.id: r for r in project.images(ids=image_ids)}
        ids = [i for i in image_ids if i in records]
        out = np.zeros((len(ids), self.SIZE * self.SIZE), dtype=np.float32)
        for start in range(0, len(ids), self.BATCH):
            if cancel is not None and cancel.cancelled:
                break
            chunk = ids[start:start + self.BATCH]
            for k, image_id in enumerate(chunk):
                pixels = preprocess(load_rgb(project.image_path(records[image_id])), spec).numpy()
                # centred on the image's own mean: ink on paper, not paper brightness, makes the vector
                out[start + k] = pixels.ravel() - pixels.mean()
            if progress:
                progress(min(len(ids), start + self.BATCH), len(ids))
        return FeatureSet(np.asarray(ids, dtype=np.int64), out)


def default_source() -> FeatureSource:
    return BackboneFeatures() if image_features is not None else PixelFeatures()
