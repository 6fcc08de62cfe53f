"""A health check run as a child process (``edge-studio health PROJECT --json --events``), as training and
import are: the backbone (TensorFlow) never loads into the window's process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.core.events import HealthProgress
from studio.core.health_report import HealthReport
from studio.gui.training_process import CliProcess, ProcessOutcome


class HealthJob(QObject):
    """``progress`` carries :class:`HealthProgress`; then exactly one of ``finished`` (the
    :class:`HealthReport`), ``cancelled`` or ``failed`` (a one-line message)."""

    progress = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, project_root: Path, parent: QObject | None = None, *, fresh: bool = False) -> None:
        super().__init__(parent)
        args = ["health", str(project_root), "--json", "--events"] + (["--fresh"] if fresh else [])
        self._report: HealthReport | None = None
        self._cancelling = False
        self._process = CliProcess(args, self)
        self._process.json_line.connect(self._on_line)
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

    def _on_line(self, obj: dict[str, Any]) -> None:
        if obj.get("event") == "health_progress":
            self.progress.emit(HealthProgress(stage=str(obj["stage"]), done=int(obj["done"]),
                                              total=int(obj["total"])))
        elif "fingerprint" in obj and "mislabels" in obj:
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
