"""Import files, folders (recursive), zip archives and ``path,label`` CSV files into a project.

Every file is decoded before it is accepted. Decoding runs on a small thread pool (OpenCV releases the
GIL); rows are inserted in batches, each batch one transaction, after its files are safely on disk.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core import events
from studio.core.events import CancelToken, ImportFinished, ImportProgress, ImportStarted, Reporter
from studio.core.images.imaging import DEFAULT_MAX_PIXELS, ImageRejected, decode_bytes
from studio.core.images.sources import Source, close_sources, collect_sources, display_text
from studio.core.limits import check_max_pixels, os_reason
from studio.core.project import files as project_files
from studio.core.project.store import NewImage, Project, ProjectError, clean_class_name

__all__ = ["ImportReport", "Source", "collect_sources", "import_paths", "import_sources"]

BATCH_SIZE = 256


@dataclass
class ImportReport:
    added: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"added": len(self.added), "duplicates": len(self.duplicates), "duplicate_paths": self.duplicates,
                "rejected": self.rejected, "cancelled": self.cancelled, "added_ids": self.added}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ImportReport:
        """The inverse of :meth:`to_json` (a child process's ``--json`` report)."""
        added = obj.get("added_ids")
        if not isinstance(added, list):
            added = [0] * int(obj.get("added", 0))  # ids unknown: keep the count
        return cls(added=[int(i) for i in added], duplicates=[str(p) for p in obj.get("duplicate_paths", [])],
                   rejected=[{"path": str(r.get("path", "")), "reason": str(r.get("reason", ""))}
                             for r in obj.get("rejected", []) if isinstance(r, dict)],
                   cancelled=bool(obj.get("cancelled", False)))


def _store_bytes(project: Project, data: bytes, sha: str, ext: str) -> None:
    """Write the content-addressed copy atomically (unique temporary + rename); reuse an existing complete copy."""
    dest = project.image_path(sha, ext)
    if dest.is_file() and dest.stat().st_size == len(data):
        return
    project_files.write_atomic(project.root, dest, data)  # never through a link out of the project


def _validate(src: Source, max_pixels: int) -> tuple[Source, Any]:
    """Runs on a worker thread: label check, read, decode. Returns (source, (bytes, decoded, label) | reason).
    Every problem of one item ends as that item's reason; the rest of the batch goes on."""
    label = None
    if src.label is not None:
        try:
            label = clean_class_name(display_text(src.label))
        except ProjectError as exc:
            return src, f"bad label: {exc}"
    try:
        data = src.read()
    except ImageRejected as exc:
        return src, str(exc)
    except Exception as exc:  # zip member damaged (CRC, truncated stream), I/O error...
        return src, f"unreadable: {getattr(exc, 'strerror', None) or exc}"
    try:
        decoded = decode_bytes(data, max_pixels=max_pixels)
    except ImageRejected as exc:
        return src, str(exc)
    except Exception as exc:  # a decoder crash on a hostile file must not stop the import
        return src, f"corrupt image ({type(exc).__name__})"
    return src, (data, decoded, label)


def import_paths(project: Project, paths: Sequence[str | Path], *, label: str | None = None,
                 reporter: Reporter = events.ignore, cancel: CancelToken | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, workers: int | None = None) -> ImportReport:
    check_max_pixels(max_pixels)
    sources, pre_rejected = collect_sources(paths, label)
    try:
        return import_sources(project, sources, reporter=reporter, cancel=cancel, max_pixels=max_pixels,
                              workers=workers, pre_rejected=pre_rejected)
    finally:
        close_sources(sources)


def import_sources(project: Project, sources: Sequence[Source], *, reporter: Reporter = events.ignore,
                   cancel: CancelToken | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                   workers: int | None = None, pre_rejected: Iterable[dict] = ()) -> ImportReport:
    report = ImportReport(rejected=list(pre_rejected))
    total = len(sources)
    reporter(ImportStarted(total=total))
    known = project.known_hashes()
    pending: list[NewImage] = []
    done = 0
    workers = workers or min(4, (os.cpu_count() or 2) + 1)

    def flush() -> None:
        if pending:
            try:
                report.added.extend(project.add_images(pending))
            except ProjectError as exc:  # locked, read-only or full: stop here, say what is kept
                raise ProjectError(f"{exc}; {len(report.added)} images were imported before the error, "
                                   "run the same import again to finish") from None
            pending.clear()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
        for src, result in _windowed_map(pool, lambda s: _validate(s, max_pixels),
                                         _until_cancelled(sources, cancel), window=workers * 8):
            done += 1
            if isinstance(result, str):
                report.rejected.append({"path": src.display, "reason": result})
            else:
                data, dec, item_label = result
                if dec.sha256 in known:
                    report.duplicates.append(src.display)
                else:
                    try:
                        _store_bytes(project, data, dec.sha256, dec.ext)
                    except OSError as exc:
                        flush()
                        raise ProjectError(f"cannot write to the project ({os_reason(exc)}); "
                                           f"{len(report.added)} images were imported before the error, "
                                           "run the same import again to finish") from None
                    known.add(dec.sha256)
                    pending.append(NewImage(dec.sha256, src.name, dec.ext, dec.width, dec.height, dec.channels,
                                            item_label))
                    if len(pending) >= BATCH_SIZE:
                        flush()
            if done % 16 == 0 or done == total:
                reporter(ImportProgress(done=done, total=total, added=len(report.added) + len(pending),
                                        duplicates=len(report.duplicates), rejected=len(report.rejected),
                                        current=src.display))
        flush()
    report.cancelled = bool(cancel and cancel.cancelled)
    reporter(ImportFinished(added=len(report.added), duplicates=len(report.duplicates),
                            rejected=len(report.rejected), cancelled=report.cancelled))
    return report



def _windowed_map(pool: ThreadPoolExecutor, fn: Any, items: Iterable[Source], window: int) -> Iterator[Any]:
    """Like ``pool.map`` but submits at most ``window`` items ahead, so memory stays bounded and a
    cancel stops the work promptly (``Executor.map`` submits everything at once)."""
    queue: deque[Future] = deque()
    for item in items:
        queue.append(pool.submit(fn, item))
        if len(queue) >= window:
            yield queue.popleft().result()
    while queue:
        yield queue.popleft().result()


def _until_cancelled(sources: Sequence[Source], cancel: CancelToken | None) -> Iterator[Source]:
    for src in sources:
        if cancel is not None and cancel.cancelled:
            return
        yield src
