"""Import files, folders (recursive), zip archives and ``path,label`` CSV files into a project.

Every file is decoded before it is accepted. Reading, decoding, hashing and writing the project's copy run on a
small pool of workers; the calling thread only sorts results and inserts rows in batches, each batch one
transaction, after its files are on disk. The workers are threads (OpenCV, hashlib and file I/O release the GIL),
or, for a large import of plain files by a process that runs no other thread (the command line, and so the
GUI's import child), forked processes: there the GIL let two threads do little more than one (measured in
bench/import_speed.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from studio.core import events
from studio.core.events import CancelToken, ImportFinished, ImportProgress, ImportStarted, Reporter
from studio.core.images.imaging import DEFAULT_MAX_PIXELS, ImageRejected, decode_bytes
from studio.core.images.report import ImportReport
from studio.core.images.sources import Source, close_sources, collect_sources, display_text
from studio.core.limits import check_max_pixels, os_reason
from studio.core.project import files as project_files
from studio.core.project.store import NewImage, Project, ProjectError, clean_class_name

__all__ = ["ImportReport", "Source", "collect_sources", "import_paths", "import_sources"]

BATCH_SIZE = 256  # rows per transaction
CHUNK = 8  # items per worker task
PROCESS_CHUNK = 64  # items per task of a worker process (each task is two pipe messages)
PROCESS_MIN_ITEMS = 400  # below this, forking the workers costs more than the GIL does


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class _Store:
    """Writes content-addressed copies from the import threads; a row is inserted only after its file is
    complete. A new name is created exclusively and written in place (no rename: file creation is the
    dearest step of an import); a name that already exists (a copy cut short by a kill, or the same image
    twice at once) is never written over: a full copy goes to a temporary name and is renamed onto it, so an
    existing name only ever changes from one complete copy to another. Plain string paths and one ``mkdir``
    per two-letter folder per import: pathlib and a stat per file cost more than the decode of a small PNG.
    Nothing is written through a link: each folder is checked once (:func:`project_files.check_folder`), a new
    name is created exclusively (a planted link under that name is an existing name) and a temporary name is
    created exclusively without following links."""

    def __init__(self, project: Project) -> None:
        self.project_root = project.root
        self.root = os.fspath(project.root / "images")
        self._made: set[str] = set()

    def write(self, data: bytes, sha: str, ext: str) -> None:
        folder = os.path.join(self.root, sha[:2])
        dest = os.path.join(folder, sha + ext)
        if folder not in self._made:
            project_files.check_folder(self.project_root, Path(folder), create=True)
            self._made.add(folder)
        try:
            fd = os.open(dest, _CREATE, 0o644)
        except FileExistsError:
            self._replace(data, folder, dest)
            return
        try:
            _write_all(fd, data)
        except OSError:
            mine = os.fstat(fd)
            os.close(fd)
            with contextlib.suppress(OSError):
                now = os.stat(dest)
                if (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):  # not yet replaced by a full copy
                    os.unlink(dest)
            raise
        os.close(fd)

    def _replace(self, data: bytes, folder: str, dest: str) -> None:
        tmp = os.path.join(folder, f".{os.path.basename(dest)}.{os.getpid()}.{threading.get_ident()}.part")
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # a leftover of a killed import (unlink never follows a link)
            fd = os.open(tmp, _CREATE | getattr(os, "O_NOFOLLOW", 0), 0o644)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, dest)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _validate(src: Source, max_pixels: int) -> Any:
    """Runs on a worker thread: label check, read, decode. Returns (bytes, decoded, label), or the reason.
    Every problem of one item ends as that item's reason; the rest of the batch goes on."""
    label = None
    if src.label is not None:
        try:
            label = clean_class_name(display_text(src.label))
        except ProjectError as exc:
            return f"bad label: {exc}"
    try:
        data = src.read()
    except ImageRejected as exc:
        return str(exc)
    except Exception as exc:  # zip member damaged (CRC, truncated stream), I/O error...
        return f"unreadable: {getattr(exc, 'strerror', None) or exc}"
    try:
        decoded = decode_bytes(data, max_pixels=max_pixels)
    except ImageRejected as exc:
        return str(exc)
    except Exception as exc:  # a decoder crash on a hostile file must not stop the import
        return f"corrupt image ({type(exc).__name__})"
    return data, decoded, label


def _prepare(src: Source, max_pixels: int, store: _Store, known: set[str]) -> Any:
    """Runs on a worker thread: validate, then store the copy unless the project has it already.
    Returns the reason for a rejected item, else (NewImage, OSError | None); the bytes
    and pixels are dropped here, so what waits for the calling thread stays small."""
    result = _validate(src, max_pixels)
    if isinstance(result, str):
        return result
    data, dec, label = result
    error: OSError | None = None
    if dec.sha256 not in known:
        try:
            store.write(data, dec.sha256, dec.ext)
        except OSError as exc:
            error = exc
    return NewImage(dec.sha256, src.name, dec.ext, dec.width, dec.height, dec.channels, label), error


def _prepare_chunk(chunk: list[Source], max_pixels: int, store: _Store, known: set[str],
                   cancel: CancelToken | None) -> list[Any]:
    """A few items per task: a future, a lock and a thread switch per small file cost more than its decode.
    Returns each item's result (not the item: a worker process would send it back for nothing)."""
    out = []
    for src in chunk:
        if cancel is not None and cancel.cancelled:
            break
        out.append(_prepare(src, max_pixels, store, known))
    return out


def import_paths(project: Project, paths: Sequence[str | Path], *, label: str | None = None,
                 reporter: Reporter = events.ignore, cancel: CancelToken | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, workers: int | None = None,
                 processes: bool | None = None) -> ImportReport:
    check_max_pixels(max_pixels)
    sources, pre_rejected = collect_sources(paths, label)
    try:
        return import_sources(project, sources, reporter=reporter, cancel=cancel, max_pixels=max_pixels,
                              workers=workers, pre_rejected=pre_rejected, processes=processes)
    finally:
        close_sources(sources)


# Libraries whose own threads may hold a lock at any moment: a process that loaded one does not fork. (NumPy's
# and OpenCV's idle BLAS and worker pools are fork-aware, and the importer never calls into them in a child.)
_FORK_UNSAFE_MODULES = ("tensorflow", "torch", "jax")


def use_processes(sources: Sequence[Source]) -> bool:
    """Fork worker processes only where it is safe and pays: Linux; no other Python thread, no running Qt
    application and no library that runs threads of its own (a fork copies only the calling thread, so a lock
    another thread held stays locked in the child: the GUI and anything with TensorFlow loaded keep to threads);
    plain files (a zip's one open file would be shared, offset and all, by the children); and enough of them."""
    return (_forkable(sources) and len(sources) >= PROCESS_MIN_ITEMS and threading.active_count() == 1
            and not any(m in sys.modules for m in _FORK_UNSAFE_MODULES) and not _qt_application_running())


def _forkable(sources: Sequence[Source]) -> bool:
    """Worker processes can do this import at all: Linux (fork and PR_SET_PDEATHSIG) and no zip member."""
    return sys.platform.startswith("linux") and all(s.archive is None for s in sources)


def _qt_application_running() -> bool:
    """A Qt application object exists (the GUI). QtCore alone is not enough to say no: the packaged app loads it
    in every process at start (PyInstaller's PySide6 run-time hook), and it starts no thread by itself."""
    qtcore = sys.modules.get("PySide6.QtCore")
    return qtcore is not None and qtcore.QCoreApplication.instance() is not None


# What forked workers inherit (set just before the fork, so nothing large is pickled per task).
_FORKED: tuple[int, _Store, set[str]] | None = None


def _forked_chunk(chunk: list[Source]) -> list[Any]:
    assert _FORKED is not None
    max_pixels, store, known = _FORKED
    return _prepare_chunk(chunk, max_pixels, store, known, None)


def _die_with_parent(parent: int) -> None:
    """In a forked worker: end when the importing process (pid ``parent``) ends, even by kill -9 (Linux), so no
    worker is left behind; an interrupt is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above (the importer may itself be pid 1)
        os._exit(1)


@contextlib.contextmanager
def _pool(processes: bool, workers: int, max_pixels: int, store: _Store,
          known: set[str]) -> Iterator[tuple[Executor, Any, int]]:
    """(executor, function over one chunk, chunk size)."""
    global _FORKED
    if not processes:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
            yield pool, None, CHUNK
        return
    import multiprocessing

    _FORKED = (max_pixels, store, set(known))
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
            yield pool, _forked_chunk, PROCESS_CHUNK
    finally:
        _FORKED = None


def import_sources(project: Project, sources: Sequence[Source], *, reporter: Reporter = events.ignore,
                   cancel: CancelToken | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                   workers: int | None = None, pre_rejected: Iterable[dict] = (),
                   processes: bool | None = None) -> ImportReport:
    """``processes``: None chooses (:func:`use_processes`); True forks worker processes for plain files even
    in a small import (the caller knows it runs no other thread); False keeps to threads."""
    report = ImportReport(rejected=list(pre_rejected))
    total = len(sources)
    reporter(ImportStarted(total=total))
    known = project.known_hashes()  # read by the workers (skip writing a copy the project has)
    store = _Store(project)
    pending: list[NewImage] = []
    done = 0
    forked = use_processes(sources) if processes is None else bool(processes) and _forkable(sources)
    workers = workers or (min(2, os.cpu_count() or 1) if forked else min(4, (os.cpu_count() or 2) + 1))

    def flush() -> None:
        if pending:
            try:
                report.added.extend(project.add_images(pending))
            except ProjectError as exc:  # locked, read-only or full: stop here, say what is kept
                raise ProjectError(f"{exc}; {len(report.added)} images were imported before the error, "
                                   "run the same import again to finish") from None
            pending.clear()

    def work(chunk: list[Source]) -> list[Any]:
        return _prepare_chunk(chunk, max_pixels, store, known, cancel)

    def consume(results: Iterable[tuple[Source, Any]]) -> None:
        nonlocal done
        for src, result in results:
            done += 1
            if isinstance(result, str):
                report.rejected.append({"path": src.display, "reason": result})
            else:
                new_image, exc = result
                if new_image.sha256 in known:
                    report.duplicates.append(src.display)
                else:
                    if exc is not None:
                        flush()
                        raise ProjectError(f"cannot write to the project ({os_reason(exc)}); "
                                           f"{len(report.added)} images were imported before the error, "
                                           "run the same import again to finish") from None
                    known.add(new_image.sha256)
                    pending.append(new_image)
                    if len(pending) >= BATCH_SIZE:
                        flush()
            if done % 16 == 0 or done == total:
                reporter(ImportProgress(done=done, total=total, added=len(report.added) + len(pending),
                                        duplicates=len(report.duplicates), rejected=len(report.rejected),
                                        current=src.display))

    with _pool(forked, workers, max_pixels, store, known) as (pool, forked_work, chunk_size):
        # Small imports (a few large photos) in chunks of one, so every worker gets some.
        chunk = max(1, min(chunk_size, total // (workers * 4)))
        try:
            consume(_windowed_map(pool, forked_work or work, _until_cancelled(sources, cancel),
                                  window=workers * 2, chunk_size=chunk))
        except BrokenProcessPool:  # a worker was killed (out of memory) or crashed (a decoder on a hostile file)
            flush()
            raise ProjectError("an import worker process ended unexpectedly (out of memory, or a file that "
                               f"crashed the image decoder); {len(report.added)} images were imported before "
                               "that, run the same import again to finish") from None
        flush()
    report.cancelled = bool(cancel and cancel.cancelled)
    reporter(ImportFinished(added=len(report.added), duplicates=len(report.duplicates),
                            rejected=len(report.rejected), cancelled=report.cancelled))
    return report


def _windowed_map(pool: Executor, fn: Any, items: Iterable[Source], window: int,
                  chunk_size: int = CHUNK) -> Iterator[Any]:
    """(item, result) pairs, like ``pool.map`` over chunks of ``chunk_size`` items, flattened, but at most
    ``window`` chunks ahead, so memory stays bounded and a cancel stops the work promptly (``Executor.map``
    submits everything at once). A chunk's results may stop short (a cancel): the rest of it is dropped."""
    queue: deque[tuple[list[Source], Future]] = deque()
    chunk: list[Source] = []
    for item in items:
        chunk.append(item)
        if len(chunk) < chunk_size:
            continue
        queue.append((chunk, pool.submit(fn, chunk)))
        chunk = []
        if len(queue) >= window:
            done, future = queue.popleft()
            yield from zip(done, future.result(), strict=False)
    if chunk:
        queue.append((chunk, pool.submit(fn, chunk)))
    while queue:
        done, future = queue.popleft()
        yield from zip(done, future.result(), strict=False)


def _until_cancelled(sources: Sequence[Source], cancel: CancelToken | None) -> Iterator[Source]:
    for src in sources:
        if cancel is not None and cancel.cancelled:
            return
        yield src
