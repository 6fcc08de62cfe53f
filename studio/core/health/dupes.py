"""Near-duplicates (and the leaks they make across train/val/test) and outliers, from image features.

Exact copies never reach a project: the importer keeps one image per content hash. What remains are copies
that differ in bytes: re-encoded, resized, slightly cropped. Two steps find them:

1. features propose: pairs whose backbone feature cosine similarity reaches the source's calibrated gate
   (altered copies of demo digits scored from 0.936 (a 7 % crop) to 0.995; distinct digits reach 0.98,
   so the features alone cannot tell a copy from a look-alike);
2. pixels confirm: the two images as 32x32 gray, mean-centred, compared by correlation, the best over small
   central crops of either image (a slightly cropped copy lines up again). Copies scored >= 0.999, the
   closest distinct demo digits 0.992 (one pair at 0.997), so :data:`PIXEL_MATCH` is 0.995.

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
from studio.core.health.labels import _check, _normalise

PIXEL_MATCH = 0.995     # pixel correlation that confirms a proposed pair as a copy
PIXEL_SIDE = 32
CROPS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12)  # central crops tried on either image
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


def pixel_signature(pixels: np.ndarray, crop: float = 0.0) -> np.ndarray:
    """Gray, centrally cropped by ``crop`` of the short side, 32x32, mean-centred, unit length."""
    import cv2

    gray = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY) if pixels.ndim == 3 else pixels
    h, w = gray.shape[:2]
    m = int(round(crop * min(h, w)))
    if m and h - 2 * m >= 4 and w - 2 * m >= 4:
        gray = gray[m:h - m, m:w - m]
    v = cv2.resize(gray, (PIXEL_SIDE, PIXEL_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    v -= v.mean()
    return v / max(float(np.linalg.norm(v)), 1e-6)


def confirm_by_pixels(pairs: list[DuplicatePair], pixels_of: Callable[[int], np.ndarray], *,
                      cancel: CancelToken | None = None) -> list[DuplicatePair]:
    """The proposed pairs whose images also match pixel for pixel (up to a small central crop)."""
    rows = sorted({r for p in pairs for r in (p.a, p.b)})
    slot = {r: k for k, r in enumerate(rows)}
    signatures = np.zeros((len(rows), len(CROPS), PIXEL_SIDE * PIXEL_SIDE), dtype=np.float32)
    for k, row in enumerate(rows):
        if k % 64 == 0:
            _check(cancel)
        pixels = pixels_of(row)
        signatures[k] = np.stack([pixel_signature(pixels, c) for c in CROPS])
    kept = []
    for start in range(0, len(pairs), CHUNK):
        _check(cancel)
        block = pairs[start:start + CHUNK]
        a = signatures[[slot[p.a] for p in block]]
        b = signatures[[slot[p.b] for p in block]]
        # every crop of one image against the other image whole, both ways
        best = np.maximum(np.einsum("pcd,pd->pc", a, b[:, 0]).max(axis=1),
                          np.einsum("pcd,pd->pc", b, a[:, 0]).max(axis=1))
        kept.extend(p for p, score in zip(block, best) if score >= PIXEL_MATCH)
    return kept


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
