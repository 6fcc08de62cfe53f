"""Signals and the wait for peers in a multi-worker training process.

TensorFlow blocks inside C++ while a worker waits for its peers (and in collectives waiting for a lost one),
so Python's own signal handlers, which run only between bytecodes of the main thread, may never run there:
a worker ignored SIGTERM and Ctrl+C for as long as a peer stayed away. Here SIGINT and SIGTERM are blocked in
the main thread (and the threads TensorFlow starts later) and received by one guard thread
(``sigtimedwait``); threads started earlier (a BLAS pool) may still take one, and then Python's handler sets
the cancel token, which the guard also watches. The guard

- on the first signal cancels the run (the loop stops at the next batch) and, if the process has not ended
  :data:`GRACE_SECONDS` later (a peer it waits for is gone), ends it with one line, exit code 130;
- on a second signal ends it at once;
- ends the process with one line naming the workers that never answered when they have not all joined
  within the join timeout (``EDGE_STUDIO_CLUSTER_JOIN_TIMEOUT``, :mod:`studio.core.training.cluster`).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time

from studio.commands.protocol import ExitCode
from studio.core.events import CancelToken
from studio.core.training import cluster

GRACE_SECONDS = 10.0
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _line(text: str) -> None:
    sys.stderr.write(f"edge-studio train: {text}\n")
    sys.stderr.flush()


def _exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _answers(address: str, timeout: float = 1.0) -> bool:
    try:
        host, port = cluster.split_address(address)
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except (OSError, cluster.ClusterSpecError):
        return False


def missing_workers(task: cluster.Task) -> list[str]:
    """The other tasks whose address does not accept a connection (not started, host unknown, firewalled)."""
    return [f"{job} {i} ({address})" for job, i, address in cluster.addresses()
            if (job, i) != (task.task_type, task.index) and not _answers(address)]


class ClusterGuard:
    """Install with :meth:`start` before TensorFlow is imported (its threads inherit the blocked signals)."""

    def __init__(self, task: cluster.Task, cancel: CancelToken, join_timeout: float) -> None:
        self.task = task
        self.cancel = cancel
        self.deadline = time.monotonic() + join_timeout
        self.join_timeout = join_timeout
        self.kill_at: float | None = None

    def start(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        threading.Thread(target=self._watch, name="cluster-guard", daemon=True).start()

    def _watch(self) -> None:
        while True:
            received = signal.sigtimedwait(_SIGNALS, 0.25)
            now = time.monotonic()
            if received is not None:
                name = signal.Signals(received.si_signo).name
                if self.kill_at is not None:
                    _line(f"{name} again: {self.task.describe()} stopped at once")
                    _exit(ExitCode.CANCELLED)
                self.cancel.cancel()
                self.kill_at = now + GRACE_SECONDS
                _line(f"{name}: cancelling; {self.task.describe()} ends within {GRACE_SECONDS:.0f} s")
            elif self.kill_at is None and self.cancel.cancelled:
                # cancelled by a signal another thread received (Python's own handler set the token)
                self.kill_at = now + GRACE_SECONDS
            elif self.kill_at is not None and now >= self.kill_at:
                _line(f"{self.task.describe()} stopped (cancelled; the other workers did not answer in time)")
                _exit(ExitCode.CANCELLED)
            elif not cluster.JOINED.is_set() and now >= self.deadline:
                missing = missing_workers(self.task)
                who = ", ".join(missing) if missing else "the other workers (they answer but did not join)"
                _line(f"error: {who} did not join within {self.join_timeout:.0f} s "
                      f"({cluster.JOIN_TIMEOUT_ENV} sets the wait); start every worker with the same TF_CONFIG")
                _exit(1)
