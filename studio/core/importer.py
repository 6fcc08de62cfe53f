"""Import files, folders (recursive), zip archives and ``path,label`` CSV files into a project.

Every file is decoded before it is accepted. Decoding runs on a small thread pool (OpenCV releases the
GIL); rows are inserted in batches, each batch one transaction, after its files are safely on disk.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from studio.core import events
from studio.core.events import CancelToken, ImportFinished, ImportProgress, ImportStarted, Reporter
from studio.core.imaging import DEFAULT_MAX_PIXELS, ImageRejected, decode_bytes, is_image_name
from studio.core.project import NewImage, Project, ProjectError

BATCH_SIZE = 256


@dataclass(frozen=True)
class Source:
    """One candidate file: where its bytes are and the label it should get."""

    display: str
    label: str | None
    path: Path | None = None
    zip_path: Path | None = None
    member: str | None = None

    def read(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        assert self.zip_path is not None and self.member is not None
        with zipfile.ZipFile(self.zip_path) as zf:
            return zf.read(self.member)

    @property
    def name(self) -> str:
        return PurePosixPath(self.display.replace("\\", "/")).name


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


def collect_sources(paths: Sequence[str | Path], label: str | None = None) -> tuple[list[Source], list[dict]]:
    """Expand the user's paths into candidate files; returns (sources, rejected-at-collection)."""
    sources: list[Source] = []
    rejected: list[dict[str, str]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            rejected.append({"path": str(p), "reason": "no such file or folder"})
        elif p.is_dir():
            sources.extend(_from_folder(p, label))
        elif p.suffix.lower() == ".zip":
            try:
                sources.extend(_from_zip(p, label))
            except (zipfile.BadZipFile, OSError) as exc:
                rejected.append({"path": str(p), "reason": f"not a readable zip archive ({exc})"})
        elif p.suffix.lower() == ".csv":
            try:
                srcs, bad = _from_csv(p, label)
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                rejected.append({"path": str(p), "reason": f"unreadable CSV ({exc})"})
            else:
                sources.extend(srcs)
                rejected.extend(bad)
        else:
            sources.append(Source(display=str(p), label=label, path=p))
    return sources, rejected


def _from_folder(root: Path, label: str | None) -> Iterator[Source]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_parts = Path(dirpath).relative_to(root).parts
        sub_label = label if label is not None else (rel_parts[0] if rel_parts else None)
        for fn in sorted(filenames):
            if fn.startswith(".") or not is_image_name(fn):
                continue
            p = Path(dirpath) / fn
            yield Source(display=str(p), label=sub_label, path=p)


def _from_zip(zpath: Path, label: str | None) -> Iterator[Source]:
    with zipfile.ZipFile(zpath) as zf:
        members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
    parts = [PurePosixPath(m.filename).parts for m in members]
    tops = {pp[0] for pp in parts if len(pp) > 1}
    # A zip of one folder ("dataset/cats/x.jpg") is read as that folder.
    strip = 1 if len(tops) == 1 and all(len(pp) > 1 for pp in parts) else 0
    for m, pp in zip(members, parts):
        inner = pp[strip:]
        if not inner or inner[-1].startswith(".") or not is_image_name(inner[-1]):
            continue
        sub_label = label if label is not None else (inner[0] if len(inner) > 1 else None)
        yield Source(display=f"{zpath}!{m.filename}", label=sub_label, zip_path=zpath, member=m.filename)


def _from_csv(cpath: Path, label: str | None) -> tuple[list[Source], list[dict[str, str]]]:
    sources, rejected = [], []
    with cpath.open(newline="", encoding="utf-8-sig") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if not row or not row[0].strip():
                continue
            if i == 0 and row[0].strip().lower() in ("path", "file", "filename", "image"):
                continue
            p = Path(row[0].strip())
            if not p.is_absolute():
                p = cpath.parent / p
            row_label = label if label is not None else (row[1].strip() if len(row) > 1 and row[1].strip() else None)
            if not p.is_file():
                rejected.append({"path": str(p), "reason": f"listed in {cpath.name} but not found"})
                continue
            sources.append(Source(display=str(p), label=row_label, path=p))
    return sources, rejected


def _store_bytes(project: Project, data: bytes, sha: str, ext: str) -> None:
    """Write the content-addressed copy atomically (tmp + rename); reuse an existing complete copy."""
    dest = project.image_path(sha, ext)
    if dest.is_file() and dest.stat().st_size == len(data):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _validate(src: Source, max_pixels: int) -> tuple[Source, Any]:
    """Runs on a worker thread: read + decode. Returns (source, (bytes, decoded) | reason)."""
    try:
        data = src.read()
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        return src, f"unreadable: {getattr(exc, 'strerror', None) or exc}"
    try:
        decoded = decode_bytes(data, max_pixels=max_pixels)
    except ImageRejected as exc:
        return src, str(exc)
    except Exception as exc:  # a decoder crash on a hostile file must not stop the import
        return src, f"corrupt image ({type(exc).__name__})"
    return src, (data, decoded)


def import_paths(project: Project, paths: Sequence[str | Path], *, label: str | None = None,
                 reporter: Reporter = events.ignore, cancel: CancelToken | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, workers: int | None = None) -> ImportReport:
    sources, pre_rejected = collect_sources(paths, label)
    return import_sources(project, sources, reporter=reporter, cancel=cancel, max_pixels=max_pixels,
                          workers=workers, pre_rejected=pre_rejected)


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
            report.added.extend(project.add_images(pending))
            pending.clear()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
        for src, result in _windowed_map(pool, lambda s: _validate(s, max_pixels),
                                         _until_cancelled(sources, cancel), window=workers * 8):
            done += 1
            if isinstance(result, str):
                report.rejected.append({"path": src.display, "reason": result})
            else:
                data, dec = result
                if dec.sha256 in known:
                    report.duplicates.append(src.display)
                else:
                    try:
                        _store_bytes(project, data, dec.sha256, dec.ext)
                    except OSError as exc:
                        flush()
                        raise ProjectError(f"cannot write to the project ({exc.strerror or exc}); "
                                           f"{len(report.added)} images were imported before the error") from None
                    known.add(dec.sha256)
                    pending.append(NewImage(dec.sha256, src.name, dec.ext, dec.width, dec.height, dec.channels,
                                            src.label))
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
