"""The thread-pool worker every page uses: signal order, errors, cooperative cancel."""

from __future__ import annotations

import threading
from pathlib import Path

from studio.core.events import ImportProgress
from studio.gui.jobs.workers import Worker, active_workers, start_worker


def _count(n: int, progress, cancel) -> str:  # noqa: ANN001
    for i in range(n):
        progress(ImportProgress(done=i + 1, total=n, added=i + 1, duplicates=0, rejected=0))
    return threading.current_thread().name


def test_signals_arrive_in_order_on_the_ui_thread(qtbot) -> None:  # noqa: ANN001
    worker = Worker(_count, 3)
    seen: list[object] = []
    worker.progress.connect(lambda e: seen.append((e.done, threading.current_thread() is threading.main_thread())))
    with qtbot.waitSignals([worker.started, worker.finished, worker.done], order="strict", timeout=10_000):
        worker.start()
    assert seen == [(1, True), (2, True), (3, True)]
    qtbot.waitUntil(lambda: worker not in active_workers())


def test_errored_carries_the_exception_and_traceback(qtbot) -> None:  # noqa: ANN001
    def boom(progress, cancel) -> None:  # noqa: ANN001
        raise ValueError("bad input")

    got: list[BaseException] = []
    worker = Worker(boom)
    worker.errored.connect(got.append)
    with qtbot.waitSignal(worker.done, timeout=10_000):  # connected before the job can finish
        worker.start()
    assert isinstance(got[0], ValueError) and "bad input" in got[0].__traceback_text__


def test_cancel_is_cooperative(qtbot) -> None:  # noqa: ANN001
    started = threading.Event()

    def loop(progress, cancel) -> int:  # noqa: ANN001
        started.set()
        steps = 0
        while not cancel.cancelled:  # a real job checks between units of work
            steps += 1
            started.wait(0.001)
        return steps

    results: list[int] = []
    worker = start_worker(loop, on_finished=results.append)
    qtbot.waitUntil(started.is_set)
    with qtbot.waitSignal(worker.done, timeout=10_000):
        worker.cancel()
    assert worker.cancelled and results and results[0] >= 1


def test_a_why_job_that_finishes_at_once_still_ends_and_takes_the_next_request(qtbot, monkeypatch) -> None:  # noqa: ANN001
    """A heatmap of a cached model can be done before ``start_worker`` returns. Its ``done`` must still reach
    the job (it was connected only after the start, then lost: the job stayed busy and the panel froze)."""
    from PySide6.QtCore import QThreadPool

    from studio.gui.jobs import why_job, workers

    def instant(request, progress=None, cancel=None):  # noqa: ANN001, ANN202
        return request

    def start_and_finish(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        worker = workers.start_worker(*args, **kwargs)
        QThreadPool.globalInstance().waitForDone(10_000)  # the job has emitted everything before this returns
        return worker

    monkeypatch.setattr(why_job, "compute", instant)
    monkeypatch.setattr(why_job, "start_worker", start_and_finish)
    job = why_job.WhyJob()
    got: list[object] = []
    job.ready.connect(got.append)
    first, second = (why_job.WhyRequest(Path("p"), "r", Path(f"{n}.png"), tag=n) for n in (1, 2))
    job.request(first)
    job.request(second)  # waits for the first
    qtbot.waitUntil(lambda: not job.busy() and len(got) == 2, timeout=10_000)
    assert got == [first, second]
