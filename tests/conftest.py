"""Shared test set-up: Qt offscreen, TensorFlow quiet, artifacts folder for screenshots."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
# Converted pretrained weights: one cache for the whole suite, never the user's own cache folder.
os.environ.setdefault("EDGE_STUDIO_CACHE_DIR", str(ARTIFACTS / "cache"))


@pytest.fixture
def artifacts_dir() -> Path:
    """Screenshots and other outputs worth opening after a run land in ./test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _module_weight(items: list[pytest.Item]) -> int:
    """0: a module holding a test with the longest time budget (the packaged-app build), 1: any slow test,
    2: the rest."""
    budgets = [float(m.args[0]) for item in items for m in item.iter_markers("timeout") if m.args]
    if budgets and max(budgets) >= 2400:
        return 0
    return 1 if any(item.get_closest_marker("slow") for item in items) else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest modules first, each module's tests kept together and in order: under `pytest -n 2` a long
    test that starts last leaves the other worker idle (the packaged-app build alone takes ~8 minutes)."""
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
    order = sorted(by_module, key=lambda name: _module_weight(by_module[name]))  # stable: collection order
    items[:] = [item for name in order for item in by_module[name]]


# ----- the suite's own time, for bench/suite_time.py (issue 28: <= 12 min on 2 cores) --------------------------
SUITE_TIME_FILE = ROOT / "bench" / "out" / "suite_time.json"
_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.time()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The controller (not an xdist worker) records a whole-suite run: no paths, -k, -m, --lf or --co."""
    config = session.config
    if hasattr(config, "workerinput") or _STARTED not in config.stash:
        return
    args = [Path(a).resolve() for a in config.args]
    whole = args in ([], [ROOT.resolve()], [(ROOT / "tests").resolve()])
    if not whole or config.option.keyword or config.option.markexpr or config.option.collectonly \
            or getattr(config.option, "lf", False):
        return
    record = {"seconds": round(time.time() - config.stash[_STARTED], 1), "collected": session.testscollected,
              "failed": session.testsfailed, "exit_status": int(exitstatus),
              "workers": getattr(config.option, "numprocesses", None) or 0, "cpus": os.cpu_count(),
              "finished_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        SUITE_TIME_FILE.parent.mkdir(parents=True, exist_ok=True)
        SUITE_TIME_FILE.write_text(json.dumps(record, indent=2) + "\n")
    except OSError:
        pass  # a read-only checkout: nothing to record
