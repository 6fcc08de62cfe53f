"""Training, evaluation and prediction meeting a missing, damaged or hostile image: one line naming it.

One tiny run is trained once (in this process); every test works on its own copy of that project.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from studio.cli import main
from tests.core.helpers import make_class_folder, trained_tiny_project
from tests.hostile.conftest import can_mount, finish_cli, start_cli
from tests.hostile.fixtures import huge_tiff

slow = pytest.mark.slow  # TensorFlow: one small training run in this process, a child that trains


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_tiny_project(tmp_path_factory.mktemp("stored"), {"a": 24, "b": 24})


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "p")
    return tmp_path / "p"


def _stored(project: Path, split: str) -> Path:
    conn = sqlite3.connect(project / "project.db")
    try:
        sha, ext = conn.execute("SELECT sha256, ext FROM images WHERE split = ? AND class_id IS NOT NULL "
                                "ORDER BY id LIMIT 1", (split,)).fetchone()
    finally:
        conn.close()
    return project / "images" / sha[:2] / f"{sha}{ext}"


def _one_line(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main([*args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return rc, lines[-1] if lines else ""


@slow
def test_evaluate_names_a_missing_or_damaged_stored_image(project: Path, capsys) -> None:
    image = _stored(project, "test")
    data = image.read_bytes()
    image.unlink()
    rc, line = _one_line(capsys, "evaluate", str(project))
    assert rc == 1 and str(image) in line and "no such file" in line
    image.write_bytes(data[:40])  # truncated: the header is there, the pixels are not
    rc, line = _one_line(capsys, "evaluate", str(project))
    assert rc == 1 and f"stored image unreadable: {image}" in line
    image.write_bytes(data)
    rc, _ = _one_line(capsys, "evaluate", str(project))
    assert rc == 0


@slow
def test_predict_refuses_a_huge_image_from_its_header(project: Path, tmp_path: Path, capsys) -> None:
    huge = huge_tiff(tmp_path / "huge.tif")
    rc, line = _one_line(capsys, "predict", str(project), str(huge))
    assert rc == 1 and str(huge) in line and "too large: 20000x20000" in line
    fifo = tmp_path / "pipe.png"
    import os

    os.mkfifo(fifo)
    rc, line = _one_line(capsys, "predict", str(project), str(fifo))
    assert rc == 1 and "FIFO" in line


@slow
def test_read_only_project_evaluates_and_predicts(project: Path, tmp_path: Path, capsys) -> None:
    if not can_mount():
        pytest.skip("read-only media needs root and mount here")
    ro = tmp_path / "ro"
    ro.mkdir()
    ok = subprocess.run(["mount", "--bind", str(project), str(ro)]).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)]).returncode == 0
    try:
        if not ok:
            pytest.skip("bind mounts are not allowed here")
        assert main(["evaluate", str(ro)]) == 0
        out, err = capsys.readouterr()
        assert "accuracy" in out and "read-only: this report was not saved" in err
        assert main(["predict", str(ro), str(_stored(project, "train")), "--json"]) == 0
        assert '"predictions"' in capsys.readouterr().out
    finally:
        subprocess.run(["umount", "-l", str(ro)])


@slow
def test_train_with_a_damaged_image_fails_naming_it_and_the_process_exits(project: Path, tmp_path: Path) -> None:
    """What the window runs (a child `train --json`): it must end, say which file, and not abort."""
    image = _stored(project, "train")
    image.write_bytes(image.read_bytes()[:60])
    started = time.monotonic()
    proc, out, err = start_cli("train", str(project), "--arch", "dense", "--epochs", "1", "--image-size", "16",
                               "--json", out_dir=tmp_path / ".train")
    r = finish_cli(proc, out, err, 300, started)
    assert r.rc == 1
    failed = [ln for ln in r.out.splitlines() if '"run_failed"' in ln]
    assert failed and f"stored image unreadable: {image}" in failed[0]
    assert f"stored image unreadable: {image}" in r.err.strip().splitlines()[-1]


def test_train_with_a_missing_image_stops_before_the_run(tmp_path: Path, cli) -> None:
    """Checked before TensorFlow loads and before a run is created (fast: no training)."""
    make_class_folder(tmp_path / "in", {"a": 12, "b": 12}, size=8)
    assert cli("import", tmp_path / "p", tmp_path / "in").rc == 0
    image = _stored(tmp_path / "p", "val")
    image.unlink()
    r = cli("train", tmp_path / "p", "--arch", "dense", "--epochs", "1", "--json")
    assert r.rc == 1 and str(image) in r.one_error_line() and "no such file" in r.err
    conn = sqlite3.connect(tmp_path / "p" / "project.db")
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    conn.close()
