"""Where a health check gets its image features, and the near-duplicate threshold calibrated for that source.

The source is the pretrained backbone's feature cache (``studio.core.training.features.image_features``); tests may
pass any object with the same shape (:class:`FeatureSource`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from studio.core.events import CancelToken
from studio.core.project.store import Project
from studio.core.training.features import FeaturesCancelled, FeatureSet, image_features

Progress = Callable[[int, int], None]


class FeatureSource(Protocol):
    name: str                           # recorded in the report and its cache fingerprint
    near_duplicate_threshold: float     # feature cosine similarity at which two images count as copies

    def features(self, project: Project, image_ids: Sequence[int], *, progress: Progress | None = None,
                 cancel: CancelToken | None = None, fresh: bool = False) -> FeatureSet: ...


# The input size data health reads images at: its thresholds and the demo's mislabel recall were measured at
# 128 px (tests/core/test_health_demo.py). The pretrained classifier's own size (224 since issue 24) would cost
# three times the features and found fewer of the demo's flipped labels (70 of 90 vs 72 needed).
HEALTH_IMAGE_SIZE = 128


class BackboneFeatures:
    """EfficientNet-Lite0 features at :data:`HEALTH_IMAGE_SIZE` from the project's feature cache."""

    # The gate that proposes copies (pixels then confirm them). Altered demo digits scored 0.936 and up (a 7 %
    # crop lowest); at 0.90 the demo proposes ~23,000 pairs, and pixels confirm the copies and one distinct pair.
    near_duplicate_threshold = 0.90

    def __init__(self, image_size: int | None = None) -> None:
        from studio.core.training import backbone

        self.image_size = int(image_size or HEALTH_IMAGE_SIZE)
        self.name = f"{backbone.NAME}-{self.image_size}"

    def features(self, project: Project, image_ids: Sequence[int], *, progress: Progress | None = None,
                 cancel: CancelToken | None = None, fresh: bool = False) -> FeatureSet:
        from studio.core.health.labels import HealthCancelled

        try:
            return image_features(project, list(image_ids), image_size=self.image_size, progress=progress,
                                  cancel=cancel, fresh=fresh)
        except FeaturesCancelled:
            raise HealthCancelled("health check cancelled") from None


def default_source() -> FeatureSource:
    return BackboneFeatures()
