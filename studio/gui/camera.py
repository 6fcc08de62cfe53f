"""Camera capture: an OpenCV ``VideoCapture`` read on its own thread, frames saved as PNG into a class.

The source is a camera index (``0`` is the first webcam) or a video file path (tests use one; a file is
played at its own frame rate, looping). The UI only ever sees the latest frame; nothing blocks the UI
thread.
"""

from __future__ import annotations

import glob
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from studio.core.events import CancelToken
from studio.core.images.importer import ImportReport, import_paths
from studio.core.project.store import Project
from studio.gui.thumbnails import bgr_to_qimage

PREVIEW_MAX_FPS = 30.0


@dataclass(frozen=True)
class CameraChoice:
    source: int | str
    name: str


def list_cameras() -> list[CameraChoice]:
    """Cameras the system lists, without opening them (opening a V4L2 device can take a second)."""
    if sys.platform.startswith("linux"):
        indices = sorted(int(p.removeprefix("/dev/video")) for p in glob.glob("/dev/video[0-9]*"))
        return [CameraChoice(i, f"Camera {i} (/dev/video{i})") for i in indices]
    return [CameraChoice(0, "Default camera")]


def _emit(signal, *args) -> None:  # noqa: ANN001
    # The widget showing the feed may be gone while the camera thread winds down; drop the frame then.
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


class CameraFeed(QObject):
    """Reads frames on a thread; ``frame_ready`` carries a preview QImage, ``latest()`` the last frame."""

    frame_ready = Signal(QImage)
    opened = Signal()
    failed = Signal(str)

    def __init__(self, source: int | str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> tuple[int, np.ndarray | None]:
        """(sequence number, a copy of the newest BGR frame); the number grows with every frame read."""
        with self._lock:
            return self._seq, None if self._frame is None else self._frame.copy()

    def _loop(self) -> None:  # camera thread
        is_file = isinstance(self.source, str)
        cap = cv2.VideoCapture(self.source)
        try:
            if not cap.isOpened():
                _emit(self.failed, f"cannot open {'video file' if is_file else 'camera'} {self.source}")
                return
            fps = cap.get(cv2.CAP_PROP_FPS) if is_file else 0.0
            frame_interval = 1.0 / fps if fps and fps > 0 else 0.0
            last_preview = 0.0
            _emit(self.opened)
            while not self._stop.is_set():
                t0 = time.monotonic()
                ok, frame = cap.read()
                if not ok:
                    if is_file and cap.set(cv2.CAP_PROP_POS_FRAMES, 0) and self._seq > 0:
                        continue  # loop the file like a live camera
                    _emit(self.failed, "the camera stopped sending frames")
                    return
                with self._lock:
                    self._frame = frame
                    self._seq += 1
                now = time.monotonic()
                if now - last_preview >= 1.0 / PREVIEW_MAX_FPS:
                    last_preview = now
                    _emit(self.frame_ready, bgr_to_qimage(frame))
                if frame_interval:  # a file plays at its own rate; a camera paces itself
                    self._stop.wait(max(0.0, frame_interval - (time.monotonic() - t0)))
        finally:
            cap.release()


@contextmanager
def _frames_as_files(frames: Sequence[np.ndarray], prefix: str) -> Iterator[list[Path]]:
    """The frames as PNG files in a temporary folder (removed afterwards): ``<prefix>_<time>_<i>.png``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory(prefix="studio-capture-") as tmp:
        paths = []
        for i, frame in enumerate(frames):
            ok, buf = cv2.imencode(".png", frame)
            if ok:
                path = Path(tmp) / f"{prefix}_{stamp}_{i:04d}.png"
                path.write_bytes(buf.tobytes())
                paths.append(path)
        yield paths


def import_frames(project: Project, frames: Sequence[np.ndarray], label: str | None, *,
                  progress=None, cancel: CancelToken | None = None) -> ImportReport:  # noqa: ANN001
    """PNG-encode frames and import them through the core importer (so they are validated, hashed and
    committed exactly like dropped files)."""
    with _frames_as_files(frames, "capture") as paths:
        return import_paths(project, paths, label=label, cancel=cancel, reporter=progress or (lambda _e: None))


def import_other_frames(project: Project, frames: Sequence[np.ndarray], *,
                        progress=None, cancel: CancelToken | None = None) -> int:  # noqa: ANN001
    """Frames as "other things" (none of the classes: the background, the room); returns how many were added."""
    from studio.core.project import others

    with _frames_as_files(frames, "background") as paths:
        return others.add_paths(project, paths).added
