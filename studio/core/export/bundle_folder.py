"""The bundle folder on disk: staged beside its target, swapped in whole, replaced only when it is ours.

A bundle is written into a temporary folder beside ``out`` and renamed into place, so a failure or a killed
process never leaves a half bundle at ``out``. ``--force`` replaces only a folder that is verifiably one of
our bundles: its ``metadata.json`` names our format and its file list equals the files in the folder; any
other folder, a file or a link is refused, so a user's web root is never deleted. Folders and files follow
the process's umask (a web server's user must be able to read them).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from studio.core.errors import ProjectError

METADATA = "metadata.json"
BUNDLE_FORMAT = "edge-studio-web-bundle/1"
_FORMAT_PREFIX = "edge-studio-web-bundle/"
_PARTIAL_MARK = ".partial-"


class ExportError(ProjectError):
    """The export could not be written (message says why and what to do)."""


# ----- what is ours ------------------------------------------------------------------------------------------
def is_our_bundle(path: Path) -> bool:
    """A real folder whose metadata says it is our bundle and whose files are exactly those it lists."""
    if path.is_symlink() or not path.is_dir():
        return False
    try:
        meta = json.loads((path / METADATA).read_text(encoding="utf-8"))
        listed = set(meta["files"]) | {METADATA}
        if not str(meta.get("format", "")).startswith(_FORMAT_PREFIX):
            return False
        present: set[str] = set()
        folders: set[str] = set()
        for p in path.rglob("*"):
            rel = p.relative_to(path).as_posix()
            if p.is_symlink():
                return False
            if p.is_dir():
                folders.add(rel)
            elif p.is_file():
                present.add(rel)
            else:
                return False  # a FIFO, a socket, a device: not something we wrote
    except (OSError, ValueError, KeyError, TypeError):
        return False
    allowed = {a.as_posix() for f in listed for a in Path(f).parents if a != Path(".")}
    return present == listed and folders <= allowed


def _is_our_zip(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read(METADATA).decode("utf-8"))
        return str(meta.get("format", "")).startswith(_FORMAT_PREFIX) and \
            set(zf.namelist()) == set(meta["files"]) | {METADATA}
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return False


def check_target(path: Path, force: bool, *, zip_file: bool = False) -> None:
    """Refuse to write over anything that is not ours to replace."""
    if not (path.exists() or path.is_symlink()):
        return
    if not force:
        raise ExportError(f"{path} already exists; choose another folder or use --force to replace it")
    if zip_file:
        if not _is_our_zip(path):
            raise ExportError(f"{path} exists and is not a zip of a web bundle written by the studio; "
                              "refusing to replace it")
        return
    if path.is_symlink() or not path.is_dir():
        raise ExportError(f"{path} is not a folder; --force replaces only a web bundle folder, never a file")
    if any(path.iterdir()) and not is_our_bundle(path):
        raise ExportError(f"{path} is not a web bundle written by the studio (its metadata.json and files do "
                          "not match); refusing to replace it")


# ----- staging and the swap ----------------------------------------------------------------------------------
def zip_path(out: Path) -> Path:
    return out.with_name(out.name + ".zip")


def _zip_part(out: Path) -> Path:
    return out.with_name(f".{out.name}{_PARTIAL_MARK}{os.getpid()}-zip")


def stage(out: Path) -> Path:
    """A new empty temporary folder beside ``out`` (same file system, so the final rename is atomic),
    readable as the umask allows (``mkdtemp`` alone makes it 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{_PARTIAL_MARK}{os.getpid()}-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def current_umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (and put it straight back)
    os.umask(mask)
    return mask


def remove_stale_partials(out: Path) -> None:
    """Temporary folders left by a killed export of the same target (their process is gone).

    A process killed between moving the old bundle aside and moving the new one in leaves ``...-old``
    and no ``out``: the old bundle is put back rather than deleted.
    """
    if not out.parent.is_dir():
        return
    for p in sorted(out.parent.glob(f".{out.name}{_PARTIAL_MARK}*")):
        pid = p.name[len(f".{out.name}{_PARTIAL_MARK}"):].split("-", 1)[0]
        if not pid.isdigit() or _pid_alive(int(pid)):
            continue
        if p.name.endswith("-old") and p.is_dir() and not (out.exists() or out.is_symlink()):
            os.replace(p, out)
        elif p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_zip(folder: Path, out: Path) -> Path:
    """The zip, written beside the bundle under a temporary name; files at the zip's root (static hosts)."""
    part = _zip_part(out)
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return part


def discard(tmp: Path, out: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    _zip_part(out).unlink(missing_ok=True)


def sync(folder: Path) -> None:
    """Flush every file before the rename, so a crash right after it cannot leave empty files in place."""
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def replace(tmp: Path, out: Path) -> None:
    """Move the finished bundle into place; an old bundle (checked by :func:`check_target`) is moved aside
    first and removed last. Anything that is not a folder is never removed here."""
    old = None
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir():
            raise ExportError(f"{out} is not a folder; refusing to replace it")
        old = out.with_name(f".{out.name}{_PARTIAL_MARK}{os.getpid()}-old")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def finish_zip(part: Path, out: Path) -> Path:
    target = zip_path(out)
    os.replace(part, target)
    return target
