"""A project: a folder holding ``project.db`` (SQLite), ``images/`` (content-addressed) and ``runs/``.

Every write is one transaction. Image files are written before their row is committed, so after a crash
an image is either complete (row and file) or absent (at most an orphan file that a re-import reuses).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.errors import ProjectError
from studio.core.project import db as project_db
from studio.core.project import runs as run_store
from studio.core.project.db import SCHEMA_VERSION
from studio.core.project.runs import RunRecord, RunStatus

__all__ = ["SCHEMA_VERSION", "ProjectError", "Project", "ClassInfo", "ImageRecord", "NewImage", "RunRecord",
           "clean_class_name", "split_for"]

MAX_CLASS_NAME = run_store.MAX_CLASS_NAME  # one definition: a run's labels are held to it too
SPLITS = ("train", "val", "test")
DEFAULT_SPLIT_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
RUN_STATUSES = tuple(s.value for s in RunStatus)

# Distinct, readable badge colours handed to new classes in order.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4",
    "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000",
    "#000075", "#e6a100", "#a9a9a9", "#dcbeff", "#800000",
)


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    color: str
    position: int


@dataclass(frozen=True)
class ImageRecord:
    id: int
    sha256: str
    original_name: str
    ext: str
    width: int
    height: int
    channels: int
    class_id: int | None
    label: str | None
    split: str
    added_at: float
    trashed_at: float | None = None


@dataclass(frozen=True)
class NewImage:
    """An image the importer has validated and stored under ``images/``; not yet a row."""

    sha256: str
    original_name: str
    ext: str
    width: int
    height: int
    channels: int
    label: str | None



def split_for(sha256: str, counts: dict[str, int] | None = None,
              fractions: dict[str, float] = DEFAULT_SPLIT_FRACTIONS) -> str:
    """The split of a new image, derived from its hash and stable across re-imports.

    With ``counts`` (the split sizes of the image's class so far) the choice is stratified: the split
    furthest below its target share wins, the hash breaking near-ties; without, the hash alone decides.
    """
    u = int(sha256[:12], 16) / float(16**12)
    if counts is None:
        acc = 0.0
        for name in SPLITS:
            acc += fractions[name]
            if u < acc:
                return name
        return SPLITS[-1]
    n = sum(counts.get(s, 0) for s in SPLITS) + 1
    jitter = [int(sha256[12 + 4 * i: 16 + 4 * i], 16) / 65536.0 for i in range(len(SPLITS))]
    scores = {s: fractions[s] * n - counts.get(s, 0) + 0.9 * jitter[i] * fractions[s]
              for i, s in enumerate(SPLITS)}
    return max(SPLITS, key=lambda s: scores[s])


class Project:
    """Open with :meth:`create` or :meth:`open`. Thread-safe: one connection guarded by a lock."""

    DB_NAME = project_db.DB_NAME

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self._conn = conn
        self._lock = threading.RLock()
        self._run_owners: dict[str, run_store.RunOwner] = {}
        self.read_only = False  # opened from read-only media: reading works, every write says so

    # ----- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, name: str | None = None) -> Project:
        root = Path(root)
        if (root / cls.DB_NAME).exists():
            raise ProjectError(f"a project already exists at {root}")
        if root.exists() and not root.is_dir():
            raise ProjectError(f"not a folder: {root}")
        project_db.refuse_orphaned_content(root)
        if root.exists() and any(root.iterdir()):
            raise ProjectError(f"folder is not empty: {root}")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create project folder {root}: {exc.strerror}") from None
        project = cls._connect(root)
        with project.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('name', ?)", (name or root.name,))
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?)", (str(time.time()),))
        return project

    @classmethod
    def open(cls, root: str | Path, read_only: bool = False) -> Project:
        """An existing project; ``read_only`` never writes to it (not even to settle stale runs)."""
        root = Path(root)
        project_db.check_file(root / cls.DB_NAME)
        project = cls._connect(root, read_only)
        if not project.read_only:
            try:
                run_store.settle_stale_runs(project)  # runs whose process died read as interrupted, not running
            except ProjectError:
                pass  # a damaged run row is reported, in one line, by whatever reads it next
        return project

    @classmethod
    def open_or_create(cls, root: str | Path) -> Project:
        root = Path(root)
        return cls.open(root) if os.path.lexists(root / cls.DB_NAME) else cls.create(root)

    @classmethod
    def _connect(cls, root: Path, read_only: bool = False) -> Project:
        conn, read_only = project_db.connect(root / cls.DB_NAME, read_only)
        project = cls(root, conn)
        project.read_only = read_only
        return project

    def close(self) -> None:
        with self._lock:
            for owner in self._run_owners.values():
                owner.release()
            self._run_owners.clear()
            self._conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any exception."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise project_db.db_error(exc, self.root / self.DB_NAME) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite already rolled back (disk full, I/O error)
                if isinstance(exc, sqlite3.Error):
                    raise project_db.db_error(exc, self.root / self.DB_NAME) from None
                raise

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise project_db.db_error(exc, self.root / self.DB_NAME) from None

    # ----- metadata and settings -----------------------------------------------------------
    @property
    def name(self) -> str:
        return self.get_meta("name") or self.root.name

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def get_setting(self, key: str, default: Any = None) -> Any:
        raw = self.get_meta("setting:" + key)
        return default if raw is None else json.loads(raw)

    def set_setting(self, key: str, value: Any) -> None:
        self.set_meta("setting:" + key, json.dumps(value))

    # ----- classes -------------------------------------------------------------------------
    def classes(self) -> list[ClassInfo]:
        return [ClassInfo(r["id"], r["name"], r["color"], r["position"])
                for r in self._query("SELECT * FROM classes ORDER BY position, id")]

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes()]

    def class_by_name(self, name: str) -> ClassInfo | None:
        rows = self._query("SELECT * FROM classes WHERE name = ?", (name,))
        return ClassInfo(rows[0]["id"], rows[0]["name"], rows[0]["color"], rows[0]["position"]) if rows else None

    def _ensure_class(self, c: sqlite3.Connection, name: str, color: str | None = None) -> int:
        row = c.execute("SELECT id FROM classes WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row["id"])
        n = c.execute("SELECT COUNT(*), COALESCE(MAX(position), -1) FROM classes").fetchone()
        color = color or PALETTE[n[0] % len(PALETTE)]
        cur = c.execute("INSERT INTO classes(name, color, position) VALUES (?, ?, ?)", (name, color, n[1] + 1))
        return int(cur.lastrowid)

    def add_class(self, name: str, color: str | None = None) -> ClassInfo:
        name = clean_class_name(name)
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM classes WHERE name = ?", (name,)).fetchone():
                raise ProjectError(f"a class named {name!r} already exists")
            cid = self._ensure_class(c, name, color)
        return next(ci for ci in self.classes() if ci.id == cid)

    def rename_class(self, class_id: int, new_name: str) -> None:
        new_name = clean_class_name(new_name)
        with self.transaction() as c:
            clash = c.execute("SELECT id FROM classes WHERE name = ? AND id != ?", (new_name, class_id)).fetchone()
            if clash:
                raise ProjectError(f"a class named {new_name!r} already exists")
            c.execute("UPDATE classes SET name = ? WHERE id = ?", (new_name, class_id))

    def recolor_class(self, class_id: int, color: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE classes SET color = ? WHERE id = ?", (color, class_id))

    def move_class(self, class_id: int, position: int) -> None:
        with self.transaction() as c:
            ids = [r["id"] for r in c.execute("SELECT id FROM classes ORDER BY position, id")]
            ids.remove(class_id)
            ids.insert(max(0, min(position, len(ids))), class_id)
            for pos, cid in enumerate(ids):
                c.execute("UPDATE classes SET position = ? WHERE id = ?", (pos, cid))

    def merge_classes(self, source_id: int, target_id: int) -> list[int]:
        """Relabel every image of ``source`` as ``target`` and delete ``source``; returns the moved ids."""
        if source_id == target_id:
            raise ProjectError("cannot merge a class into itself")
        with self.transaction() as c:
            moved = [r["id"] for r in c.execute("SELECT id FROM images WHERE class_id = ?", (source_id,))]
            c.execute("UPDATE images SET class_id = ? WHERE class_id = ?", (target_id, source_id))
            c.execute("DELETE FROM classes WHERE id = ?", (source_id,))
        return moved

    def delete_class(self, class_id: int) -> list[int]:
        """Delete a class; its images become unlabelled. Returns their ids (for undo)."""
        with self.transaction() as c:
            ids = [r["id"] for r in c.execute("SELECT id FROM images WHERE class_id = ?", (class_id,))]
            c.execute("DELETE FROM classes WHERE id = ?", (class_id,))
        return ids

    def restore_class(self, info: ClassInfo, image_ids: Iterable[int]) -> None:
        """Undo of :meth:`delete_class`: the class comes back with the same id, colour and images."""
        with self.transaction() as c:
            c.execute("INSERT INTO classes(id, name, color, position) VALUES (?, ?, ?, ?)",
                      (info.id, info.name, info.color, info.position))
            c.executemany("UPDATE images SET class_id = ? WHERE id = ?", [(info.id, i) for i in image_ids])

    # ----- images --------------------------------------------------------------------------
    def image_path(self, image: ImageRecord | str, ext: str | None = None) -> Path:
        if isinstance(image, ImageRecord):
            sha, ext = image.sha256, image.ext
        else:
            sha = image
        return self.root / "images" / sha[:2] / f"{sha}{ext}"

    def known_hashes(self) -> set[str]:
        return {r[0] for r in self._query("SELECT sha256 FROM images")}

    def add_images(self, batch: Sequence[NewImage]) -> list[int]:
        """Insert a batch of already-stored images in one transaction; returns the new ids, in batch order.
        Set-based: one query finds the hashes the project has, one per class its split counts, one
        ``executemany`` inserts the rows (three statements per image cost more than the image's decode)."""
        now = time.time()
        with self.transaction() as c:
            have: set[str] = set()
            hashes = [im.sha256 for im in batch]
            for i in range(0, len(hashes), 500):  # under SQLite's bound-parameter limit
                part = hashes[i:i + 500]
                have.update(r[0] for r in c.execute(
                    f"SELECT sha256 FROM images WHERE sha256 IN ({','.join('?' * len(part))})", part))
            class_ids: dict[str, int] = {}
            counts: dict[int, dict[str, int]] = {}
            rows = []
            for im in batch:
                if im.sha256 in have:
                    continue
                have.add(im.sha256)
                class_id = None
                if im.label:
                    class_id = class_ids.get(im.label)
                    if class_id is None:
                        class_id = class_ids[im.label] = self._ensure_class(c, clean_class_name(im.label))
                        counts[class_id] = {s: 0 for s in SPLITS}
                        for r in c.execute("SELECT split, COUNT(*) n FROM images WHERE class_id = ? "
                                           "GROUP BY split", (class_id,)):
                            counts[class_id][r["split"]] = r["n"]
                split = split_for(im.sha256, counts[class_id] if class_id is not None else None)
                if class_id is not None:
                    counts[class_id][split] += 1
                rows.append((im.sha256, im.original_name, im.ext, im.width, im.height, im.channels, class_id,
                             split, now))
            if not rows:
                return []
            last = c.execute("SELECT COALESCE(MAX(id), 0) FROM images").fetchone()[0]
            c.executemany(
                "INSERT INTO images(sha256, original_name, ext, width, height, channels, class_id, split,"
                " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            # New rowids are above the largest before (no row is deleted inside this transaction), in order.
            ids = [int(r[0]) for r in c.execute("SELECT id FROM images WHERE id > ? ORDER BY id", (last,))]
            if len(ids) != len(rows):  # rolls the batch back
                raise ProjectError("the project's image table changed during an import; run the import again")
        return ids

    def images(self, *, class_id: int | None = None, unlabelled: bool = False, split: str | None = None,
               search: str | None = None, trashed: bool = False, ids: Iterable[int] | None = None,
               after_id: int | None = None) -> list[ImageRecord]:
        """Images in id order; ``after_id`` keeps only those added after that one (an import in progress)."""
        where = ["i.trashed_at IS NOT NULL" if trashed else "i.trashed_at IS NULL"]
        args: list[Any] = []
        if after_id is not None:
            where.append("i.id > ?")
            args.append(int(after_id))
        if class_id is not None:
            where.append("i.class_id = ?")
            args.append(class_id)
        if unlabelled:
            where.append("i.class_id IS NULL")
        if split is not None:
            where.append("i.split = ?")
            args.append(split)
        if search:
            where.append("i.original_name LIKE ? ESCAPE '\\'")
            args.append("%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if ids is not None:
            id_list = [int(i) for i in ids]
            where.append(f"i.id IN ({','.join('?' * len(id_list)) or 'NULL'})")
            args.extend(id_list)
        rows = self._query(
            "SELECT i.*, c.name AS label FROM images i LEFT JOIN classes c ON c.id = i.class_id "
            f"WHERE {' AND '.join(where)} ORDER BY i.id", args)
        return [_image_from_row(r) for r in rows]

    def image(self, image_id: int) -> ImageRecord:
        found = self.images(ids=[image_id]) or self.images(ids=[image_id], trashed=True)
        if not found:
            raise ProjectError(f"no image with id {image_id}")
        return found[0]

    def set_labels(self, image_ids: Iterable[int], class_id: int | None) -> dict[int, int | None]:
        """Label images (None = unlabelled) in one transaction; returns the previous labels for undo."""
        ids = list(image_ids)
        with self.transaction() as c:
            before = {r["id"]: r["class_id"] for r in c.execute(
                f"SELECT id, class_id FROM images WHERE id IN ({','.join('?' * len(ids)) or 'NULL'})", ids)}
            c.executemany("UPDATE images SET class_id = ? WHERE id = ?", [(class_id, i) for i in before])
        return before

    def restore_labels(self, labels: dict[int, int | None]) -> None:
        with self.transaction() as c:
            c.executemany("UPDATE images SET class_id = ? WHERE id = ?", [(v, k) for k, v in labels.items()])

    def trash_images(self, image_ids: Iterable[int]) -> None:
        now = time.time()
        with self.transaction() as c:
            c.executemany("UPDATE images SET trashed_at = ? WHERE id = ?", [(now, i) for i in image_ids])

    def restore_images(self, image_ids: Iterable[int]) -> None:
        with self.transaction() as c:
            c.executemany("UPDATE images SET trashed_at = NULL WHERE id = ?", [(i,) for i in image_ids])

    def counts(self) -> dict[str, dict[str, int]]:
        """Per class name (``None`` key = unlabelled) -> split -> count of images not in the trash."""
        out: dict[str, dict[str, int]] = {c.name: {s: 0 for s in SPLITS} for c in self.classes()}
        for r in self._query("SELECT c.name AS label, i.split, COUNT(*) n FROM images i LEFT JOIN classes c "
                             "ON c.id = i.class_id WHERE i.trashed_at IS NULL GROUP BY c.name, i.split"):
            out.setdefault(r["label"], {s: 0 for s in SPLITS})[r["split"]] = r["n"]
        return out

    def counts_total(self) -> int:
        """Every image row, the trash included (what an import has committed so far)."""
        return int(self._query("SELECT COUNT(*) FROM images")[0][0])

    def labelled_split(self, split: str, class_names: Sequence[str] | None = None
                       ) -> tuple[list[Path], list[int], list[str]]:
        """(paths, class indices, class names) of the labelled, non-trashed images of one split.

        Indices follow ``class_names`` (a run's labels: its model's output order); without it, the current
        :meth:`class_names` order, which differs from a run's once classes were moved or added since.
        """
        names = list(class_names) if class_names is not None else self.class_names()
        index = {n: i for i, n in enumerate(names)}
        paths, labels = [], []
        for im in self.images(split=split):
            if im.label in index:
                paths.append(self.image_path(im))
                labels.append(index[im.label])
        return paths, labels, names

    # ----- runs (database rows; the folders belong to studio.core.project.runs) ---------------------
    def run_dir(self, run_id: str) -> Path:
        return run_store.RunFolder(self.root, run_id).path

    def run_folder(self, run: RunRecord | str) -> run_store.RunFolder:
        return run_store.RunFolder(self.root, run if isinstance(run, str) else run.id)

    def create_run(self, arch: str, config: dict[str, Any],
                   status: RunStatus = RunStatus.RUNNING) -> RunRecord:
        """A new run row and folder. While it is running, this process holds the run's owner lock (taken
        before the row is visible), so other processes can tell a live run from one whose process died."""
        with self.transaction() as c:
            n = c.execute("SELECT COUNT(*) FROM runs").fetchone()[0] + 1
            run_id = run_store.new_run_id(n, arch)
            while c.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():  # after a delete
                n += 1
                run_id = run_store.new_run_id(n, arch)
            folder = self.run_folder(run_id)
            folder.checked()  # made here; refused when runs/ or the folder is a link out of the project
            if not RunStatus(status).ended:
                self._run_owners[run_id] = folder.take_ownership()
            c.execute("INSERT INTO runs(id, arch, status, config, created_at) VALUES (?, ?, ?, ?, ?)",
                      (run_id, arch, str(status), json.dumps(config), time.time()))
        return self.run(run_id)

    def update_run(self, run_id: str, *, status: RunStatus | str | None = None,
                   metrics: dict[str, Any] | None = None, error: str | None = None,
                   only_if: Sequence[RunStatus] | None = None) -> bool:
        """Change a run's row in one transaction; with ``only_if``, only while its status is one of those
        (returns False and changes nothing otherwise). An ended status releases this process's lock."""
        with self.transaction() as c:
            row = c.execute("SELECT status, metrics FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or (only_if is not None and row["status"] not in {str(s) for s in only_if}):
                return False
            if metrics is not None:
                old = json.loads(row["metrics"])
                old.update(metrics)
                c.execute("UPDATE runs SET metrics = ? WHERE id = ?", (json.dumps(old), run_id))
            if error is not None:
                c.execute("UPDATE runs SET error = ? WHERE id = ?", (error, run_id))
            if status is not None:
                status = RunStatus(status)
                c.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                          (str(status), time.time() if status.ended else None, run_id))
        if status is not None and RunStatus(status).ended and run_id in self._run_owners:
            self._run_owners.pop(run_id).release()
        return True

    def delete_run_row(self, run_id: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def set_run_name(self, run_id: str, name: str | None) -> None:
        with self.transaction() as c:
            c.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))

    def runs(self) -> list[RunRecord]:
        return [_run_from_row(r) for r in self._query("SELECT * FROM runs ORDER BY created_at, id")]

    def run(self, run_id: str) -> RunRecord:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise ProjectError(f"no run {run_id!r} in this project")
        return _run_from_row(rows[0])

    def latest_finished_run(self) -> RunRecord:
        rows = self._query("SELECT * FROM runs WHERE status = 'finished' ORDER BY created_at DESC, id DESC LIMIT 1")
        if not rows:
            raise ProjectError("this project has no finished run yet; train one first")
        return _run_from_row(rows[0])

    def resolve_run(self, run_id: str | None) -> RunRecord:
        return self.latest_finished_run() if run_id is None else self.run(run_id)

    def integrity_check(self) -> str:
        return str(self._query("PRAGMA integrity_check")[0][0])


def clean_class_name(name: str) -> str:
    """A class name as stored (whitespace collapsed); ProjectError when empty or too long."""
    name = " ".join(str(name).split())
    if not name:
        raise ProjectError("a class name cannot be empty")
    if len(name) > MAX_CLASS_NAME:
        raise ProjectError(f"a class name must be at most {MAX_CLASS_NAME} characters (this one has {len(name)})")
    return name


def _image_from_row(r: sqlite3.Row) -> ImageRecord:
    return ImageRecord(r["id"], r["sha256"], r["original_name"], r["ext"], r["width"], r["height"],
                       r["channels"], r["class_id"], r["label"], r["split"], r["added_at"], r["trashed_at"])


def _run_from_row(r: sqlite3.Row) -> RunRecord:
    try:
        config, metrics = json.loads(r["config"]), json.loads(r["metrics"])
    except (TypeError, ValueError):
        raise ProjectError(f"run {r['id']!r} has a damaged record in project.db (not JSON)") from None
    if not isinstance(config, dict) or not isinstance(metrics, dict):
        raise ProjectError(f"run {r['id']!r} has a damaged record in project.db")
    try:
        status = RunStatus(r["status"])
    except ValueError:
        raise ProjectError(f"run {str(r['id'])[:80]!r} has an unknown status {str(r['status'])[:40]!r}; "
                           "the project database may have been edited") from None
    return RunRecord(r["id"], r["arch"], status, config, metrics, r["error"], r["created_at"],
                     r["finished_at"], r["name"] if "name" in r.keys() else None)
