"""A health check run as a child process (``edge-studio health PROJECT --json --events``), as training and
import are: the backbone (TensorFlow) never loads into the window's process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.commands.protocol import health_argv
from studio.core.events import HealthProgress
from studio.core.health.report import HealthReport
from studio.gui.jobs.training_process import CliProcess, ProcessOutcome


class HealthJob(QObject):
    """``progress`` carries :class:`HealthProgress`; then exactly one of ``finished`` (the
    :class:`HealthReport`), ``cancelled`` or ``failed`` (a one-line message)."""

    progress = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, project_root: Path, parent: QObject | None = None, *, fresh: bool = False) -> None:
        super().__init__(parent)
        args = health_argv(project_root, fresh)
        self._report: HealthReport | None = None
        self._cancelling = False
        self._process = CliProcess(args, self)
        self._process.event.connect(self._on_event)
        self._process.result.connect(self._on_result)
        self._process.finished.connect(self._on_finished)

    def start(self) -> HealthJob:
        self._process.start()
        return self

    def cancel(self) -> None:
        self._cancelling = True
        self._process.interrupt()

    def is_running(self) -> bool:
        return self._process.is_running()

    def wait(self, msecs: int = 30_000) -> bool:
        return self._process.wait(msecs)

    def _on_event(self, event: object) -> None:
        if isinstance(event, HealthProgress):
            self.progress.emit(event)

    def _on_result(self, obj: dict[str, Any]) -> None:
        try:
            self._report = HealthReport.from_json(obj)
        except (TypeError, ValueError, KeyError):
            self._report = None

    def _on_finished(self, outcome: ProcessOutcome) -> None:
        if outcome.ok and self._report is not None:
            self.finished.emit(self._report)
        elif self._cancelling:
            self.cancelled.emit()
        else:
            self.failed.emit(outcome.error_message())
