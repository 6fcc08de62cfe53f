"""Signals and the wait for peers in a multi-worker training process.

While a worker waits for its peers, TensorFlow blocks inside C++ holding Python's GIL, so neither Python's
signal handlers nor any Python thread of that process can run: a worker ignored SIGTERM and Ctrl+C for as
long as a peer stayed away (measured: 19 min, then kill -9). Python's C-level signal handler still notes every
signal at once by writing its number to the wakeup file descriptor (``signal.set_wakeup_fd``). That descriptor
is a pipe to a small watchdog *process* (:mod:`studio.commands.cluster_watch`, started before TensorFlow),
which

- on a signal gives the worker :data:`GRACE_SECONDS` to stop by itself (the run is cancelled at the next batch
  when the worker is training), then ends it with one line; a second signal ends it at once;
- ends the worker with one line naming the workers that never answered when they have not all joined within
  the join timeout (``EDGE_STUDIO_CLUSTER_JOIN_TIMEOUT``, :mod:`studio.core.training.cluster`);
- exits by itself when the worker ends (the pipe closes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

from studio.core.events import CancelToken
from studio.core.training import cluster

GRACE_SECONDS = 20.0
JOINED_BYTE = b"J"


class ClusterGuard:
    """Call :meth:`start` from the main thread before TensorFlow is imported."""

    def __init__(self, task: cluster.Task, cancel: CancelToken, join_timeout: float) -> None:
        self.task = task
        self.cancel = cancel
        self.join_timeout = join_timeout

    def start(self) -> None:
        read, write = os.pipe()
        others = [[job, i, address] for job, i, address in cluster.addresses()
                  if (job, i) != (self.task.task_type, self.task.index)]
        spec = {"pid": os.getpid(), "join_timeout": self.join_timeout, "grace": GRACE_SECONDS,
                "task": self.task.describe(), "others": others, "env": cluster.JOIN_TIMEOUT_ENV}
        subprocess.Popen([sys.executable, "-m", "studio.commands.cluster_watch", str(read), json.dumps(spec)],
                         pass_fds=(read,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         start_new_session=True)  # a Ctrl+C on the terminal reaches the worker, not the watchdog
        os.close(read)
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for signum in (signal.SIGINT, signal.SIGTERM):  # the C handler runs only where a Python handler is set
            if signal.getsignal(signum) in (signal.SIG_DFL, None):
                signal.signal(signum, lambda *_: self.cancel.cancel())

        def joined() -> None:
            cluster.JOINED.wait()
            try:
                os.write(write, JOINED_BYTE)
            except OSError:
                pass
        threading.Thread(target=joined, name="cluster-joined", daemon=True).start()
