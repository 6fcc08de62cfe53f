"""Runs `edge-studio` jobs (train, evaluate, export) in a child process and reports their JSON lines.

Training runs in a separate process on purpose: TensorFlow holding the GIL, leaking memory or dying of
out-of-memory can then neither freeze nor take down the window. The child is the real CLI
(``python -m studio <command> ... --json``), which prints only JSON lines on stdout.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from studio.commands.protocol import NICE_ENV, TrainJob, parse_line
from studio.core.events import BatchEnd, EpochEnd, Event, JobError, RunCancelled, RunFailed, RunFinished, RunStarted
from studio.core.project.runs import RunStatus

# A queued training run: the job protocol's TrainJob (argv, defaults); the old name stays for callers.
QueuedRun = TrainJob

# How long a cancelled child gets to stop cleanly (it finishes the current batch and marks the run)
# before it is terminated, then killed.
CANCEL_GRACE_MS = 15_000
STDERR_TAIL_LINES = 40
CHILD_NICE = 10


def _child_environment() -> QProcessEnvironment:
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")     # events must arrive as they happen, not when a buffer fills
    env.insert("TF_CPP_MIN_LOG_LEVEL", env.value("TF_CPP_MIN_LOG_LEVEL", "2"))
    env.insert("PYTHONIOENCODING", "utf-8")
    # Jobs are background work: at a lower CPU priority the window keeps its share of the cores while a
    # job uses all of them (measured by bench/ui_latency.py). Read and consumed by `studio.cli`.
    env.insert(NICE_ENV, str(CHILD_NICE))
    # The child must find the same `studio` package as this window, even from a source checkout.
    root = str(Path(__file__).resolve().parents[2])
    path = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", root + (os.pathsep + path if path else ""))
    return env


@dataclass(frozen=True)
class ProcessOutcome:
    """How a child ended: ``exit_code`` (-1 when it crashed or was killed), its result object (the last JSON
    object that is not an event), the error object it printed (``--json`` mode), and the end of its stderr."""

    exit_code: int
    crashed: bool
    result: dict[str, Any] | None
    stderr_tail: str
    error: JobError | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.crashed

    def error_message(self) -> str:
        """One readable line for the user: the command's own error object when it printed one."""
        if self.error is not None:
            return self.error.error
        lines = [ln.strip() for ln in self.stderr_tail.splitlines() if ln.strip()]
        if self.crashed:
            return "the process crashed or was killed (for example by running out of memory)"
        return lines[-1] if lines else f"the process ended with exit code {self.exit_code}"


class CliProcess(QObject):
    """One ``python -m studio ...`` child (or another Qt-free module). Emits each event line as its typed
    :class:`~studio.core.events.Event` (``event``), each other JSON object as a dict (``result``), then
    ``finished`` with a :class:`ProcessOutcome`."""

    event = Signal(object)     # an Event
    result = Signal(dict)      # a command's result object (import report, export result, evaluation report)
    finished = Signal(object)  # ProcessOutcome

    def __init__(self, args: list[str], parent: QObject | None = None, module: str = "studio") -> None:
        super().__init__(parent)
        self.args = list(args)
        self.module = module
        self._buffer = b""
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._result: dict[str, Any] | None = None
        self._error: JobError | None = None
        self._process = QProcess(self)
        self._process.setProcessEnvironment(_child_environment())
        self._process.readyReadStandardOutput.connect(self._read_stdout)
        self._process.readyReadStandardError.connect(self._read_stderr)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._escalate)
        self._done = False
        self._terminated = False
        self._stdin = b""
        self._interrupt_on_start = False

    # ----- control ---------------------------------------------------------------------------
    def start(self, stdin: bytes = b"") -> None:
        """Start the child; ``stdin`` is its whole standard input (then end-of-file)."""
        self._stdin = stdin
        self._process.started.connect(self._feed_stdin)
        if getattr(sys, "frozen", False) and self.module == "studio":
            # A packaged app's executable is the `edge-studio` command itself (no `-m` there).
            self._process.start(sys.executable, list(self.args))
        else:
            self._process.start(sys.executable, ["-m", self.module, *self.args])

    def _feed_stdin(self) -> None:
        if self._interrupt_on_start and self.pid() > 0:
            os.kill(self.pid(), signal.SIGINT)
        if self._stdin:
            self._process.write(self._stdin)
        self._process.closeWriteChannel()  # written data is still delivered, then the child reads EOF

    def is_running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int:
        return int(self._process.processId())

    def interrupt(self) -> None:
        """Ask politely (SIGINT = the CLI's clean cancel); terminate, then kill, if it does not stop."""
        if not self.is_running():
            return
        pid = self.pid()
        if os.name == "posix" and pid > 0:
            os.kill(pid, signal.SIGINT)
        elif os.name == "posix":
            self._interrupt_on_start = True  # still starting: the signal goes out once it has a pid
        else:
            self._process.terminate()
        self._kill_timer.start(CANCEL_GRACE_MS)

    def kill(self) -> None:
        if self.is_running():
            self._process.kill()

    def wait(self, msecs: int = 30_000) -> bool:
        return bool(self._process.waitForFinished(msecs))

    def _escalate(self) -> None:
        if not self.is_running():
            return
        if not self._terminated:
            self._terminated = True
            self._process.terminate()
            self._kill_timer.start(3_000)
        else:
            self._process.kill()

    # ----- output ----------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._parse(raw)

    def _parse(self, raw: bytes) -> None:
        # Stray library output is skipped: the CLI's contract is JSON only, but do not trust third parties.
        item = parse_line(raw.decode("utf-8", "replace"))
        if isinstance(item, JobError):
            self._error = item
        elif isinstance(item, Event):
            self.event.emit(item)
        elif isinstance(item, dict):
            self._result = item
            self.result.emit(item)

    def _read_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            self._stderr.append(line)

    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._buffer.strip():
            self._parse(self._buffer)
            self._buffer = b""
        self._read_stderr()
        crashed = status == QProcess.ExitStatus.CrashExit
        self._emit_done(-1 if crashed else int(exit_code), crashed)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._stderr.append(f"error: cannot start {sys.executable}: {self._process.errorString()}")
            self._emit_done(-1, True)

    def _emit_done(self, exit_code: int, crashed: bool) -> None:
        if self._done:
            return
        self._done = True
        self._kill_timer.stop()
        self.finished.emit(ProcessOutcome(exit_code, crashed, self._result, "\n".join(self._stderr), self._error))


@dataclass(frozen=True)
class RunEnded:
    """How one queued run ended: its job, run id ("" when it never started), status and a message."""

    job: TrainJob | None
    run_id: str
    status: RunStatus
    message: str


class TrainingQueue(QObject):
    """Trains queued runs one after another, each in its own child process.

    Signals carry the child's typed events (:class:`RunStarted`, :class:`BatchEnd`, :class:`EpochEnd`);
    ``run_ended`` carries a :class:`RunEnded` (status finished | failed | cancelled | interrupted).
    """

    queue_changed = Signal()
    run_started = Signal(object, object)    # TrainJob, RunStarted
    batch_end = Signal(object)              # BatchEnd
    epoch_end = Signal(object)              # EpochEnd
    run_ended = Signal(object)              # RunEnded
    idle = Signal()                         # the queue is empty and nothing is running

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project_root: Path | None = None
        self.pending: list[QueuedRun] = []
        self.current: QueuedRun | None = None
        self.current_run_id = ""
        self._process: CliProcess | None = None
        self._ended_event: Event | None = None
        self._cancelling = False
        self._abandoned: set[CliProcess] = set()  # cancelled children of a project no longer open

    def is_busy(self) -> bool:
        return self._process is not None

    def enqueue(self, runs: list[QueuedRun]) -> None:
        self.pending.extend(runs)
        self.queue_changed.emit()
        if self._process is None:
            self._start_next()

    def clear_pending(self) -> None:
        self.pending.clear()
        self.queue_changed.emit()

    def cancel(self) -> None:
        """Stop the current run cleanly and drop the runs still waiting."""
        self.pending.clear()
        self.queue_changed.emit()
        if self._process is not None:
            self._cancelling = True
            self._process.interrupt()

    def abandon(self) -> None:
        """Let go of the project without waiting (another project is being opened): drop the waiting runs,
        ask the current child to cancel, and forget it. It marks its run cancelled in its own project and
        exits on its own; nothing here blocks the window."""
        self.pending.clear()
        process, self._process = self._process, None
        self.current, self.current_run_id, self._ended_event = None, "", None
        if process is not None:
            process.event.disconnect(self._on_event)
            process.finished.disconnect(self._on_finished)
            self._abandoned.add(process)
            process.finished.connect(lambda _outcome: (self._abandoned.discard(process), process.deleteLater()))
            process.interrupt()
        self.queue_changed.emit()
        self.idle.emit()

    def shutdown(self, msecs: int = 20_000) -> None:
        """Used when the window closes: cancel, wait for the child, kill it if it will not stop."""
        process = self._process
        self.cancel()
        for child in [process, *self._abandoned]:
            if child is not None and not child.wait(msecs):
                child.kill()
                child.wait(5_000)

    def child_pid(self) -> int:
        return self._process.pid() if self._process is not None else 0

    # ----- internals -------------------------------------------------------------------------
    def _start_next(self) -> None:
        if not self.pending or self.project_root is None:
            self.current = None
            self.idle.emit()
            return
        self.current = self.pending.pop(0)
        self.current_run_id = ""
        self._ended_event = None
        self._cancelling = False
        self.queue_changed.emit()
        self._process = CliProcess(self.current.cli_args(self.project_root), self)
        self._process.event.connect(self._on_event)
        self._process.finished.connect(self._on_finished)
        self._process.start()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.current_run_id = event.run
            self.run_started.emit(self.current, event)
        elif isinstance(event, BatchEnd):
            self.batch_end.emit(event)
        elif isinstance(event, EpochEnd):
            self.epoch_end.emit(event)
        elif isinstance(event, (RunFinished, RunFailed, RunCancelled)):
            self._ended_event = event
            if event.run:
                self.current_run_id = event.run

    def _on_finished(self, outcome: ProcessOutcome) -> None:
        queued, run_id, end = self.current, self.current_run_id, self._ended_event
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        if isinstance(end, RunFinished):
            status, message = RunStatus.FINISHED, ""
        elif isinstance(end, RunCancelled) or (self._cancelling and not outcome.crashed and end is None):
            status, message = RunStatus.CANCELLED, "cancelled"
        elif isinstance(end, RunFailed):
            status, message = RunStatus.FAILED, end.error or "training failed"
        elif run_id:
            status, message = RunStatus.INTERRUPTED, outcome.error_message()
        else:
            status, message = RunStatus.FAILED, outcome.error_message()
        if status == RunStatus.CANCELLED and self._cancelling:
            self.pending.clear()
        self.run_ended.emit(RunEnded(queued, run_id, status, message))
        self._start_next()
