"""Hostile-input suite: every case runs the real CLI in a child process and checks the same promises.

- exit code 0 with the bad item rejected (reason given, the rest imported), or 1 with one line naming it;
- no Python traceback in anything printed;
- peak RSS of the child under 1 GB (commands that run the pretrained backbone: ``BACKBONE_RSS_MB``): its
  ``VmHWM`` (high-water mark of the program after ``exec``) read from
  /proc while it runs. ``ru_maxrss`` from ``wait4`` would not do: it also counts the parent's memory that
  the child shared before ``exec`` (a test process holding TensorFlow already is over 1 GB).
- nothing written or deleted outside the project folder;
- the project database still passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.health_scale import peak_kb as high_water_kb

ROOT = Path(__file__).resolve().parents[2]
RSS_LIMIT_MB = 1024
BACKBONE_RSS_MB = 1600  # TensorFlow + the pretrained backbone alone peak near 1.2 GB in a health check


@dataclass
class CliResult:
    rc: int
    out: str
    err: str
    peak_rss_mb: float
    seconds: float

    @property
    def report(self) -> dict:
        return json.loads(self.out.strip().splitlines()[-1])

    def rejected(self) -> dict[str, str]:
        return {r["path"]: r["reason"] for r in self.report["rejected"]}

    def one_error_line(self) -> str:
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        assert len(lines) == 1, self.err
        return lines[0]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def start_cli(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
              out_dir: Path) -> tuple[subprocess.Popen, Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = out_dir / "stdout", out_dir / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "studio", *args], stdout=out, stderr=err,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                cwd=ROOT, env=_env(env))
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    return proc, out_path, err_path


def finish_cli(proc: subprocess.Popen, out_path: Path, err_path: Path, timeout: float,
               started: float, rss_limit_mb: float = RSS_LIMIT_MB) -> CliResult:
    """Reap the child, following its peak RSS; kill it and fail when it runs past ``timeout``."""
    deadline = started + timeout
    peak_kb = 0
    while True:
        peak_kb = max(peak_kb, high_water_kb(proc.pid))
        pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            pytest.fail(f"hung: still running after {timeout} s\n{err_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = CliResult(proc.returncode, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
                       peak_kb / 1024, time.monotonic() - started)
    text = result.out + result.err
    assert "Traceback (most recent call last)" not in text, text[-3000:]
    assert "terminate called" not in text, text[-3000:]
    assert result.peak_rss_mb < rss_limit_mb, f"peak RSS {result.peak_rss_mb:.0f} MB"
    return result


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliResult]:
    """``cli("import", project, path, ...)`` -> CliResult, after the universal checks."""
    count = [0]

    def run(*args: str | Path, timeout: float = 120, env: dict[str, str] | None = None,
            stdin: bytes | None = None, rss_limit_mb: float = RSS_LIMIT_MB) -> CliResult:
        count[0] += 1
        started = time.monotonic()
        proc, out, err = start_cli(*map(str, args), env=env, stdin=stdin, out_dir=tmp_path / f".cli{count[0]}")
        return finish_cli(proc, out, err, timeout, started, rss_limit_mb)
    return run


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root`` (not following links) with its type, size and mtime, minus ``skip``."""
    out: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip and not d.startswith(".cli")]
        for name in dirnames + filenames:
            st = os.lstat(here / name)
            out[str(here / name)] = (st.st_mode, st.st_size if not os.path.isdir(here / name) else 0,
                                     st.st_mtime_ns if not os.path.isdir(here / name) else 0)
    return out


def assert_integrity(project: Path) -> None:
    conn = sqlite3.connect(f"file:{project / 'project.db'}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def images_in(project: Path) -> int:
    conn = sqlite3.connect(f"file:{project / 'project.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM images").fetchone()[0])
    finally:
        conn.close()


def can_mount() -> bool:
    return os.geteuid() == 0 and sys.platform.startswith("linux")


def send_signal_after(proc: subprocess.Popen, seconds: float, signum: int = signal.SIGTERM) -> None:
    time.sleep(seconds)
    proc.send_signal(signum)
