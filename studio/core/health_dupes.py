"""Near-duplicates (and the leaks they make across train/val/test) and outliers, from image features.

Exact copies never reach a project: the importer keeps one image per content hash. What remains are copies
that differ in bytes: re-encoded, resized, slightly cropped. Their backbone features stay almost parallel, so
a pair is a near-duplicate when the cosine similarity of its features reaches a threshold; the threshold is
calibrated per feature source (see ``bench/health.py``: re-encoded/resized/cropped copies against the
nearest distinct image of the same class).

Outlier scores are cleanlab's (``cleanlab.outlier.OutOfDistribution``: average distance to the k nearest
neighbours in feature space); this module only picks a robust cut-off.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from studio.core.events import CancelToken
from studio.core.health_labels import _check, _normalise

CHUNK = 1024            # rows per block of the similarity matrix (memory: CHUNK x n floats)
OUTLIER_MADS = 5.0      # an outlier's score lies this many robust standard deviations below the median
OUTLIER_MAX_FRACTION = 0.02


@dataclass(frozen=True)
class DuplicatePair:
    a: int              # row indices, a < b
    b: int
    similarity: float


def near_duplicates(vectors: np.ndarray, threshold: float, *, progress: Callable[[int, int], None] | None = None,
                    cancel: CancelToken | None = None) -> list[DuplicatePair]:
    """Every pair of rows whose feature cosine similarity is at least ``threshold``, most similar first."""
    x = _normalise(vectors)
    n = len(x)
    pairs: list[DuplicatePair] = []
    for start in range(0, n, CHUNK):
        _check(cancel)
        block = x[start:start + CHUNK] @ x.T
        rows, cols = np.nonzero(block >= threshold)
        keep = cols > rows + start
        for r, c in zip(rows[keep], cols[keep]):
            pairs.append(DuplicatePair(int(r + start), int(c), float(block[r, c])))
        if progress:
            progress(min(n, start + CHUNK), n)
    pairs.sort(key=lambda p: -p.similarity)
    return pairs


@dataclass(frozen=True)
class Outlier:
    row: int
    score: float        # cleanlab's outlier score: 1 = typical, towards 0 = far from every other image


def outliers(vectors: np.ndarray, cancel: CancelToken | None = None) -> list[Outlier]:
    """Images far from every other image (and so from every class), least typical first."""
    from cleanlab.outlier import OutOfDistribution

    n = len(vectors)
    if n < 12:
        return []
    _check(cancel)
    # cleanlab prints a line on stdout while fitting; stdout carries the CLI's JSON, so it is caught here.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        scores = OutOfDistribution(params={"k": min(10, n - 1)}).fit_score(features=_normalise(vectors))
    median = float(np.median(scores))
    mad = float(np.median(np.abs(scores - median))) * 1.4826
    cut = median - OUTLIER_MADS * max(mad, 1e-6)
    rows = np.flatnonzero(scores < cut)
    rows = rows[np.argsort(scores[rows])][: max(1, int(OUTLIER_MAX_FRACTION * n))]
    return [Outlier(int(r), float(scores[r])) for r in rows]
