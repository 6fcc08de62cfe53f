"""Multi-worker training: TF_CONFIG helpers, `edge-studio cluster-spec`, and real worker processes on 127.0.0.1.

The two-worker tests start `edge-studio train` twice with TF_CONFIG (each worker on its own copy of a small
demo project, as when the project is copied to every machine) and check what only the chief may write.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from studio.cli import main
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.training import cluster

TRAIN_ARGS = ["--arch", "cnn", "--batch-size", "16", "--image-size", "16", "--color", "gray", "--lr", "0.003",
              "--seed", "0", "--json"]


# ----- TF_CONFIG helpers and the command -------------------------------------------------------------
def test_tf_config_names_every_worker_and_this_one() -> None:
    config = cluster.tf_config("10.0.0.1:2222, node-b.local:2222", 1)
    assert config == {"cluster": {"worker": ["10.0.0.1:2222", "node-b.local:2222"]},
                      "task": {"type": "worker", "index": 1}}
    task = cluster.current({"TF_CONFIG": json.dumps(config)})
    assert task is not None and not task.is_chief and task.n_workers == 2
    assert cluster.is_chief({"TF_CONFIG": json.dumps(cluster.tf_config("a:1,b:2", 0))})
    assert cluster.is_chief({}) and cluster.current({"TF_CONFIG": " "}) is None
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
    task = cluster.current({"TF_CONFIG": json.dumps(with_chief)})
    assert task is not None and not task.is_chief and task.n_workers == 2


@pytest.mark.parametrize(("workers", "index", "message"), [
    ("", 0, "at least one worker"),
    ("a:1,a:1", 0, "listed twice"),
    ("a:1,b:2", 2, "between 0 and 1"),
    ("a:1,b:2", -1, "between 0 and 1"),
    ("a", 0, "not a HOST:PORT"),
    ("a:70000", 0, "not a HOST:PORT"),
    ("a b:1", 0, "not a HOST:PORT"),
])
def test_bad_worker_lists_are_refused(workers: str, index: int, message: str) -> None:
    with pytest.raises(cluster.ClusterSpecError, match=message):
        cluster.tf_config(workers, index)


def test_a_damaged_tf_config_says_how_to_make_one() -> None:
    with pytest.raises(cluster.ClusterSpecError, match="cluster-spec"):
        cluster.current({"TF_CONFIG": "{not json"})
    with pytest.raises(cluster.ClusterSpecError, match="not in its cluster"):
        cluster.current({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"index": 3}})})


def test_cluster_spec_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster-spec", "--workers", "h1:2222,h2:2222", "--index", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == cluster.tf_config("h1:2222,h2:2222", 1)
    assert main(["cluster-spec", "--workers", "h1:2222,h2:2222", "--index", "0"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("export TF_CONFIG='") and json.loads(out.split("=", 1)[1].strip("'"))["task"]["index"] == 0
    assert main(["cluster-spec", "--workers", "h1:2222", "--index", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: index must be between 0 and 0" in err


# ----- two real workers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project, _ = create_demo_project(tmp_path_factory.mktemp("cluster") / "digits", limit=200)
    project.close()
    return project.root


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(demo: Path, tmp: Path, epochs: int) -> list[subprocess.Popen[str]]:
    workers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(2))
    procs = []
    for i in range(2):
        copy = tmp / f"worker{i}"
        if i == 0:
            shutil.copytree(demo, copy)
        else:  # as packaging/k8s/train-indexed-job.yaml: a snapshot of the database, the images shared
            copy.mkdir()
            with closing(sqlite3.connect(f"file:{demo / 'project.db'}?mode=ro", uri=True)) as src, \
                    closing(sqlite3.connect(copy / "project.db")) as dst:
                src.backup(dst)
            (copy / "images").symlink_to(demo / "images")
        env = {**os.environ, "TF_CONFIG": json.dumps(cluster.tf_config(workers, i)), "TF_CPP_MIN_LOG_LEVEL": "2",
               cluster.WORKER_WEIGHTS_ENV: str(tmp / f"weights{i}.npz")}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "studio", "train", str(copy), "--epochs", str(epochs), *TRAIN_ARGS],
            env=env, stdout=subprocess.PIPE, stderr=open(tmp / f"stderr{i}.txt", "w"), text=True))  # noqa: SIM115
    return procs


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith("project.db-")}


def test_two_workers_train_one_run_with_the_same_weights(demo: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    shared = _files(demo)
    procs = _start(demo, tmp_path, epochs=2)
    before = _files(tmp_path / "worker1")
    outs = [p.communicate(timeout=480)[0] for p in procs]
    errs = [(tmp_path / f"stderr{i}.txt").read_text()[-3000:] for i in range(2)]
    assert [p.returncode for p in procs] == [0, 0], errs

    # Only the chief reports and writes: its events on stdout, its run folder and row.
    assert outs[1] == ""
    assert _files(tmp_path / "worker1") == before and _files(demo) == shared  # its snapshot, the shared images
    with Project.open(tmp_path / "worker1") as p1:
        assert p1.runs() == []
    got = _events(outs[0])
    assert [e["event"] for e in got if e["event"] != "batch_end"] == ["run_started", "epoch_end", "epoch_end",
                                                                       "run_finished"]
    with Project.open(tmp_path / "worker0") as p0:
        [run] = p0.runs()
        assert run.status == "finished", run.error
        folder = p0.run_dir(run.id)
        for name in ("history.json", "model.keras", "report.json", "timings.json"):
            assert (folder / name).is_file(), name
        timings = json.loads((folder / "timings.json").read_text())
        assert timings["replicas"] == 2 and timings["strategy"] == "CollectiveAllReduceStrategy"

    # The chief's saved model holds exactly the weights the other worker ended with.
    chief = keras.models.load_model(folder / "model.keras", compile=False).get_weights()
    with np.load(tmp_path / "weights1.npz") as dump:
        worker = [dump[f"arr_{i}"] for i in range(len(dump.files))]
    assert len(chief) == len(worker) and all(np.array_equal(a, b) for a, b in zip(chief, worker))
    assert not (tmp_path / "weights0.npz").exists()  # the chief's model is the run folder's

    # The same config on one machine: the global batch split over two workers is the same batch.
    from studio.cli import build_parser
    from studio.commands.train_cmds import train_config
    from studio.core.training.run import train

    monkeypatch.delenv("TF_CONFIG", raising=False)
    single = Project.open(shutil.copytree(demo, tmp_path / "single"))
    config, _ = train_config(single, build_parser().parse_args(["train", "x", "--epochs", "2", *TRAIN_ARGS]))
    alone = train(single, config)
    single.close()
    assert alone.status == "finished", alone.error
    assert abs(alone.metrics["test_accuracy"] - run.metrics["test_accuracy"]) <= 0.05


def test_a_killed_worker_fails_the_run_within_a_minute(demo: Path, tmp_path: Path) -> None:
    chief, worker = _start(demo, tmp_path, epochs=500)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in chief.stdout], daemon=True).start()  # type: ignore[union-attr]
    deadline = time.monotonic() + 400
    while True:  # both are in the training loop once the chief has finished a batch
        line = lines.get(timeout=max(1.0, deadline - time.monotonic()))
        if '"batch_end"' in line:
            break
    worker.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    chief.wait(timeout=90)
    took = time.monotonic() - killed
    worker.wait()
    err = (tmp_path / "stderr0.txt").read_text()
    assert chief.returncode == 1, err[-3000:]
    assert took < 60, f"the chief needed {took:.0f}s to notice"
    # The heartbeat names the lost worker; a connection refused first says so instead.
    assert "error: run" in err and "lost contact with" in err
    print(f"the chief failed the run {took:.1f}s after the other worker was killed")
    time.sleep(0.5)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert json.loads(rest[-1])["event"] == "run_failed"
    with Project.open(tmp_path / "worker0") as p0:
        [run] = p0.runs()
        assert run.status == "failed" and "lost contact with" in (run.error or "")
