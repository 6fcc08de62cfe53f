"""Run long jobs off the UI thread and report back through Qt signals (superqt-style).

A job is a plain function ``fn(*args, progress=..., cancel=..., **kwargs)``: ``progress(obj)`` forwards any
object (usually a frozen event from ``studio.core.events``) to the UI thread, and ``cancel`` is a
:class:`CancelToken` the job checks between units of work. Cancel is cooperative: nothing is killed
mid-write.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from studio.core.events import CancelToken

# Workers alive right now; Qt owns no reference to the Python objects, so without this a running
# worker (and its signals object) could be garbage-collected mid-flight.
_ACTIVE: set[Worker] = set()


def _emit(signal: Signal, *args: Any) -> None:
    # When the app quits while a job still runs, the receivers (and the signals object) may already be gone;
    # the job's result is then of no use to anyone, so it is dropped instead of raising on the pool thread.
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


class WorkerSignals(QObject):
    started = Signal()
    progress = Signal(object)   # whatever the job reported (an event dataclass)
    finished = Signal(object)   # the job's return value
    errored = Signal(object)    # the exception the job raised (with __traceback_text__ set)
    done = Signal()             # always last, after finished or errored


class Worker(QRunnable):
    """A job on a thread pool. Connect to ``worker.signals`` before :meth:`start`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.cancel_token = CancelToken()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.is_running = False
        self.signals.done.connect(self._release)

    def _release(self) -> None:
        _ACTIVE.discard(self)

    # convenience aliases, so callers write ``worker.finished.connect(...)``
    @property
    def started(self) -> Signal:
        return self.signals.started

    @property
    def progress(self) -> Signal:
        return self.signals.progress

    @property
    def finished(self) -> Signal:
        return self.signals.finished

    @property
    def errored(self) -> Signal:
        return self.signals.errored

    @property
    def done(self) -> Signal:
        return self.signals.done

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    def start(self, pool: QThreadPool | None = None) -> Worker:
        _ACTIVE.add(self)
        self.is_running = True
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def run(self) -> None:  # on the pool thread
        signals = self.signals
        _emit(signals.started)
        try:
            result = self._fn(*self._args, progress=lambda event: _emit(signals.progress, event),
                              cancel=self.cancel_token, **self._kwargs)
        except BaseException as exc:  # report every failure to the UI instead of losing it on a thread
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            _emit(signals.errored, exc)
        else:
            _emit(signals.finished, result)
        finally:
            self.is_running = False
            _emit(signals.done)

    def __hash__(self) -> int:
        return id(self)


def start_worker(fn: Callable[..., Any], *args: Any, on_progress: Callable[[Any], None] | None = None,
                 on_finished: Callable[[Any], None] | None = None,
                 on_errored: Callable[[BaseException], None] | None = None,
                 on_done: Callable[[], None] | None = None,
                 pool: QThreadPool | None = None, **kwargs: Any) -> Worker:
    """Create, wire and start a :class:`Worker`; it is released after ``done`` reaches the UI thread.
    Every slot is connected here, before the start: a signal a quick job emits before its slot is connected
    is lost (a heatmap of a cached model once finished first, and its panel waited for ``done`` forever)."""
    worker = Worker(fn, *args, **kwargs)
    if on_progress is not None:
        worker.progress.connect(on_progress)
    if on_finished is not None:
        worker.finished.connect(on_finished)
    if on_errored is not None:
        worker.errored.connect(on_errored)
    if on_done is not None:
        worker.done.connect(on_done)
    return worker.start(pool)


def active_workers() -> list[Worker]:
    return list(_ACTIVE)


def cancel_all_and_wait(timeout_ms: int = 10_000) -> None:
    """On quit: ask every job to stop and wait for the pool, so no write is cut off."""
    for worker in list(_ACTIVE):
        worker.cancel()
    QThreadPool.globalInstance().waitForDone(timeout_ms)
