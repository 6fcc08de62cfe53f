"""Heatmaps ("Why?") for the window, computed on a worker thread, fast enough to follow a selection.

TensorFlow loads on the worker, never on the UI thread. A run's model is loaded once and kept (one run at a
time: the one being looked at) in :data:`_CACHE`, shared by every view, behind a lock so one model is never
used by two threads at once. Each :class:`WhyJob` keeps at most one request running and one waiting: when
the selection moves on while a heatmap is computed, only the newest waiting request survives.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from studio.gui.jobs.workers import Worker, start_worker

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class WhyRequest:
    project_root: Path
    run_id: str
    image_path: Path
    class_name: str | None = None
    tag: Any = None  # the caller's own key (an image id), handed back with the result


@dataclass(frozen=True)
class WhyResult:
    request: WhyRequest
    rgb: np.ndarray             # the image, decoded
    heat: np.ndarray            # 0..1 at the image's own size
    labels: list[str]
    probabilities: np.ndarray
    predicted: int
    shown_class: int
    method: str
    method_text: str
    seconds: float              # this heatmap, from the request to the answer (decode + model)
    model_seconds: float        # of which loading the model (0 when it was cached)


class _ExplainerCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[str, str, float] | None = None
        self.explainer: Any = None

    def get(self, project_root: Path, run_id: str) -> tuple[Any, float]:
        """(the run's explainer, seconds spent loading it now); call with ``lock`` held."""
        from studio.core.evaluation.explain import load_explainer
        from studio.core.project.store import Project

        started = time.monotonic()
        with Project.open(project_root, read_only=True) as project:
            run = project.resolve_run(run_id)
            model_file = project.run_folder(run).model_path
            key = (str(project_root), run.id, model_file.stat().st_mtime if model_file.exists() else 0.0)
            if key == self.key:
                return self.explainer, 0.0
            self.explainer, self.key = None, None  # the old model goes before the new one comes
            self.explainer = load_explainer(project, run)
            self.key = key
        return self.explainer, time.monotonic() - started


_CACHE = _ExplainerCache()


def compute(request: WhyRequest, progress: Any = None, cancel: Any = None) -> WhyResult:
    """On a worker thread: decode, explain, stretch the heat to the image's size."""
    from studio.core.images.imaging import load_rgb
    from studio.core.limits import DEFAULT_MAX_PIXELS

    started = time.monotonic()
    rgb = load_rgb(request.image_path, max_pixels=DEFAULT_MAX_PIXELS)
    with _CACHE.lock:
        explainer, load_seconds = _CACHE.get(request.project_root, request.run_id)
        e = explainer.explain(rgb, explainer.class_index(request.class_name))
    return WhyResult(request, rgb, e.at_size(*rgb.shape[:2]), list(explainer.labels), e.probabilities,
                     e.predicted, e.class_index, e.method, explainer.method_text, time.monotonic() - started,
                     load_seconds)


class WhyJob(QObject):
    """``ready`` carries a :class:`WhyResult`, ``failed`` a one-line message (with the request)."""

    ready = Signal(object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: Worker | None = None
        self._current: WhyRequest | None = None
        self._waiting: WhyRequest | None = None

    def request(self, request: WhyRequest) -> None:
        if self._running is not None:
            self._waiting = request  # replaces any older waiting request
            return
        self._start(request)

    def busy(self) -> bool:
        return self._running is not None

    # The worker's signals go to this object's own methods, so Qt drops them if this object is gone first
    # (a page closed while a heatmap was computed).
    def _start(self, request: WhyRequest) -> None:
        self._current = request
        self._running = start_worker(compute, request, on_finished=self._finished, on_errored=self._errored,
                                     on_done=self._next)

    def _finished(self, result: WhyResult) -> None:
        self.ready.emit(result)

    def _errored(self, exc: BaseException) -> None:
        self.failed.emit(self._current, _message(exc))

    def _next(self) -> None:
        self._running = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._start(waiting)


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
