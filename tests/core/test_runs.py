"""The run store: typed status, owner lock, settle as interrupted, id validation, atomic writes, delete/rename."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.core.project import runs
from studio.core.project.db import _MIGRATIONS
from studio.core.project.demo import create_demo_project
from studio.core.project.runs import RunStatus
from studio.core.project.store import Project, ProjectError


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "studio", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_a_killed_training_process_is_interrupted_at_the_next_open(tmp_path: Path) -> None:
    """kill -9 of `edge-studio train` (the GUI's child too): the CLI shows the run interrupted, not running."""
    root = tmp_path / "digits"
    create_demo_project(root, limit=120)[0].close()
    proc = subprocess.Popen(_cli("train", str(root), "--arch", "dense", "--epochs", "500", "--image-size", "8",
                                 "--batch-size", "2", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
    assert proc.stdout is not None
    run_id = ""
    for line in proc.stdout:
        event = json.loads(line)
        run_id = event.get("run", run_id)
        if event["event"] == "epoch_end":
            break
    # While it trains, opening the project elsewhere must not settle it.
    with Project.open(root) as project:
        assert project.run(run_id).status == RunStatus.RUNNING
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = subprocess.run(_cli("runs", str(root), "--json"), capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    row = {r["run"]: r for r in json.loads(done.stdout)["runs"]}[run_id]
    assert row["status"] == "interrupted"
    with Project.open(root) as project:
        run = project.run(run_id)
        assert run.status == RunStatus.INTERRUPTED and run.finished_at is not None
        assert "interrupted" in (run.error or "")


def test_a_live_owner_in_another_process_keeps_its_run_running(tmp_path: Path) -> None:
    Project.create(tmp_path / "p").close()
    code = textwrap.dedent(f"""
        import sys, time
        from studio.core.project.store import Project
        p = Project.open({str(tmp_path / "p")!r})
        print(p.create_run("cnn", {{}}).id, flush=True)
        sys.stdin.readline()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=_env())
    assert child.stdout is not None and child.stdin is not None
    run_id = child.stdout.readline().strip()
    with Project.open(tmp_path / "p") as project:
        assert runs.settle_stale_runs(project) == []
        assert project.run(run_id).status == "running"
        with pytest.raises(ProjectError, match="still training"):
            runs.delete_run(project, run_id)
    child.stdin.write("\n")
    child.stdin.flush()
    child.wait(timeout=30)
    with Project.open(tmp_path / "p") as project:  # the owner is gone without marking its run
        assert project.run(run_id).status == "interrupted"


def test_settle_never_overwrites_a_run_that_ended(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        run = project.create_run("cnn", {})
        project.update_run(run.id, status="finished")
        assert not project.update_run(run.id, status=RunStatus.INTERRUPTED, only_if=(RunStatus.RUNNING,))
        assert runs.settle_stale_runs(project) == []
        assert project.run(run.id).status == "finished"


@pytest.mark.parametrize("bad", ["../../x", "..", "a/b", "/etc", "x\\..\\y", "", ".hidden", "a" * 200])
def test_tampered_run_ids_never_become_paths(tmp_path: Path, bad: str) -> None:
    with Project.create(tmp_path / "p") as project:
        with project.transaction() as c:
            c.execute("INSERT INTO runs(id, arch, status, config, created_at) VALUES (?, 'cnn', 'finished', '{}', 1)",
                      (bad,))
        with pytest.raises(ProjectError, match="invalid run id"):
            project.run_dir(bad)
        assert runs.saved_history(project, bad) == {m: [] for m in runs.HISTORY_METRICS}


def test_evaluate_refuses_a_tampered_run_id_with_one_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    Project.create(root).close()
    con = sqlite3.connect(root / "project.db")
    con.execute("INSERT INTO runs(id, arch, status, config, created_at) VALUES ('../../x', 'cnn', 'finished', '{}', 1)")
    con.commit()
    con.close()
    done = subprocess.run(_cli("evaluate", str(root), "../../x", "--json"), capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "invalid run id" in done.stderr, done.stderr
    assert json.loads(done.stdout) == {"event": "error", "command": "evaluate", "error": done.stderr.split(
        "error: ", 1)[1].strip(), "exit_code": 1}
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


def test_writes_are_atomic_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = runs.RunFolder(tmp_path, "20260101-000000-001-cnn")
    folder.path.mkdir(parents=True)
    folder.write_report({"accuracy": 0.5})

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        folder.write_report({"accuracy": 0.9})
    assert folder.report() == {"accuracy": 0.5}  # the old report, whole

    class Model:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"half a model")

    with pytest.raises(OSError):
        folder.save_model(Model())  # type: ignore[arg-type]
    assert not folder.has_model()
    assert sorted(p.name for p in folder.path.iterdir()) == ["report.json"]  # no temporary left behind


def test_delete_and_rename(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        run = project.create_run("cnn", {"use_augment": True})
        project.update_run(run.id, status="failed", error="x")
        renamed = runs.rename_run(project, run.id, "  my   first run ")
        assert renamed.name == "my first run" and renamed.id == run.id and renamed.augmented
        with pytest.raises(ProjectError):
            runs.rename_run(project, run.id, "x" * 101)
        runs.delete_run(project, run.id)
        assert project.runs() == [] and not (tmp_path / "p" / "runs" / run.id).exists()


def test_a_version_1_project_is_migrated_with_its_runs(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    con = sqlite3.connect(root / "project.db")
    con.executescript(_MIGRATIONS[1])
    con.execute("INSERT INTO runs(id, arch, status, config, metrics, created_at, finished_at) "
                "VALUES ('20250101-000000-001-cnn', 'cnn', 'finished', '{\"epochs\": 3}', '{\"macro_f1\": 0.9}', 1, 2)")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    with Project.open(root) as project:
        (run,) = project.runs()
        assert run.status == RunStatus.FINISHED and run.metrics == {"macro_f1": 0.9} and run.name is None
        other = project.create_run("dense", {})
        project.update_run(other.id, status=RunStatus.INTERRUPTED)  # the new status is allowed
        assert project.run(other.id).status == "interrupted"


def test_labelled_split_indexes_by_the_runs_labels_after_a_class_move(tmp_path: Path) -> None:
    from studio.core.project.store import NewImage

    with Project.create(tmp_path / "p") as project:
        project.add_images([NewImage(f"{i:064x}", f"{i}.png", ".png", 8, 8, 3, label) for i, label in
                            enumerate(["a", "b", "a", "b"] * 10)])
        run_labels = project.class_names()  # the order a run trained with: a, b
        project.move_class(project.class_by_name("b").id, 0)  # the user reorders: b, a
        for split in ("train", "val", "test"):
            paths, indices, names = project.labelled_split(split, run_labels)
            assert names == ["a", "b"]
            by_path = {project.image_path(im): im.label for im in project.images(split=split)}
            assert [run_labels[i] for i in indices] == [by_path[p] for p in paths]
