"""Multi-worker training: the TF_CONFIG environment variable (TensorFlow's own interface) read and written.

A cluster is a list of ``host:port`` workers; worker 0 is the chief (a ``"chief"`` job, when TF_CONFIG has
one, is the chief instead). Only the chief writes the run (folder, database row, events, model); the
others train their share of every batch, write nothing into the project and exit when the run ends.
A worker that dies stops the others within :data:`HEARTBEAT_SECONDS` (plus a collective's own grace):
TensorFlow's coordination service misses its heartbeats and aborts every pending collective.
No TensorFlow import at module level.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf

ENV = "TF_CONFIG"
# A silent worker is declared dead after this many seconds; every other worker then fails its run.
HEARTBEAT_SECONDS = 15
# How long a finished worker waits at exit for the others (the chief still evaluates and saves).
SHUTDOWN_BARRIER_SECONDS = 600
# Test hook: a non-chief worker saves its final weights here (an .npz outside the project) when set.
WORKER_WEIGHTS_ENV = "EDGE_STUDIO_WORKER_WEIGHTS"

_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>\d{1,5})$")


class ClusterSpecError(ValueError):
    """A worker list or TF_CONFIG that cannot describe a cluster."""


@dataclass(frozen=True)
class Task:
    """This process's place in the cluster described by TF_CONFIG."""

    task_type: str
    index: int
    n_workers: int          # every task that trains (chief + workers)

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.index == 0
                                              and not self._has_chief)

    _has_chief: bool = False

    def describe(self) -> str:
        return f"{self.task_type} {self.index} of a {self.n_workers}-worker cluster"


JOBS = ("chief", "worker")  # the tasks the studio's custom loop runs; no parameter servers, no evaluator
# How long a worker waits for every other worker to join before it gives up (configurable; TensorFlow itself
# would wait forever for a peer that never starts or whose host does not resolve).
JOIN_TIMEOUT_ENV = "EDGE_STUDIO_CLUSTER_JOIN_TIMEOUT"
DEFAULT_JOIN_TIMEOUT_SECONDS = 180
REGISTER_MARGIN_SECONDS = 30
# Set once this process's MultiWorkerMirroredStrategy exists, i.e. every worker has joined.
JOINED = threading.Event()


def current(environ: Mapping[str, str] | None = None) -> Task | None:
    """The task TF_CONFIG describes, or None when it is unset (a single-machine run). The cluster is held to
    ``cluster-spec``'s own rules (:func:`parse_workers`): valid hosts, ports 1-65535, no address twice, only
    chief and worker tasks."""
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
        cluster = config["cluster"]
        task = config.get("task") or {}
        task_type, index = str(task.get("type", "worker")), task.get("index", 0)
        jobs = {str(name): addresses for name, addresses in cluster.items()}
        if isinstance(index, bool) or not isinstance(index, (int, str)):
            raise TypeError(f"task index {index!r} is not a number")
        index = int(index)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ClusterSpecError(f"{ENV} is not a valid cluster description ({exc}); print one with "
                               "`edge-studio cluster-spec --workers HOST:PORT,... --index N`") from None
    _check_jobs(jobs)
    if task_type not in jobs or not 0 <= index < len(jobs[task_type]):
        raise ClusterSpecError(f"{ENV} names task {task_type} {index}, which is not in its cluster")
    n = len(jobs.get("chief", [])) + len(jobs.get("worker", []))
    return Task(task_type, index, n, "chief" in jobs)


def _check_jobs(jobs: dict[str, Any]) -> None:
    for name, listed in jobs.items():
        if name == "ps":
            raise ClusterSpecError(f"{ENV} lists parameter-server ('ps') tasks, which the studio does not use: "
                                   "list every machine as a worker (`edge-studio cluster-spec`)")
        if name not in JOBS:
            raise ClusterSpecError(f"{ENV} lists {name!r} tasks; only 'worker' (and one 'chief') are used")
        if not isinstance(listed, list) or not listed:
            raise ClusterSpecError(f"{ENV}: the {name!r} tasks are not a list of HOST:PORT addresses")
    if len(jobs.get("chief", [])) > 1:
        raise ClusterSpecError(f"{ENV} lists {len(jobs['chief'])} chiefs; a cluster has at most one")
    every = [a for name in JOBS for a in jobs.get(name, [])]
    if not all(isinstance(a, str) for a in every):
        raise ClusterSpecError(f'{ENV}: every task address must be a "HOST:PORT" string')
    parse_workers(every)  # the same rules as cluster-spec: addresses, ports 1-65535, no address twice


def addresses(environ: Mapping[str, str] | None = None) -> list[tuple[str, int, str]]:
    """``(job, index, "host:port")`` of every task of the (valid) TF_CONFIG, chief first."""
    config = json.loads((os.environ if environ is None else environ).get(ENV, "") or "{}")
    jobs = config.get("cluster", {})
    return [(job, i, a) for job in JOBS for i, a in enumerate(jobs.get(job, []))]


def own_address(task: Task, environ: Mapping[str, str] | None = None) -> str:
    return next(a for job, i, a in addresses(environ) if (job, i) == (task.task_type, task.index))


def split_address(address: str) -> tuple[str, int]:
    m = _HOST_PORT.match(address)
    if not m:
        raise ClusterSpecError(f"not a HOST:PORT address: {address!r}")
    return m["host"].strip("[]"), int(m["port"])


def check_port_free(task: Task, environ: Mapping[str, str] | None = None) -> None:
    """ClusterSpecError naming the port when another program already listens on this task's port (TensorFlow
    listens on every interface and would only say that it could not start its server)."""
    import socket

    address = own_address(task, environ)
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
        except OSError as exc:
            raise ClusterSpecError(f"port {port} of {task.task_type} {task.index} ({address}) is already in use "
                                   f"on this machine ({exc.strerror}); pick another port") from None


def wait_for_peers(task: Task, timeout: float, cancelled: Callable[[], bool],
                   environ: Mapping[str, str] | None = None) -> bool:
    """Before TensorFlow starts: hold this task's port open and wait until every other task's port answers
    (its own such wait, or its TensorFlow server). TensorFlow's own wait blocks in C++ where signals cannot
    be honoured; this one can. Returns False when ``cancelled()`` became true; ClusterSpecError naming the
    tasks that never answered after ``timeout`` seconds."""
    import socket
    import time

    me = (task.task_type, task.index)
    others = [(job, i, a) for job, i, a in addresses(environ) if (job, i) != me]
    _host, port = split_address(own_address(task, environ))
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(16)
        listener.settimeout(0)
        waiting = list(others)
        while waiting:
            if cancelled():
                return False
            try:
                while True:
                    listener.accept()[0].close()  # a peer's probe
            except OSError:
                pass
            waiting = [(job, i, a) for job, i, a in waiting if not _answers(a)]
            if waiting and time.monotonic() > deadline:
                who = ", ".join(f"{job} {i} ({a})" for job, i, a in waiting)
                raise ClusterSpecError(f"{who} did not join within {timeout:.0f} s ({JOIN_TIMEOUT_ENV} sets the "
                                       "wait); start every worker with the same TF_CONFIG")
            if waiting:
                time.sleep(0.25)
        # Answer the peers' probes a little longer: one that started late may still be probing.
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            try:
                listener.accept()[0].close()
            except OSError:
                time.sleep(0.05)
    return True


def _answers(address: str) -> bool:
    import socket

    try:
        host, port = split_address(address)
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except (OSError, ClusterSpecError):
        return False


def join_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for every worker to join (``EDGE_STUDIO_CLUSTER_JOIN_TIMEOUT``, default 180)."""
    raw = (os.environ if environ is None else environ).get(JOIN_TIMEOUT_ENV, "").strip()
    if not raw:
        return float(DEFAULT_JOIN_TIMEOUT_SECONDS)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 24 * 3600:
        raise ClusterSpecError(f"{JOIN_TIMEOUT_ENV} must be a number of seconds from 1 to 86400, not {raw!r}")
    return value


def is_chief(environ: Mapping[str, str] | None = None) -> bool:
    """True on a single machine and on the chief of a cluster."""
    task = current(environ)
    return task is None or task.is_chief


def parse_workers(text: str | Sequence[str]) -> list[str]:
    """``host:port,host:port`` -> a checked list (valid hosts and ports, no duplicates, at least one)."""
    items = [w.strip() for w in (text.split(",") if isinstance(text, str) else text)]
    items = [w for w in items if w]
    if not items:
        raise ClusterSpecError("give at least one worker as HOST:PORT")
    for w in items:
        m = _HOST_PORT.match(w)
        if not m or not 1 <= int(m["port"]) <= 65535:
            raise ClusterSpecError(f"not a HOST:PORT address: {w!r} (port 1-65535)")
    seen = set()
    for w in items:
        if w in seen:
            raise ClusterSpecError(f"worker {w} is listed twice")
        seen.add(w)
    return items


def tf_config(workers: str | Sequence[str], index: int) -> dict[str, object]:
    """The TF_CONFIG of worker ``index`` (0 = the chief) of a cluster of ``workers``."""
    items = parse_workers(workers)
    if not 0 <= index < len(items):
        raise ClusterSpecError(f"index must be between 0 and {len(items) - 1} for {len(items)} workers")
    return {"cluster": {"worker": items}, "task": {"type": "worker", "index": index}}


def multi_worker_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy from TF_CONFIG, with a bounded heartbeat so a dead worker fails the run.

    Must run before TensorFlow executes anything else in the process (collective ops are set up at start).
    """
    import tensorflow as tf
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    try:
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    except ImportError:  # pragma: no cover - older TensorFlow layouts
        from tsl.protobuf import coordination_config_pb2  # type: ignore[no-redef]

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    spec = resolver.cluster_spec()
    if context.context().coordination_service is None and resolver.task_type in ("chief", "worker"):
        # What MultiWorkerMirroredStrategy configures itself, plus the heartbeat and shutdown limits (no
        # public API sets them; the strategy keeps a service configured before it is created).
        context.context().configure_coordination_service(
            service_type="standalone",
            service_leader=multi_worker_util.coordination_leader(spec),
            # TensorFlow's own bound (it ends a worker's registration, not the chief's wait); the watchdog
            # (studio.commands.cluster_guard) ends the wait first, naming the missing workers.
            cluster_register_timeout_in_ms=int((join_timeout() + 2 * REGISTER_MARGIN_SECONDS) * 1000),
            heartbeat_timeout_in_ms=HEARTBEAT_SECONDS * 1000,
            shutdown_barrier_timeout_in_ms=SHUTDOWN_BARRIER_SECONDS * 1000,
            coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
                              for job in ("chief", "worker") if job in spec.jobs])
    strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)  # waits for every worker
    JOINED.set()
    _reclaim_sigterm()
    return strategy


def _reclaim_sigterm() -> None:
    """TensorFlow's coordination service installs its own SIGTERM handler (a preemption notice that only sets
    a flag), which took SIGTERM from the run's cancel; setting Python's handler again gives it back."""
    import signal

    try:
        signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGTERM) or signal.SIG_DFL)
    except (ValueError, TypeError):  # not the main thread: leave it
        pass
