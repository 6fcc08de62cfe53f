"""Damaged, foreign, missing, locked and racing project databases: one clear line, nothing re-created."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from studio.core.images.importer import import_paths
from studio.core.project import db as project_db
from studio.core.project.store import Project, ProjectError
from tests.core.helpers import make_class_folder
from tests.hostile.conftest import assert_integrity, finish_cli, images_in, start_cli


@pytest.fixture
def made(cli, tmp_path: Path) -> Path:
    """A small project with images and a runs/ folder entry, built through the CLI."""
    make_class_folder(tmp_path / "in", {"a": 4, "b": 4})
    assert cli("import", tmp_path / "p", tmp_path / "in").rc == 0
    (tmp_path / "p" / "runs" / "20260101-000000-001-cnn").mkdir()
    return tmp_path / "p"


def _sql(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)  # closed at once: no stale lock or WAL index left behind
    try:
        conn.execute(statement)
    finally:
        conn.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(cli, project: Path, *commands: tuple[str, ...], expect: str) -> None:
    for command in commands:
        r = cli(*command[:1], project, *command[1:])
        assert r.rc == 1, r.err
        line = r.one_error_line()
        assert expect in line and str(project) in line, line


def test_empty_or_missing_database_beside_images_is_refused(cli, made: Path, tmp_path: Path) -> None:
    db = made / "project.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")
    _refused(cli, made, ("info",), ("import", str(tmp_path / "in")), expect="is empty (0 bytes)")
    assert db.stat().st_size == 0  # never silently re-created
    db.unlink()
    _refused(cli, made, ("info",), ("import", str(tmp_path / "in")), ("runs",), expect="project.db is missing")
    assert not db.exists()


def test_damaged_and_foreign_databases_are_refused(cli, made: Path, tmp_path: Path) -> None:
    db = made / "project.db"
    good = tmp_path / "good.db"
    _sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db, good)

    _sql(db, "PRAGMA user_version=-1")
    _refused(cli, made, ("info",), ("import", str(tmp_path / "in")), expect="not an Edge AI Vision Studio project")

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    _sql(foreign / "project.db", "CREATE TABLE contacts (name TEXT)")
    before = _digest(foreign / "project.db")
    _refused(cli, foreign, ("info",), ("import", str(tmp_path / "in")), expect="another program's file")
    assert _digest(foreign / "project.db") == before

    def restore() -> None:
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copy(good, db)

    restore()
    _sql(db, "DROP TABLE meta")
    _refused(cli, made, ("info",), expect="damaged (missing table meta)")

    restore()
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page, len(data), 7):  # flip bytes on every page after the first
        data[offset] ^= 0x5A
    db.write_bytes(bytes(data))
    _refused(cli, made, ("info",), expect="is damaged")

    db.write_bytes(b"this is not SQLite at all" * 50)
    _refused(cli, made, ("info",), expect="not an SQLite database")

    restore()
    _sql(db, "INSERT INTO runs(id, arch, status, config, created_at) VALUES ('r1', 'cnn', 'finished',"
                     " '{not json', 0)")
    r = cli("runs", made)
    assert r.rc == 1 and "run 'r1' has a damaged record" in r.one_error_line()


def test_paths_that_are_files_and_demo_into_a_project(cli, made: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for command in (("import", a_file, tmp_path / "in"), ("demo", a_file), ("info", a_file)):
        r = cli(*command)
        assert r.rc == 1 and str(a_file) in r.one_error_line()
    assert a_file.read_text() == "x"
    n = images_in(made)
    r = cli("demo", made)
    assert r.rc == 1 and "already a project" in r.one_error_line()
    assert images_in(made) == n
    with Project.open(made) as project:
        assert project.name == "p"


def test_two_first_imports_into_one_new_project(tmp_path: Path) -> None:
    make_class_folder(tmp_path / "x", {"a": 20})
    make_class_folder(tmp_path / "y", {"b": 20}, size=24)
    started = time.monotonic()
    runs = [start_cli("import", str(tmp_path / "p"), str(tmp_path / n), out_dir=tmp_path / f".{n}")
            for n in ("x", "y")]
    results = [finish_cli(*run, 120, started) for run in runs]
    assert [r.rc for r in results] == [0, 0], [r.err for r in results]
    assert images_in(tmp_path / "p") == 40
    assert_integrity(tmp_path / "p")


def test_a_locked_database_stops_the_import_with_one_line_and_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    make_class_folder(tmp_path / "in", {"a": 6, "b": 6})
    Project.create(tmp_path / "p").close()
    monkeypatch.setattr(project_db, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(tmp_path / "p" / "project.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with Project.open(tmp_path / "p") as project:
            assert project.class_names() == []  # reading still works
            with pytest.raises(ProjectError, match=r"busy: another program .*0 images were imported"):
                import_paths(project, [tmp_path / "in"])
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Project.open(tmp_path / "p") as project:  # lock gone: the same import finishes the job
        assert len(import_paths(project, [tmp_path / "in"]).added) == 12
    assert_integrity(tmp_path / "p")
