"""An import run as a child process (``edge-studio import PROJECT --paths-from - --json --events``).

Hashing, decoding and checking thousands of images is Python-heavy work. On a thread of the window's
process it competes with the UI thread for the GIL, and every Qt call of a paint then waits its turn:
measured, stalls of 50-130 ms while 5,000 images were imported. In a child process at a lower priority
it cannot. The child writes to the project itself (SQLite in WAL mode, committed batch by batch), so a
crash or a kill loses at most the batch in progress; the window only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.commands.protocol import ExitCode, import_argv
from studio.core.events import Event, ImportProgress
from studio.core.images.report import ImportReport
from studio.gui.jobs.training_process import CliProcess, ProcessOutcome


class ImportJob(QObject):
    """One import in a child process. ``progress`` carries :class:`ImportProgress`; then exactly one of
    ``finished`` (the :class:`ImportReport`, ``cancelled`` set after :meth:`cancel`) or ``failed`` (a
    one-line message: a full disk, a crash)."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, project_root: Path, paths: Sequence[str], label: str | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Paths go through standard input (a drop of thousands of files does not fit on a command line);
        # the rare name with a line break in it goes as an argument instead.
        self._listed = [p for p in paths if "\n" not in p and "\r" not in p]
        args = import_argv(project_root, [p for p in paths if p not in self._listed], label)
        self._report: ImportReport | None = None
        self._cancelled = False
        self._process = CliProcess(args, self)
        self._process.event.connect(self._on_event)
        self._process.result.connect(self._on_result)
        self._process.finished.connect(self._on_finished)

    def start(self) -> ImportJob:
        self._process.start(("\n".join(self._listed) + "\n").encode("utf-8"))
        return self

    def cancel(self) -> None:
        """Stop after the current batch; ``finished`` then reports what was imported."""
        self._cancelled = True
        self._process.interrupt()

    def is_running(self) -> bool:
        return self._process.is_running()

    def wait(self, msecs: int = 30_000) -> bool:
        return self._process.wait(msecs)

    def kill(self) -> None:
        self._process.kill()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ImportProgress):
            self.progress.emit(event)

    def _on_result(self, obj: dict[str, Any]) -> None:
        if "added" in obj and "rejected" in obj:
            self._report = ImportReport.from_json(obj)

    def _on_finished(self, outcome: ProcessOutcome) -> None:
        if self._report is not None and not outcome.crashed and outcome.exit_code in (ExitCode.OK, ExitCode.CANCELLED):
            self.finished.emit(self._report)
        elif self._cancelled:
            # Interrupted before it could report (for example while it was still starting). Batches are
            # committed whole, and the window reloads the project, so what is shown stays the truth.
            self.finished.emit(ImportReport(cancelled=True))
        else:
            self.failed.emit(outcome.error_message())
