"""Opening a project's SQLite database safely: our schema and migrations, refusal of another program's or a
damaged file (before anything is written to it), read-only media, and one-line messages for SQLite failures.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from studio.core.errors import ProjectError

SCHEMA_VERSION = 3
DB_NAME = "project.db"
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another writer before saying the project is busy
_TABLES = ("meta", "classes", "images", "runs")
_SQLITE_MAGIC = b"SQLite format 3\x00"

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        color TEXT NOT NULL,
        position INTEGER NOT NULL
    );
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        original_name TEXT NOT NULL,
        ext TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL,
        split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
        added_at REAL NOT NULL,
        trashed_at REAL
    );
    CREATE INDEX images_class ON images(class_id);
    CREATE INDEX images_split ON images(split);
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        arch TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'cancelled')),
        config TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        created_at REAL NOT NULL,
        finished_at REAL
    );
    """,
    # Runs whose process died are settled as 'interrupted'; runs can carry a display name.
    2: """
    CREATE TABLE runs_v2 (
        id TEXT PRIMARY KEY,
        arch TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'cancelled',
                                               'interrupted')),
        config TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        created_at REAL NOT NULL,
        finished_at REAL,
        name TEXT
    );
    INSERT INTO runs_v2(id, arch, status, config, metrics, error, created_at, finished_at)
        SELECT id, arch, status, config, metrics, error, created_at, finished_at FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;
    """,
    # "Other things": images that are none of the classes (studio.core.project.others); never a class.
    3: """
    CREATE TABLE others (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        original_name TEXT NOT NULL,
        ext TEXT NOT NULL,
        added_at REAL NOT NULL
    );
    """,
}


def check_file(db: Path) -> None:
    """Refuse what is not (or no longer) a project database, before SQLite opens (and could create) it."""
    root = db.parent
    if not os.path.lexists(db):
        refuse_orphaned_content(root)
        raise ProjectError(f"not a project (no {DB_NAME}): {root}")
    if not db.is_file():
        raise ProjectError(f"{db} is not a regular file; this is not a project")
    try:
        with open(db, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ProjectError(f"cannot read {db}: {exc.strerror or exc}") from None
    if not head:
        # A create interrupted before its first write leaves an empty file; over images/runs it is damage.
        refuse_orphaned_content(root, f"{db} is empty (0 bytes)")
    elif head != _SQLITE_MAGIC:
        raise ProjectError(f"{db} is not an SQLite database (damaged or another program's file); "
                           "restore it from a backup")


def connect(db: Path, read_only: bool = False) -> tuple[sqlite3.Connection, bool]:
    """(connection, read_only) to a checked, migrated project database; ProjectError otherwise.
    ``read_only`` opens it for reading even where it could be written (a cluster's non-chief worker)."""
    root = db.parent
    read_only = read_only or _read_only(root, db)
    conn: sqlite3.Connection | None = None
    try:
        if read_only:
            # No -wal/-shm can be created on read-only media: open immutable unless a WAL is pending.
            wal = Path(f"{db}-wal")
            mode = "mode=ro" if wal.is_file() and wal.stat().st_size else "mode=ro&immutable=1"
            conn = sqlite3.connect(f"file:{quote(str(db.absolute()))}?{mode}", uri=True, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_S, isolation_level=None)
        else:
            conn = sqlite3.connect(db, check_same_thread=False, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        version = _check_schema(conn, db)  # before anything writes: another program's file stays as it is
        if not read_only:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        if version < SCHEMA_VERSION:
            if read_only:
                raise ProjectError(f"{root} is on read-only media and needs an upgrade; copy it first")
            _migrate(conn)
        if not read_only:
            for sub in ("images", "runs", "thumbnails"):
                (root / sub).mkdir(exist_ok=True)
    except (sqlite3.Error, ProjectError, OSError) as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.Error):
            raise db_error(exc, db) from None
        if isinstance(exc, OSError):
            raise ProjectError(f"cannot open the project {root}: {exc.strerror or exc}") from None
        raise
    return conn, read_only


def db_error(exc: sqlite3.Error, db: Path) -> ProjectError:
    """One line for an SQLite failure, saying what the user can do about it."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return ProjectError(f"the project is busy: another program has been writing to it for over "
                            f"{BUSY_TIMEOUT_S:g} s; close the other program and try again")
    if "readonly" in low or "read-only" in low:
        return ProjectError(f"the project is read-only ({db.parent} is on read-only media or not writable); "
                            "reading works, changes cannot be saved")
    if "full" in low:
        return ProjectError(f"disk full: changes to {db.parent} could not be saved; free some space")
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return ProjectError(f"the project database {db} is damaged ({text}); restore it from a backup")
    if "unable to open" in low:
        return ProjectError(f"cannot open the project database {db} ({text})")
    return ProjectError(f"project database error in {db}: {text}")


def _read_only(root: Path, db: Path) -> bool:
    try:
        return bool(os.statvfs(root).f_flag & os.ST_RDONLY) or not os.access(root, os.W_OK) or (
            db.exists() and not os.access(db, os.W_OK))
    except OSError:
        return False


def _has_content(root: Path) -> bool:
    for sub in ("images", "runs"):
        try:
            if any((root / sub).iterdir()):
                return True
        except OSError:
            continue
    return False


def refuse_orphaned_content(root: Path, problem: str | None = None) -> None:
    """Never start a new, empty project over the images and runs of one whose database is gone or empty."""
    if root.is_dir() and _has_content(root):
        problem = problem or f"{root / DB_NAME} is missing"
        raise ProjectError(f"{problem} but {root} holds images/ or runs/ of a project; refusing to start a new "
                           "project over them: restore project.db from a backup")


def _check_schema(conn: sqlite3.Connection, db: Path) -> int:
    """user_version after checking this is our database: refuses another program's SQLite file, a damaged
    schema, and a version from the future."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version < 0 or (version == 0 and tables):
        raise ProjectError(f"{db} is not an Edge AI Vision Studio project database (another program's file, "
                           f"schema version {version}); restore it from a backup")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"this project was written by a newer Edge AI Vision Studio (schema {version}, "
            f"this version reads up to {SCHEMA_VERSION}); please update the studio")
    missing = [t for t in _TABLES if version and t not in tables]
    if missing:
        raise ProjectError(f"the project database {db} is damaged (missing table {', '.join(missing)}); "
                           "restore it from a backup")
    return version


def _migrate(conn: sqlite3.Connection) -> None:
    """Upgrade to SCHEMA_VERSION. The version is read again under the write lock, so two processes opening
    a new project at once do not both create its tables."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={target}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
