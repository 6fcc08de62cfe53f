"""A pytest plugin for finding where the suite's time goes: a per-test timeline, and stack dumps of a stalled test.

    .venv/bin/python -m pytest -n 2 --dist loadgroup -p bench.suite_watchdog

Each worker appends one JSON line per test to ``bench/out/suite_timeline.jsonl`` (or ``$SUITE_TIMELINE``): wall
start and end, CPU seconds of the worker itself and of the child processes it waited for, its niceness and CPU
affinity; and one line per fixture set-up over 3 s. A thread in each worker looks every 5 s: when a test has run
over 15 s and the worker used under 1 s of CPU in the last 5, it appends to ``bench/out/stall_<worker>.txt`` the
state and kernel wait channel of every thread, every thread's Python stack, and whether a garbage collection is
in progress; a collection stuck over 4 s also gets the native stacks (``gdb -batch``, when gdb is installed) in
``bench/out/native_<worker>_<n>.txt``.

Most such dumps are a test waiting for its own child process (the app build, a CLI, the real-window driver).
Sessions 10 and 11 also caught tests 20-100x slower than alone with no CPU used, while a garbage collection was
in progress and every thread waited on a futex: twice inside pyqtgraph's first import (shiboken's lazy type
set-up importing), once in TensorFlow's ``convert_to_constants``. The native stacks of one showed the cause:
the collection freed a tf.data iterator, and its destructor waited for tf.data's autotune thread
(``Model::OptimizeLoop``, asleep for up to 60 s).
"""

from __future__ import annotations

import faulthandler
import gc
import glob
import json
import os
import resource
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

OUT_DIR = Path(__file__).resolve().parent / "out"
TIMELINE = Path(os.environ.get("SUITE_TIMELINE", OUT_DIR / "suite_timeline.jsonl"))
STALL_AFTER_S = 15
TICK_S = 5
IDLE_CPU_S = 1.0
MAX_DUMPS = 40
_IDLE_WAITS = ("futex_wait_queue", "do_epoll_wait", "do_sys_poll", "hrtimer_nanosleep")

_current: dict[str, Any] = {"id": None, "start": 0.0}
_gc: dict[str, Any] = {"since": None, "native_dumps": 0}


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _on_gc(phase: str, _info: dict) -> None:
    _gc["since"] = time.time() if phase == "start" else None


def _threads() -> list[str]:
    lines = []
    for task in sorted(glob.glob("/proc/self/task/*")):
        try:
            state = Path(task, "stat").read_text().rsplit(")", 1)[1].split()[0]
            wchan = Path(task, "wchan").read_text()
            syscall = Path(task, "syscall").read_text().split()[0]
            name = Path(task, "comm").read_text().strip()
        except OSError:
            continue
        if state != "S" or wchan not in _IDLE_WAITS:
            lines.append(f"  task {task.rsplit('/', 1)[1]} {name} state={state} wchan={wchan} syscall={syscall}\n")
    return lines


def _dump(test: str, running_s: float, cpu_s: float) -> None:
    with (OUT_DIR / f"stall_{_worker()}.txt").open("a") as f:
        f.write(f"\n==== {time.strftime('%H:%M:%S')} {test} +{running_s:.0f}s, cpu in the last {TICK_S}s "
                f"{cpu_s:.2f}s\n")
        f.writelines(_threads())
        f.flush()
        faulthandler.dump_traceback(file=f, all_threads=True)
        since = _gc["since"]
        f.write(f"garbage collection in progress for {time.time() - since:.1f}s\n" if since
                else "no garbage collection in progress\n")
        f.flush()
        if since and time.time() - since > 4 and _gc["native_dumps"] < 3 and shutil.which("gdb"):
            _gc["native_dumps"] += 1
            # Into a file, not a pipe: gdb stops this whole process (this thread too) while it writes, so a
            # pipe it filled would never be read (a deadlock).
            native = OUT_DIR / f"native_{_worker()}_{_gc['native_dumps']}.txt"
            with native.open("w") as out:
                subprocess.run(["gdb", "-p", str(os.getpid()), "-batch", "-ex", "thread apply all bt 25"],
                               stdout=out, stderr=subprocess.STDOUT, check=False)
            f.write(f"native stacks: {native}\n")


def _watch() -> None:
    last, dumps = time.process_time(), 0
    while True:
        time.sleep(TICK_S)
        now = time.process_time()
        used, last = now - last, now
        test, start = _current["id"], _current["start"]
        if test and time.time() - start > STALL_AFTER_S and used < IDLE_CPU_S and dumps < MAX_DUMPS:
            dumps += 1
            _dump(test, time.time() - start, used)


def _append(record: dict) -> None:
    with TIMELINE.open("a") as f:
        f.write(json.dumps(record) + "\n")


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001
    OUT_DIR.mkdir(exist_ok=True)
    gc.callbacks.append(_on_gc)
    threading.Thread(target=_watch, daemon=True, name="suite-watchdog").start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201, ARG001
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    _current["id"], _current["start"] = item.nodeid, start
    yield
    _current["id"] = None
    own2, children2 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    _append({"id": item.nodeid, "worker": _worker(), "start": start, "end": time.time(),
             "cpu": own2.ru_utime + own2.ru_stime - own.ru_utime - own.ru_stime,
             "child_cpu": children2.ru_utime + children2.ru_stime - children.ru_utime - children.ru_stime,
             "nice": os.getpriority(os.PRIO_PROCESS, 0), "cpus": len(os.sched_getaffinity(0))})


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):  # noqa: ANN201, ARG001
    start = time.time()
    yield
    if time.time() - start > 3:
        _append({"fixture": fixturedef.argname, "worker": _worker(), "start": start, "end": time.time()})
