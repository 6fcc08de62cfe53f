"""The watchdog process of a multi-worker training process (see :mod:`studio.commands.cluster_guard`).

``python -m studio.commands.cluster_watch FD SPEC``: FD is the read end of the worker's wakeup pipe (signal
numbers, or ``J`` once every worker joined), SPEC a JSON object (pid, join_timeout, grace, task, others).
Imports nothing heavy: it must start in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time

_SIGNALS = {int(signal.SIGINT), int(signal.SIGTERM)}


def _line(text: str) -> None:
    sys.stderr.write(f"edge-studio train: {text}\n")
    sys.stderr.flush()


def _answers(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def watch(fd: int, spec: dict) -> int:
    pid, task = int(spec["pid"]), str(spec["task"])
    deadline = time.monotonic() + float(spec["join_timeout"])
    joined, kill_at, first = False, None, ""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.25)
        data = os.read(fd, 64) if ready else b""
        if ready and not data:
            return 0  # the worker ended: nothing left to watch
        now = time.monotonic()
        joined = joined or b"J" in data
        for signo in (b for b in data if b in _SIGNALS):
            name = signal.Signals(signo).name
            if kill_at is not None:
                _line(f"{name} again: {task} stopped at once")
                _kill(pid)
                return 0
            first, kill_at = name, now + float(spec["grace"])
        if kill_at is not None and now >= kill_at:
            _line(f"{first}: {task} stopped (it did not end within {spec['grace']:.0f} s: "
                  "TensorFlow was waiting for another worker)")
            _kill(pid)
            return 0
        if not joined and kill_at is None and now >= deadline:
            missing = [f"{job} {i} ({address})" for job, i, address in spec["others"] if not _answers(address)]
            who = ", ".join(missing) if missing else "the other workers (they answer but did not join)"
            _line(f"error: {who} did not join within {spec['join_timeout']:.0f} s ({spec['env']} sets the "
                  "wait); start every worker with the same TF_CONFIG")
            _kill(pid)
            return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides; this process follows the pipe
    sys.exit(watch(int(sys.argv[1]), json.loads(sys.argv[2])))
