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
CHUNK = 512             # rows per block of the similarity matrix (memory: CHUNK x n floats)
NEIGHBOURS = 8          # pairs proposed per image at most (its most similar later images)
FLAT_STD = 1.0          # gray levels: an image this uniform has no pattern to correlate
FLAT_MATCH = 2.0        # two uniform images match when their gray levels differ by at most this
OUTLIER_MADS = 5.0      # an outlier's score lies this many robust standard deviations below the median
OUTLIER_MAX_FRACTION = 0.02


@dataclass(frozen=True)
class DuplicatePair:
    a: int              # row indices, a < b
    b: int
    similarity: float


def near_duplicates(vectors: np.ndarray, threshold: float, *, progress: Callable[[int, int], None] | None = None,
                    cancel: CancelToken | None = None, per_row: int = NEIGHBOURS) -> list[DuplicatePair]:
    """Pairs of rows whose feature cosine similarity is at least ``threshold``, most similar first: for each
    row its ``per_row`` most similar later rows. Enough to join every group of copies (in a group each row
    but the last has a later copy), and linear in rows: 10,000 copies of one picture give at most
    ``per_row`` pairs each, not 50 million."""
    x = _normalise(vectors)
    n = len(x)
    pairs: list[DuplicatePair] = []
    for start in range(0, n, CHUNK):
        _check(cancel)
        block = x[start:start + CHUNK] @ x.T
        rows = np.arange(len(block))
        block[np.arange(n)[None, :] <= (rows + start)[:, None]] = -np.inf  # later rows only
        k = min(per_row, n)
        if k:
            top = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < n else np.argsort(-block, axis=1)
            for r, cols in zip(rows, top):
                for c in cols:
                    if block[r, c] >= threshold:
                        pairs.append(DuplicatePair(int(r + start), int(c), float(block[r, c])))
        if progress:
            progress(min(n, start + CHUNK), n)
    pairs.sort(key=lambda p: -p.similarity)
    return pairs


def groups(pairs: list[DuplicatePair], n: int) -> list[list[int]]:
    """The connected components (of at least two rows) of the pairs, largest first, rows ascending."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not pairs:
        return []
    a = np.fromiter((p.a for p in pairs), np.int64, len(pairs))
    b = np.fromiter((p.b for p in pairs), np.int64, len(pairs))
    graph = coo_matrix((np.ones(len(pairs), np.int8), (a, b)), shape=(n, n))
    _count, label = connected_components(graph, directed=False)
    order = np.argsort(label, kind="stable")
    sizes = np.bincount(label)
    out = [list(map(int, rows)) for rows in np.split(order, np.cumsum(sizes)[:-1]) if len(rows) >= 2]
    out.sort(key=lambda rows: (-len(rows), rows[0]))
    return out


def pixel_signature(pixels: np.ndarray, crop: float = 0.0) -> np.ndarray:
    """Gray, centrally cropped by ``crop`` of the short side, 32x32, mean-centred, unit length (zero for a
    uniform image: see :func:`flat_level`)."""
    v = _small_gray(pixels, crop)
    v -= v.mean()
    return v / max(float(np.linalg.norm(v)), 1e-6)


def _small_gray(pixels: np.ndarray, crop: float) -> np.ndarray:
    import cv2

    gray = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY) if pixels.ndim == 3 else pixels
    h, w = gray.shape[:2]
    m = int(round(crop * min(h, w)))
    if m and h - 2 * m >= 4 and w - 2 * m >= 4:
        gray = gray[m:h - m, m:w - m]
    return cv2.resize(gray, (PIXEL_SIDE, PIXEL_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()


def flat_level(pixels: np.ndarray) -> float:
    """The gray level of a uniform (single-colour) image, else NaN. Such an image has no pattern, so its
    signature is zero and correlation cannot confirm a copy; two uniform images of the same level are copies."""
    v = _small_gray(pixels, 0.0)
    return float(v.mean()) if float(v.std()) <= FLAT_STD else float("nan")


def confirm_by_pixels(pairs: list[DuplicatePair], pixels_of: Callable[[int], np.ndarray], *,
                      cancel: CancelToken | None = None) -> list[DuplicatePair]:
    """The proposed pairs whose images also match pixel for pixel (up to a small central crop)."""
    rows = sorted({r for p in pairs for r in (p.a, p.b)})
    slot = {r: k for k, r in enumerate(rows)}
    signatures = np.zeros((len(rows), len(CROPS), PIXEL_SIDE * PIXEL_SIDE), dtype=np.float32)
    flat = np.full(len(rows), np.nan, dtype=np.float32)
    for k, row in enumerate(rows):
        if k % 64 == 0:
            _check(cancel)
        pixels = pixels_of(row)
        signatures[k] = np.stack([pixel_signature(pixels, c) for c in CROPS])
        flat[k] = flat_level(pixels)
    kept = []
    for start in range(0, len(pairs), CHUNK):
        _check(cancel)
        block = pairs[start:start + CHUNK]
        ia = np.array([slot[p.a] for p in block], dtype=np.int64)
        ib = np.array([slot[p.b] for p in block], dtype=np.int64)
        a, b = signatures[ia], signatures[ib]
        # every crop of one image against the other image whole, both ways
        best = np.maximum(np.einsum("pcd,pd->pc", a, b[:, 0]).max(axis=1),
                          np.einsum("pcd,pd->pc", b, a[:, 0]).max(axis=1))
        both_flat = np.abs(flat[ia] - flat[ib]) <= FLAT_MATCH  # NaN (not uniform) compares False
        kept.extend(p for p, score, same in zip(block, best, both_flat) if score >= PIXEL_MATCH or same)
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
