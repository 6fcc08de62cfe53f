"""The run store: the run record with its typed status, and the one object that reads and writes a run folder.

A run is a row in ``project.db`` (id, arch, status, config, metrics, error, times, name) and a folder
``runs/<id>/``. The row holds the run's config (the one copy every reader uses, through
:meth:`RunFolder.config`); the folder holds what training produced. Every run-folder file name is spelled
here and nowhere else; every write of a folder file is atomic (temporary file, fsync, rename), so a full disk
or a kill never leaves a half ``model.keras`` or ``report.json``.

A run id comes from the database, which a user can edit: it is checked (:func:`check_run_id`) before it
ever becomes a path.

The process that trains a run holds an advisory lock on ``runs/<id>/.owner.lock`` until the run ends. A run
still marked ``running`` whose lock nobody holds lost its process (killed, crashed, power cut):
:func:`settle_stale_runs` marks it ``interrupted``, keeping what was saved. The CLI and the GUI both call it
when they open a project (:meth:`studio.core.project.store.Project.open`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.errors import ProjectError
from studio.core.project import files as project_files

if TYPE_CHECKING:
    import keras

    from studio.core.project.store import Project
    from studio.core.specs import TrainConfig

# ----- the files of a run folder (the one place they are named) -----------------------------------------
RUNS_DIR = "runs"
CONFIG_FILE = "config.json"
LABELS_FILE = "labels.json"
HISTORY_FILE = "history.json"
TIMINGS_FILE = "timings.json"
MODEL_FILE = "model.keras"
REPORT_FILE = "report.json"
KNOWN_SCORE_FILE = "known_score.npz"   # the known-vs-unknown score's constants (studio.core.evaluation.open_world)
ERROR_FILE = "error.log"
ESTIMATES_FILE = "estimates.json"  # export format -> quantization -> measured size and test accuracy
OUTPUTS_FILE = "outputs.npz"  # the run's outputs for project images (studio.core.evaluation.run_outputs)
LOGS_DIR = "logs"
CACHE_DIR = "cache"
LOCK_FILE = ".owner.lock"
HISTORY_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")

# Ids the studio writes look like 20261130-101500-003-cnn; anything that could leave runs/ is refused.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")
MAX_RUN_NAME = 100
MAX_CLASS_NAME = 100  # characters in a class name: the project's classes and a run's labels alike


class RunStatus(StrEnum):
    """A run's state. A ``StrEnum``, so it compares equal to its stored string ("finished")."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"   # its process ended without marking it (killed, crashed)

    @property
    def ended(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True)
class RunRecord:
    id: str
    arch: str
    status: RunStatus
    config: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None
    created_at: float
    finished_at: float | None
    name: str | None = None

    @property
    def number(self) -> str:
        return run_number(self.id)

    @property
    def clock(self) -> str:
        return run_clock(self.id)

    @property
    def augmented(self) -> bool:
        m = self.metrics or {}
        return bool(m["augment"]) if m.get("augment") is not None else bool(self.config.get("use_augment"))


def new_run_id(sequence: int, arch: str, when: float | None = None) -> str:
    """The id of a project's ``sequence``-th run: 20261130-101500-003-cnn (sorts by time, says its arch)."""
    import time

    return check_run_id(f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}-{sequence:03d}-{arch}")


def run_number(run_id: str) -> str:
    """The run's sequence number in its project ("3" for 20261130-101500-003-cnn), or the id itself."""
    parts = run_id.split("-")
    return (parts[2].lstrip("0") or "0") if len(parts) >= 4 and parts[2].isdigit() else run_id


def run_clock(run_id: str) -> str:
    """When the run started, HH:MM:SS (from its id), or ""."""
    parts = run_id.split("-")
    t = parts[1] if len(parts) >= 2 else ""
    return f"{t[:2]}:{t[2:4]}:{t[4:]}" if len(t) == 6 and t.isdigit() else ""


def check_run_id(run_id: str) -> str:
    """``run_id`` when it is a plain folder name the studio could have written; else :class:`ProjectError`."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise ProjectError(f"invalid run id {str(run_id)[:80]!r} in this project's database "
                           "(a run id names a folder under runs/); the database may have been edited")
    return run_id


# ----- atomic writes -------------------------------------------------------------------------------------
MAX_RUN_FILE = 16 * 2**20  # a run's JSON files (labels, history, report ...) are read up to this size


def write_atomic(path: Path, data: bytes | str, root: Path | None = None) -> None:
    """Write a whole file or nothing (a unique temporary beside it, flushed, renamed over it), never through
    a link: see :mod:`studio.core.project.files` (``root`` = the project; default: the file's own folder)."""
    project_files.write_atomic(Path(root) if root is not None else Path(path).parent, Path(path), data)


def write_json_atomic(path: Path, value: Any, root: Path | None = None) -> None:
    write_atomic(path, json.dumps(value, indent=1), root)


def _read_json(path: Path) -> Any:
    """The JSON value of a run file, or None when it is missing, damaged, too large or not a regular file."""
    from studio.core.project import caches as cache_check

    try:
        return cache_check.read_json(path, MAX_RUN_FILE)
    except cache_check.CacheInvalid:
        return None


def check_labels(names: Any, run_id: str) -> list[str]:
    """A run's class names as the model's outputs are named: a non-empty list of distinct plain names of
    at most :data:`MAX_CLASS_NAME` characters without control characters (a name must never fake an output
    line). Else :class:`ProjectError`."""
    from studio.core.safe_text import terminal

    if not isinstance(names, list) or not names:
        raise ProjectError(f"run {run_id} has no readable {LABELS_FILE}")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ProjectError(f"run {run_id}: {LABELS_FILE} holds {str(name)[:40]!r}, not a class name")
        if len(name) > MAX_CLASS_NAME:
            raise ProjectError(f"run {run_id}: {LABELS_FILE} holds a class name of {len(name)} characters "
                               f"(at most {MAX_CLASS_NAME})")
        if any(ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029" for c in name):
            raise ProjectError(f"run {run_id}: {LABELS_FILE} holds a class name with control characters: "
                               f"{terminal(name[:60])}")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ProjectError(f"run {run_id}: {LABELS_FILE} names class {terminal(dup)!r} twice")
    return list(names)


def load_keras(path: Path, what: str) -> keras.Model:
    """A ``.keras`` file loaded in Keras safe mode; anything it raises on a damaged or crafted file (Keras
    raises many kinds: TypeError, AttributeError, KeyError ...) becomes one :class:`ProjectError` line."""
    import keras

    from studio.core.limits import FileRefused, regular_size
    from studio.core.safe_text import terminal

    try:
        regular_size(path)
    except FileRefused as exc:
        raise ProjectError(f"{what} cannot be read ({path.name}: {exc})") from None
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - a file from elsewhere may make Keras raise anything
        text = " ".join(str(exc).split())[:200]
        raise ProjectError(f"{what} cannot be read ({path.name}: {type(exc).__name__}: {terminal(text)})") from None


class RunFolder:
    """One run's folder: every file a run has, read and written here."""

    def __init__(self, project_root: Path, run_id: str) -> None:
        self.id = check_run_id(run_id)
        self.root = Path(project_root)
        self.path = self.root / RUNS_DIR / run_id

    def checked(self) -> Path:
        """The run folder, made if missing, refused (:class:`LinkRefused`) when it or ``runs/`` is a link."""
        return project_files.check_folder(self.root, self.path, create=True)

    # paths ------------------------------------------------------------------------------------
    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def logs_dir(self) -> Path:
        return self.path / LOGS_DIR

    @property
    def cache_dir(self) -> Path:
        return self.path / CACHE_DIR

    @property
    def report_path(self) -> Path:
        return self.path / REPORT_FILE

    @property
    def known_score_path(self) -> Path:
        return self.path / KNOWN_SCORE_FILE

    @property
    def outputs_path(self) -> Path:
        return self.path / OUTPUTS_FILE

    @property
    def error_path(self) -> Path:
        return self.path / ERROR_FILE

    def has_model(self) -> bool:
        return self.model_path.is_file()

    # writes -----------------------------------------------------------------------------------
    def write_start(self, config: dict[str, Any], labels: list[str]) -> None:
        """What a run starts from: its config (a portable copy beside the model) and its labels."""
        write_json_atomic(self.path / CONFIG_FILE, config, self.root)
        write_json_atomic(self.path / LABELS_FILE, list(labels), self.root)

    def write_history(self, history: dict[str, list[float]]) -> None:
        write_json_atomic(self.path / HISTORY_FILE, history, self.root)

    def write_timings(self, timings: dict[str, Any]) -> None:
        write_json_atomic(self.path / TIMINGS_FILE, timings, self.root)

    def write_report(self, report: dict[str, Any]) -> None:
        write_json_atomic(self.report_path, report, self.root)

    def write_estimates(self, fmt: str, rows: dict[str, dict[str, Any]]) -> None:
        """The measured size and accuracy of each quantization of ``fmt`` (replacing that format's)."""
        data = self.estimates_all()
        data[str(fmt)] = rows
        write_json_atomic(self.path / ESTIMATES_FILE, data)

    def estimates_all(self) -> dict[str, dict[str, dict[str, Any]]]:
        data = _read_json(self.path / ESTIMATES_FILE)
        return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}

    def estimates(self, fmt: str) -> dict[str, dict[str, Any]]:
        """quantization -> numbers, as last measured for ``fmt``; empty when never measured."""
        rows = self.estimates_all().get(str(fmt), {})
        return {str(q): r for q, r in rows.items() if isinstance(r, dict)}

    def write_error(self, text: str) -> None:
        try:
            write_atomic(self.error_path, text, self.root)
        except OSError:
            pass  # a full disk must not hide the run's own failure

    def save_model(self, model: keras.Model) -> None:
        """``model.keras`` appears whole or not at all (Keras wants the .keras suffix on the temporary)."""
        with project_files.temporary_beside(self.root, self.model_path, suffix=".keras") as (_fd, tmp):
            model.save(tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())

    def drop_cache(self) -> None:
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    # reads ------------------------------------------------------------------------------------
    def labels(self) -> list[str]:
        """Class names in the model's output order."""
        return check_labels(_read_json(self.path / LABELS_FILE), self.id)

    def history(self) -> dict[str, list[float]]:
        """metric -> per-epoch values (empty lists when the run saved none)."""
        data = _read_json(self.path / HISTORY_FILE)
        out: dict[str, list[float]] = {m: [] for m in HISTORY_METRICS}
        if isinstance(data, dict):
            for m in HISTORY_METRICS:
                if isinstance(data.get(m), list):
                    out[m] = [float(v) for v in data[m] if isinstance(v, (int, float))]
        return out

    def timings(self) -> dict[str, Any]:
        data = _read_json(self.path / TIMINGS_FILE)
        return data if isinstance(data, dict) else {}

    def report(self) -> dict[str, Any] | None:
        data = _read_json(self.report_path)
        return data if isinstance(data, dict) else None

    def load_model(self) -> keras.Model:
        """The run's model (Keras safe mode: no code from the file runs), checked against its labels."""
        if not self.has_model():
            raise ProjectError(f"run {self.id} has no saved model ({MODEL_FILE} is missing)")
        model = load_keras(self.model_path, f"the model of run {self.id}")
        outputs = model.output_shape[-1] if isinstance(model.output_shape, tuple) else None
        labels = self.labels()
        if outputs != len(labels):
            raise ProjectError(f"run {self.id}: {LABELS_FILE} names {len(labels)} classes but the model has "
                               f"{outputs} outputs; the run folder was changed")
        return model

    # the owner lock ---------------------------------------------------------------------------
    def take_ownership(self) -> RunOwner:
        return RunOwner.acquire(self.path / LOCK_FILE)

    def has_owner(self) -> bool:
        """True while a live process holds the run's lock."""
        return RunOwner.is_held(self.path / LOCK_FILE)


_NO_LINK = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class RunOwner:
    """An exclusive advisory lock held by the process that trains a run; the OS drops it when the process
    dies, however it dies. ``flock`` locks belong to an open file, so another thread of the same process
    that checks the lock also sees it held."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path) -> RunOwner:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NO_LINK, 0o644)  # never a planted link's target
        if not _lock(fd):
            os.close(fd)
            raise ProjectError(f"run folder {path.parent.name} is in use by another process")
        return cls(fd)

    @staticmethod
    def is_held(path: Path) -> bool:
        try:
            fd = os.open(path, os.O_RDWR | _NO_LINK)  # a link or FIFO planted in a received project: not followed
        except FileNotFoundError:
            return False
        except OSError:
            return True  # cannot tell (read-only media): never settle a run that may be alive
        try:
            if _lock(fd):
                _unlock(fd)
                return False
            return True
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None


def _lock(fd: int) -> bool:
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    except OSError:
        return False


def _unlock(fd: int) -> None:
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


# ----- store operations ------------------------------------------------------------------------------------
def folder(project: Project, run: RunRecord | str) -> RunFolder:
    return RunFolder(project.root, run if isinstance(run, str) else run.id)


def train_config(run: RunRecord) -> TrainConfig:
    """The config a run trained with (the database row; ``config.json`` is its portable copy)."""
    from studio.core.specs import SpecError, TrainConfig

    try:
        return TrainConfig.from_dict(run.config)
    except (SpecError, TypeError, ValueError) as exc:
        raise ProjectError(f"run {run.id} has a damaged config: {exc}") from None


def settle_run(project: Project, run: RunRecord, reason: str = "") -> bool:
    """Mark ``run`` interrupted when it is still queued/running and no live process owns it.

    What the run saved stays; its error says how far it got (and ``reason``, e.g. what its parent saw).
    Returns True when it was settled. A read-only or busy database leaves it as it is.
    """
    if run.status.ended:
        return False
    try:
        run_folder = folder(project, run)
    except ProjectError:
        return False  # an id that is no folder name cannot be checked; shown as it is
    if run_folder.has_owner():
        return False
    saved = run_folder.history()["loss"]
    what = f"{len(saved)} epoch(s) saved" if saved else "nothing was saved"
    message = f"interrupted: the training process ended without finishing the run ({what})"
    if reason:
        message += f": {reason}"
    try:
        return project.update_run(run.id, status=RunStatus.INTERRUPTED, error=message,
                                  only_if=(RunStatus.QUEUED, RunStatus.RUNNING))
    except (sqlite3.OperationalError, ProjectError):  # the project turns SQLite failures into ProjectError
        return False  # read-only media or another writer: reading the project must still work


def settle_stale_runs(project: Project) -> list[str]:
    """:func:`settle_run` on every run; returns the ids of those settled."""
    return [run.id for run in project.runs() if settle_run(project, run)]


def saved_history(project: Project, run_id: str) -> dict[str, list[float]]:
    """A run's saved history, or empty lists when it has none (or its id is no valid folder name)."""
    try:
        return folder(project, run_id).history()
    except ProjectError:
        return {m: [] for m in HISTORY_METRICS}


def delete_run(project: Project, run_id: str) -> None:
    """Remove a run's row and folder. A run whose process is alive is refused."""
    run = project.run(run_id)
    run_folder = folder(project, run)
    if not run.status.ended and run_folder.has_owner():
        raise ProjectError(f"run {run.id} is still training; cancel it first")
    project.delete_run_row(run.id)
    if run_folder.path.is_dir() and not run_folder.path.is_symlink():
        shutil.rmtree(run_folder.path, ignore_errors=True)
    elif run_folder.path.is_symlink():
        run_folder.path.unlink()


def rename_run(project: Project, run_id: str, name: str) -> RunRecord:
    """Give a run a display name ("" clears it); the id and folder stay."""
    clean = " ".join(str(name).split())
    if len(clean) > MAX_RUN_NAME:
        raise ProjectError(f"a run name must be at most {MAX_RUN_NAME} characters")
    project.run(run_id)
    project.set_run_name(run_id, clean or None)
    return project.run(run_id)
