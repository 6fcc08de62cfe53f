"""The multi-worker training server as an unlucky or hostile setup meets it: TF_CONFIG values cluster-spec
would never write, a port already taken, a peer that never arrives or whose host does not resolve, SIGTERM
while TensorFlow waits. Each ends in one line, within a bounded time.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from studio.core.training import cluster
from tests.core.helpers import make_class_folder
from tests.hostile.conftest import finish_cli, start_cli

slow = pytest.mark.slow  # TensorFlow starts in the child


def _config(cluster_jobs: dict, task: dict | None = None) -> dict[str, str]:
    return {cluster.ENV: json.dumps({"cluster": cluster_jobs, "task": task or {"type": "worker", "index": 0}})}


@pytest.mark.parametrize("jobs, task, says", [
    ({"worker": ["127.0.0.1:99999"]}, None, "port 1-65535"),
    ({"worker": ["127.0.0.1:0"]}, None, "port 1-65535"),
    ({"worker": ["127.0.0.1:2222", "127.0.0.1:2222"]}, None, "listed twice"),
    ({"chief": ["h:2222"], "worker": ["h:2222"]}, None, "listed twice"),
    ({"worker": ["h1:2222"], "ps": ["h2:2222"]}, None, "parameter-server ('ps') tasks"),
    ({"worker": ["h1:2222"], "evaluator": ["h2:2222"]}, None, "only 'worker'"),
    ({"chief": ["h1:2222", "h2:2222"], "worker": ["h3:2222"]}, None, "at most one"),
    ({"worker": ["h1:2222", 7]}, None, "HOST:PORT"),
    ({"worker": "h1:2222"}, None, "not a list"),
    ({"worker": ["h1:2222"]}, {"type": "worker", "index": True}, "not a number"),
    ({"worker": ["-bad host-:2222"]}, None, "not a HOST:PORT address"),
])
def test_tf_config_is_held_to_cluster_spec_rules(jobs: dict, task: dict | None, says: str) -> None:
    with pytest.raises(cluster.ClusterSpecError, match=None) as info:
        cluster.current(_config(jobs, task))
    assert says in str(info.value) and "\n" not in str(info.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from studio.core.images.importer import import_paths
    from studio.core.project.store import Project

    make_class_folder(tmp_path / "in", {"a": 8, "b": 8}, size=8)
    with Project.create(tmp_path / "p") as p:
        import_paths(p, [tmp_path / "in"])
    return tmp_path / "p"


def test_a_port_in_use_is_named_before_tensorflow_starts(cli, project: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = cli("train", project, "--arch", "dense", "--epochs", "1",
                env=_config({"worker": [f"127.0.0.1:{port}", f"127.0.0.1:{_free_port()}"]}))
    assert r.rc == 1 and f"port {port} of worker 0 (127.0.0.1:{port}) is already in use" in r.one_error_line()
    assert r.seconds < 30


def test_a_bad_join_timeout_is_one_line(cli, project: Path) -> None:
    env = {**_config({"worker": [f"127.0.0.1:{_free_port()}"]}), cluster.JOIN_TIMEOUT_ENV: "forever"}
    r = cli("train", project, "--arch", "dense", "--epochs", "1", env=env)
    assert r.rc == 1 and cluster.JOIN_TIMEOUT_ENV in r.one_error_line()


@slow
def test_peers_that_never_join_end_the_wait_naming_them(cli, project: Path) -> None:
    mine, absent = _free_port(), _free_port()
    env = {**_config({"worker": [f"127.0.0.1:{mine}", f"127.0.0.1:{absent}", "no-such-host.invalid:2222"]}),
           cluster.JOIN_TIMEOUT_ENV: "5"}  # counted from the wait's start (after TensorFlow's start-up)
    r = cli("train", project, "--arch", "dense", "--epochs", "1", env=env, timeout=150)
    last = r.err.strip().splitlines()[-1]
    assert r.rc == 1, r.err[-2000:]
    assert f"worker 1 (127.0.0.1:{absent})" in last and "worker 2 (no-such-host.invalid:2222)" in last
    assert "did not join within 5 s" in last
    assert "note: TensorFlow's training server listens on port" in r.err


@slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_waiting_for_peers_ends_the_worker(project: Path, tmp_path: Path, signum: int) -> None:
    mine, chief = _free_port(), _free_port()
    env = {**_config({"worker": [f"127.0.0.1:{chief}", f"127.0.0.1:{mine}"]}, {"type": "worker", "index": 1}),
           cluster.JOIN_TIMEOUT_ENV: "600"}
    started = time.monotonic()
    proc, out, err = start_cli("train", str(project), "--arch", "dense", "--epochs", "1", env=env,
                               out_dir=tmp_path / ".worker")
    while not _listening(mine):  # the worker holds its port and waits for its chief
        assert proc.poll() is None and time.monotonic() - started < 120, err.read_text()[-2000:]
        time.sleep(0.2)
    time.sleep(3.0)
    sent = time.monotonic()
    proc.send_signal(signum)
    r = finish_cli(proc, out, err, 90, started)
    assert r.rc == 130, r.err[-2000:]
    assert time.monotonic() - sent < 15
    assert "cancelled" in r.err.strip().splitlines()[-1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
