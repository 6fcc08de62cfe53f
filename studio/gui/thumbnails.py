"""Thumbnails made off the UI thread, cached on disk under ``project/thumbnails/`` and in memory.

The grid asks for the thumbnails of the rows it paints. Requests go on a stack served newest-first by a
small private thread pool, so after a fast scroll the rows now on screen come first; requests for rows
long scrolled past are dropped (they are asked for again if they come back into view).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from studio.core.errors import ProjectError
from studio.core.project import files as project_files
from studio.core.project.store import ImageRecord, Project

if TYPE_CHECKING:
    import numpy as np

# OpenCV and NumPy (90 ms of imports) load with the first thumbnail, on its worker thread, not at launch.

THUMB_SIZE = 160          # pixels, the longest side stored on disk
MEMORY_ITEMS = 2000       # QImages kept in memory (at most 128x128x3 bytes each in the grid: ~100 MB)
MAX_PENDING = 400         # requests beyond this (the oldest) are dropped


def thumbnail_path(project: Project, sha256: str) -> Path:
    return project.root / "thumbnails" / sha256[:2] / f"{sha256}.{THUMB_SIZE}.png"


def make_thumbnail(project: Project, record: ImageRecord, box: int | None = None) -> QImage:
    """Read the cached thumbnail or make (and cache) it, then fit it in ``box`` (None: as stored). Runs on
    a worker thread; QImage is thread-safe."""
    import cv2

    from studio.core.images.imaging import load_bgr, thumbnail

    path = thumbnail_path(project, record.sha256)
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if pixels is None:
        pixels = thumbnail(load_bgr(project.image_path(record)), THUMB_SIZE)
        if pixels.ndim == 2:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
        ok, buf = cv2.imencode(".png", pixels)  # PNG: cached thumbnails are exact
        if ok:
            try:  # atomic and never through a link out of the project; a thumbnail not cached is only slower
                project_files.write_atomic(project.root, path, buf.tobytes())
            except (OSError, ProjectError):
                pass
    # Fitted with OpenCV, which lets other threads run meanwhile (a QImage.scaled call here held the UI
    # thread up).
    return bgr_to_qimage(thumbnail(pixels, box, enlarge=True) if box else pixels)


def bgr_to_qimage(pixels: np.ndarray) -> QImage:
    import cv2
    import numpy as np

    if pixels.ndim == 2:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    rgb = np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    # .copy() detaches the QImage from the numpy buffer, which is freed when this function returns.
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _Job(QRunnable):
    def __init__(self, cache: ThumbnailCache) -> None:
        super().__init__()
        self._cache = cache

    def run(self) -> None:
        self._cache._serve()


class ThumbnailCache(QObject):
    """``get(record)`` returns a QImage at once or None and emits ``ready(image_id)`` when it is made."""

    ready = Signal(int)

    def __init__(self, project: Project, threads: int | None = None, parent: QObject | None = None,
                 display_box: int | None = None) -> None:
        super().__init__(parent)
        self.project = project
        # Scale to the grid's box here, on the worker, so the UI thread only draws (None: stored size).
        self.display_box = display_box
        self._memory: OrderedDict[int, QImage] = OrderedDict()
        self._failed: set[int] = set()
        self._stack: OrderedDict[int, ImageRecord] = OrderedDict()  # newest last
        self._lock = threading.Lock()
        self._closed = False
        self._jobs = 0  # jobs started and not yet finished
        self._pool = QThreadPool(self)
        # One core stays with the UI thread (2 threads on 3+ cores, 1 on a 2-core machine).
        self._max_jobs = threads or max(1, min(2, (os.cpu_count() or 2) - 1))
        self._pool.setMaxThreadCount(self._max_jobs)
        self.made = 0  # thumbnails produced (tests and benchmarks read it)

    def get(self, record: ImageRecord) -> QImage | None:
        with self._lock:
            image = self._memory.get(record.id)
            if image is not None:
                self._memory.move_to_end(record.id)
                return image
        if record.id not in self._failed:
            self._request(record)
        return None

    def failed(self, image_id: int) -> bool:
        return image_id in self._failed

    def _request(self, record: ImageRecord) -> None:
        with self._lock:
            if self._closed:
                return
            known = record.id in self._stack
            self._stack[record.id] = record
            self._stack.move_to_end(record.id)
            while len(self._stack) > MAX_PENDING:
                self._stack.popitem(last=False)
            # One job per pool thread, each serving the stack until it is empty: a screenful of requests
            # starts one or two jobs, not forty (each start is a Qt call made on the UI thread).
            start = not known and self._jobs < self._max_jobs
            if start:
                self._jobs += 1
        if start:
            self._pool.start(_Job(self))

    def _serve(self) -> None:  # on a pool thread
        while True:
            with self._lock:
                if self._closed or not self._stack:
                    self._jobs -= 1
                    return
                _, record = self._stack.popitem(last=True)
            try:
                image = make_thumbnail(self.project, record, self.display_box)
            except Exception:  # a missing or unreadable file shows as a broken-image tile, not a crash
                image = None
            self._deliver(record.id, image)

    def _deliver(self, image_id: int, image: QImage | None) -> None:
        with self._lock:
            if self._closed:
                return
            if image is None:
                self._failed.add(image_id)
            else:
                self._memory[image_id] = image
                self.made += 1
                while len(self._memory) > MEMORY_ITEMS:
                    self._memory.popitem(last=False)
        self.ready.emit(image_id)

    def pending(self) -> int:
        with self._lock:
            return len(self._stack)

    def close(self) -> None:
        """Drop the queue and wait for thumbnails in progress (they write into the project folder)."""
        with self._lock:
            self._closed = True
            self._stack.clear()
        self._pool.waitForDone(5000)
