"""Data health of a project: likely mislabels, near-duplicates and train/val/test leaks, outliers, tiny or
imbalanced classes, suggested labels for unlabelled images and a "label these next" queue.

Everything is computed from the image features of the pretrained backbone (``studio.core.training.features``), so a
check costs seconds once the features are cached. :func:`analyse` works on plain arrays (tests and the
benchmark feed it directly); :func:`check_project` reads a project, reuses a cached report while the images
and labels are unchanged, and reports progress / honours cancel like every long job.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core import events
from studio.core.events import CancelToken, HealthProgress, Reporter
from studio.core.health.dupes import confirm_by_pixels, groups, near_duplicates, outliers
from studio.core.health.features import FeatureSource, default_source
from studio.core.health.labels import (
    HealthCancelled,
    _check,
    embed,
    find_mislabels,
    fit_probabilities,
    suggestions,
)
from studio.core.health.report import (
    ClassHealth,
    DuplicateEntry,
    DuplicateGroup,
    HealthReport,
    MislabelEntry,
    OutlierEntry,
    SuggestionEntry,
)
from studio.core.images.imaging import load_bgr
from studio.core.project import caches as cache_check
from studio.core.project.files import write_atomic
from studio.core.project.store import SPLITS, Project

__all__ = ["HealthCancelled", "HealthInput", "HealthReport", "analyse", "cached_report", "check_project"]

HEALTH_VERSION = 2                 # bump when the analysis changes, so old cached reports are recomputed
CACHE_FILE = "health.json"         # beside project.db
MAX_CACHE_BYTES = 64 * 2**20       # a larger health.json is not read (listed entries are capped far below)
TINY_CLASS = 10                    # fewer labelled training images than this: a tiny class
IMBALANCE_RATIO = 4.0              # largest / smallest class above this: imbalanced
LABEL_NEXT = 50                    # length of the "label these next" queue
GROUPS_LISTED = 200                # groups of copies listed in a report (the notes give the totals)
GROUP_LISTED = 50                  # images listed per group
SKLEARN_WORKING_MB = 64            # scikit-learn's working memory for chunked pairwise distances
PAIRS_LISTED = 1000                # "keep this, drop that copy" pairs listed for review (leaks first)


@dataclass(frozen=True)
class HealthInput:
    """One row per image: ``labels`` index ``class_names`` (-1 = unlabelled), ``splits`` train/val/test."""

    ids: np.ndarray
    vectors: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    class_names: tuple[str, ...]


def analyse(data: HealthInput, *, near_duplicate_threshold: float, feature_source: str = "features",
            fingerprint: str = "", reporter: Reporter = events.ignore, cancel: CancelToken | None = None,
            pixels_of: Callable[[int], np.ndarray] | None = None) -> HealthReport:
    """The whole check on arrays. ``pixels_of(row)`` (decoded BGR pixels) confirms near-duplicates pixel by
    pixel; without it the features alone decide. Raises :class:`HealthCancelled` when ``cancel`` is set."""
    import sklearn
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the matrices are small, and on a busy 2-core machine more threads spin against each
    # other (measured: the k-fold heads took 6.6 s with the default threads, 0.44 s with one). scikit-learn's
    # chunked distances (the outliers' nearest neighbours) may use 1 GB by default: 10,000 images need far less.
    with threadpool_limits(limits=1), sklearn.config_context(working_memory=SKLEARN_WORKING_MB):
        return _analyse(data, near_duplicate_threshold, feature_source, fingerprint, reporter, cancel, pixels_of)


def _analyse(data: HealthInput, near_duplicate_threshold: float, feature_source: str, fingerprint: str,
             reporter: Reporter, cancel: CancelToken | None,
             pixels_of: Callable[[int], np.ndarray] | None) -> HealthReport:
    start = time.perf_counter()
    ids = np.asarray(data.ids, dtype=np.int64)
    labels = np.asarray(data.labels, dtype=np.int64)
    splits = np.asarray(data.splits).astype(str)
    names = list(data.class_names)
    n = len(ids)

    def name(row: int) -> str | None:
        return names[labels[row]] if labels[row] >= 0 else None

    def stage(what: str):  # noqa: ANN202
        return lambda done, total: reporter(HealthProgress(stage=what, done=done, total=total))

    _check(cancel)
    x = embed(data.vectors) if n else np.zeros((0, 1), np.float32)
    model = fit_probabilities(x, labels, splits == "test", len(names), progress=stage("labels"), cancel=cancel)
    mislabels = []
    for m in find_mislabels(labels, model):
        current, better = names[labels[m.row]], names[m.suggested]
        reason = (f"labelled {current!r}, but it looks like {better!r} ({m.confidence:.0%}); "
                  f"images like it are {current!r} only {m.label_quality:.0%} of the time")
        if splits[m.row] == "test":
            reason += ". A test image: check it yourself before relabelling"
        mislabels.append(MislabelEntry(int(ids[m.row]), str(splits[m.row]), current, better, round(m.confidence, 4),
                                       round(m.label_quality, 4), reason))

    _check(cancel)
    proposed = near_duplicates(data.vectors, near_duplicate_threshold, progress=stage("duplicates"), cancel=cancel)
    confirmed = confirm_by_pixels(proposed, pixels_of, cancel=cancel) if pixels_of is not None else proposed
    found = groups(confirmed, n)
    dupe_groups, dupes = _duplicates(found, data.vectors, ids, splits, name)
    del proposed, confirmed

    _check(cancel)
    reporter(HealthProgress(stage="outliers", done=0, total=1))
    outs = [OutlierEntry(int(ids[o.row]), str(splits[o.row]), name(o.row), round(o.score, 4),
                         f"unlike the other images (typicality {o.score:.2f}): a wrong file, or a kind of "
                         "picture the model has seen too few of")
            for o in outliers(data.vectors, cancel)]
    reporter(HealthProgress(stage="outliers", done=1, total=1))

    unlabelled = np.flatnonzero(labels < 0)
    sugg = []
    for s in suggestions(unlabelled, model.probs):
        second = np.sort(model.probs[s.row])[-2] if len(names) > 1 else 0.0
        sugg.append(SuggestionEntry(int(ids[s.row]), str(splits[s.row]), names[s.suggested],
                                    round(s.confidence, 4), round(s.uncertainty, 4),
                                    f"looks like {names[s.suggested]!r} ({s.confidence:.0%}; next best "
                                    f"{second:.0%})"))
    label_next = tuple(sorted(sugg, key=lambda s: -s.uncertainty)[:LABEL_NEXT])

    classes, warnings = _class_health(labels, splits, names, mislabels, found, labels_of=name, outs=outs)
    return HealthReport(fingerprint=fingerprint, feature_source=feature_source, images=n,
                        labelled=int((labels >= 0).sum()), seconds=round(time.perf_counter() - start, 3),
                        near_duplicate_threshold=near_duplicate_threshold, mislabels=tuple(mislabels),
                        duplicates=tuple(dupes), duplicate_groups=tuple(dupe_groups), outliers=tuple(outs),
                        suggestions=tuple(sugg),
                        label_next=label_next, classes=classes, warnings=warnings,
                        notes={"judged": int(model.judged.sum()), "duplicate_groups": len(found),
                               "duplicate_copies": sum(len(g) - 1 for g in found)})


def _later(a: str, b: str) -> str:
    return "test" if "test" in (a, b) else "validation"


def _duplicates(found: list[list[int]], vectors: np.ndarray, ids: np.ndarray, splits: np.ndarray,
                name: Callable[[int], str | None]) -> tuple[list[DuplicateGroup], list[DuplicateEntry]]:
    """Each group of copies once (at most :data:`GROUPS_LISTED` groups, :data:`GROUP_LISTED` images each),
    and as pairs "the image to keep, one copy" (at most :data:`PAIRS_LISTED`, leaks first) for review."""
    from studio.core.health.labels import _normalise

    out_groups, pairs = [], []
    for rows in found:
        keep = next((r for r in rows if splits[r] == "train"), rows[0])
        copies = [r for r in rows if r != keep]
        per_split = {sp: int((splits[rows] == sp).sum()) for sp in SPLITS if (splits[rows] == sp).any()}
        leak = len(per_split) > 1
        if len(out_groups) < GROUPS_LISTED:
            labs = tuple(sorted({lab for r in rows if (lab := name(r)) is not None}))
            reason = (f"{len(rows)} copies of one picture (keep image {int(ids[keep])})"
                      + (f", spread over {' and '.join(per_split)}: the scores on the later split are flattered"
                         if leak else ""))
            out_groups.append(DuplicateGroup(int(ids[keep]), tuple(int(ids[r]) for r in [keep, *copies][:GROUP_LISTED]),
                                             len(rows), per_split, labs, leak, reason))
        sims = _normalise(vectors[copies]) @ _normalise(vectors[[keep]])[0]
        for r, sim in zip(copies, sims):
            sa, sb = str(splits[keep]), str(splits[r])
            reason = (f"near-copy of image {int(ids[keep])} (similarity {float(sim):.3f})"
                      + (f": the same picture is in {sa} and {sb}, so the {_later(sa, sb)} score is flattered"
                         if sa != sb else "")
                      + (f"; one of {len(rows)} copies" if len(rows) > 2 else ""))
            pairs.append(DuplicateEntry(int(ids[keep]), int(ids[r]), sa, sb, name(keep), name(r),
                                        round(float(min(sim, 1.0)), 5), sa != sb, reason))
    pairs.sort(key=lambda d: (not d.leak, -d.similarity))
    return out_groups, pairs[:PAIRS_LISTED]


def _class_health(labels: np.ndarray, splits: np.ndarray, names: list[str], mislabels: list[MislabelEntry],
                  found: list[list[int]], *, labels_of: Callable[[int], str | None],
                  outs: list[OutlierEntry]) -> tuple[tuple[ClassHealth, ...], tuple[str, ...]]:
    problems: Counter[str] = Counter(m.label for m in mislabels)
    problems.update(o.label for o in outs if o.label)
    problems.update(lab for rows in found for r in rows if (lab := labels_of(r)))
    classes, warnings = [], []
    for k, cname in enumerate(names):
        per = {s: int(((labels == k) & (splits == s)).sum()) for s in SPLITS}
        classes.append(ClassHealth(cname, per["train"], per["val"], per["test"], problems.get(cname, 0)))
        if per["train"] < TINY_CLASS:
            warnings.append(f"class {cname!r} has only {per['train']} training image"
                            f"{'' if per['train'] == 1 else 's'}: add at least {TINY_CLASS}")
        if sum(per.values()) and per["test"] == 0:
            warnings.append(f"class {cname!r} has no test image: the report cannot measure it")
    totals = {c.name: c.train + c.val + c.test for c in classes if c.train + c.val + c.test}
    if len(totals) >= 2:
        big, small = max(totals, key=totals.get), min(totals, key=totals.get)  # type: ignore[arg-type]
        if totals[big] > IMBALANCE_RATIO * totals[small]:
            warnings.append(f"classes are imbalanced: {big!r} has {totals[big]} images, {small!r} only "
                            f"{totals[small]}; add images of {small!r} or train with class weights")
    return tuple(classes), tuple(warnings)


# ----- projects -----------------------------------------------------------------------------------
def fingerprint(project: Project, source: FeatureSource) -> str:
    """Changes when an image is added, trashed, relabelled or moved between splits, or the analysis changes."""
    digest = hashlib.sha256(f"v{HEALTH_VERSION}|{source.name}".encode())
    for im in project.images():
        digest.update(f"|{im.id}:{im.sha256}:{im.label}:{im.split}".encode())
    return digest.hexdigest()


def cache_path(project: Project) -> Path:
    return project.root / CACHE_FILE


def cached_report(project: Project, source: FeatureSource | None = None) -> HealthReport | None:
    """The last report when it still describes the project as it is now; otherwise None. A damaged file
    (of any type or size) is said in one line and computed again; a FIFO is never opened."""
    source = source or default_source()
    path = cache_path(project)
    if not cache_check.exists(path):
        return None
    try:
        data = cache_check.read_json(path, MAX_CACHE_BYTES)
        report = HealthReport.from_json(data)
    except (cache_check.CacheInvalid, ValueError, TypeError, KeyError, AttributeError) as exc:
        cache_check.notice(f"{CACHE_FILE} not used ({str(exc)[:160]}); checking again")
        return None
    return report if report.fingerprint == fingerprint(project, source) else None


def check_project(project: Project, *, reporter: Reporter = events.ignore, cancel: CancelToken | None = None,
                  source: FeatureSource | None = None, use_cache: bool = True) -> HealthReport:
    """Health of every non-trashed image of ``project``; reuses the cached report while it is current."""
    source = source or default_source()
    if use_cache:
        cached = cached_report(project, source)
        if cached is not None:
            return cached
    start = time.perf_counter()
    stamp = fingerprint(project, source)
    records = project.images()
    if not records:
        from studio.core.project.store import ProjectError

        raise ProjectError("no images to check yet: import some first")
    names = project.class_names()
    index = {n: i for i, n in enumerate(names)}

    def feature_progress(done: int, total: int) -> None:
        reporter(HealthProgress(stage="features", done=done, total=total))

    features = source.features(project, [r.id for r in records], progress=feature_progress, cancel=cancel,
                               **({} if use_cache else {"fresh": True}))
    _check(cancel)
    row_of = {int(i): k for k, i in enumerate(features.ids)}
    keep = [r for r in records if r.id in row_of]
    data = HealthInput(
        ids=np.array([r.id for r in keep], dtype=np.int64),
        vectors=features.vectors[[row_of[r.id] for r in keep]] if keep else np.zeros((0, 1), np.float32),
        labels=np.array([index[r.label] if r.label is not None else -1 for r in keep], dtype=np.int64),
        splits=np.array([r.split for r in keep]),
        class_names=tuple(names))
    paths = [project.image_path(r) for r in keep]
    report = analyse(data, near_duplicate_threshold=source.near_duplicate_threshold, feature_source=source.name,
                     fingerprint=stamp, reporter=reporter, cancel=cancel, pixels_of=lambda row: load_bgr(paths[row]))
    report = _with_seconds(report, time.perf_counter() - start)
    _save(project, report)
    return report


def _with_seconds(report: HealthReport, seconds: float) -> HealthReport:
    from dataclasses import replace

    return replace(report, seconds=round(seconds, 3))


def _save(project: Project, report: HealthReport) -> None:
    try:
        write_atomic(project.root, cache_path(project), json.dumps(report.to_json()))
    except OSError:
        pass  # a read-only project still gets its report; it is just computed again next time
