"""A received project's run folder, and every folder the studio writes into, as a hostile sender makes them:
links out of the project, labels that disagree with the model or fake output lines, a crafted model.keras,
FIFOs. Each is refused with one line; nothing outside the project is written.

One tiny run is trained once (in this process); every test works on its own copy of that project.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from studio.cli import main
from tests.core.helpers import make_class_folder, trained_tiny_project
from tests.hostile.conftest import snapshot
from tests.hostile.fixtures import fifo

slow = pytest.mark.slow  # TensorFlow: one small training run in this process


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_tiny_project(tmp_path_factory.mktemp("runfiles"), {"a": 16, "b": 16, "c": 16})


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "p")
    return tmp_path / "p"


def _run_dir(project: Path) -> Path:
    conn = sqlite3.connect(project / "project.db")
    try:
        return project / "runs" / conn.execute("SELECT id FROM runs").fetchone()[0]
    finally:
        conn.close()


def _an_image(project: Path) -> Path:
    return next((project / "images").rglob("*.png"))


def _one_line(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main([*args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 0 or len(lines) == 1, err
    return rc, (lines[-1] if lines else ""), out


def _labels(project: Path, names: object) -> None:
    (_run_dir(project) / "labels.json").write_text(json.dumps(names), encoding="utf-8")


@slow
@pytest.mark.parametrize("names, says", [
    (["a", "b"], "names 2 classes but the model has 3 outputs"),
    (["a", "b", "c", "d"], "names 4 classes but the model has 3 outputs"),
    (["a", "a", "b"], "twice"),
    (["a", "b", "x" * 101], "101 characters"),
    (["a", "b", "c\r\nphoto.png: a (1.0000)"], "control characters"),
    (["a", "b\x1b[2J", "c"], "control characters"),
    (["a", 7, "c"], "not a class name"),
    ({"a": 1}, "no readable labels.json"),
])
def test_labels_that_disagree_with_the_model_are_refused_in_one_line(project: Path, capsys, names: object,
                                                                      says: str) -> None:
    _labels(project, names)
    for command in (["evaluate", str(project)], ["predict", str(project), str(_an_image(project))],
                    ["export", str(project), "--out", str(project.parent / "web")]):
        rc, line, out = _one_line(capsys, *command)
        assert rc == 1 and says in line, (command, line)
        assert "\r" not in line and "photo.png: a (1.0000)\n" not in out
    assert not (project.parent / "web").exists()


def test_a_fifo_labels_json_never_blocks(project: Path, cli) -> None:
    (_run_dir(project) / "labels.json").unlink()
    fifo(_run_dir(project) / "labels.json")
    r = cli("predict", project, _an_image(project), timeout=120)
    assert r.rc == 1 and "no readable labels.json" in r.one_error_line()


def _crafted(model: Path, edit) -> None:  # noqa: ANN001
    with zipfile.ZipFile(model) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(model, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _dense_layers(config: dict) -> list[dict]:
    return [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]


@slow
@pytest.mark.parametrize("how", ["activation os.system", "layer subprocess.Popen", "layer of another module",
                                 "config not a dict"])
def test_a_crafted_model_is_refused_in_one_line_and_runs_nothing(project: Path, capsys, tmp_path: Path,
                                                                  how: str) -> None:
    marker = tmp_path / "ran"

    def edit(config: dict) -> None:
        layer = _dense_layers(config)[-1]
        if how == "activation os.system":
            layer["config"]["activation"] = {"module": "os", "class_name": "system",
                                             "config": {"command": f"touch {marker}"}, "registered_name": "system"}
        elif how == "layer subprocess.Popen":
            layer.update({"module": "subprocess", "class_name": "Popen", "registered_name": "Popen"})
            layer["config"] = {"args": ["touch", str(marker)]}
        elif how == "layer of another module":
            layer.update({"module": "keras.src.ops", "class_name": "nonexistent"})
        else:
            layer["config"] = ["not", "a", "dict"]
    _crafted(_run_dir(project) / "model.keras", edit)
    for command in (["evaluate", str(project)], ["predict", str(project), str(_an_image(project))]):
        rc, line, _ = _one_line(capsys, *command)
        assert rc == 1 and "cannot be read (model.keras" in line, line
    assert not marker.exists()


# ----- links out of the project ------------------------------------------------------------------
def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.json").write_text("precious")
    (outside / "health.json").write_text("precious")
    return outside


@slow
def test_a_linked_run_folder_is_refused_and_nothing_outside_changes(project: Path, capsys, tmp_path: Path) -> None:
    run = _run_dir(project)
    outside = tmp_path / "elsewhere"
    shutil.move(run, outside)
    (outside / "report.json").write_text("precious")
    os.symlink(outside, run)
    before = snapshot(outside)
    rc, line, _ = _one_line(capsys, "evaluate", str(project))
    assert rc == 1 and "is a link" in line and f"runs/{run.name}/" in line
    assert snapshot(outside) == before and (outside / "report.json").read_text() == "precious"


def test_linked_runs_and_features_folders_are_refused(tmp_path: Path, cli) -> None:
    from studio.core.project.files import LinkRefused
    from studio.core.project.store import Project

    make_class_folder(tmp_path / "in", {"a": 12, "b": 12}, size=8)
    assert cli("import", tmp_path / "p", tmp_path / "in").rc == 0
    outside = _outside(tmp_path)
    before = snapshot(outside)
    os.symlink(outside, tmp_path / "p" / "features")
    r = cli("health", tmp_path / "p")
    assert r.rc == 1 and "features/ in the project is a link" in r.one_error_line()
    shutil.rmtree(tmp_path / "p" / "runs")
    os.symlink(outside, tmp_path / "p" / "runs")
    with Project.open(tmp_path / "p") as project, pytest.raises(LinkRefused, match="runs/ in the project is a link"):
        project.create_run("dense", {})
    assert snapshot(outside) == before


def test_health_report_never_written_through_planted_links(tmp_path: Path) -> None:
    from studio.core.health import check
    from studio.core.project.store import Project

    outside = _outside(tmp_path)
    with Project.create(tmp_path / "p") as project:
        os.symlink(outside / "health.json", project.root / "health.json.tmp")  # the old fixed temporary name
        check._save(project, check.HealthReport("f", "s", 0, 0, 0.0, 0.9))
        assert json.loads((project.root / "health.json").read_text())["fingerprint"] == "f"
    assert (outside / "health.json").read_text() == "precious" == (outside / "report.json").read_text()


def test_imported_images_never_written_through_a_linked_folder(tmp_path: Path, cli) -> None:
    make_class_folder(tmp_path / "in", {"a": 2}, size=8)
    assert cli("import", tmp_path / "p", tmp_path / "in").rc == 0
    outside = _outside(tmp_path)
    shutil.rmtree(tmp_path / "p" / "images")
    os.symlink(outside, tmp_path / "p" / "images")
    before = snapshot(outside)
    make_class_folder(tmp_path / "more", {"b": 2}, size=12)
    r = cli("import", tmp_path / "p", tmp_path / "more")
    assert r.rc == 1 and "images/ in the project is a link" in r.one_error_line()
    assert snapshot(outside) == before


def test_thumbnails_never_written_through_a_linked_folder(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    from studio.core.images.importer import import_paths
    from studio.core.project.store import Project
    from studio.gui.thumbnails import make_thumbnail

    make_class_folder(tmp_path / "in", {"a": 2}, size=8)
    outside = _outside(tmp_path)
    with Project.create(tmp_path / "p") as project:
        import_paths(project, [tmp_path / "in"])
        shutil.rmtree(project.root / "thumbnails", ignore_errors=True)
        os.symlink(outside, project.root / "thumbnails")
        before = snapshot(outside)
        for record in project.images():
            assert not make_thumbnail(project, record).isNull()
    assert snapshot(outside) == before
