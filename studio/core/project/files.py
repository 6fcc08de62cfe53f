"""The one way the studio writes into a project folder. A project may come from someone else (a zip, a shared
drive), so any folder or file in it may be a symbolic link to somewhere outside; nothing written here follows one.

- every folder from the project root down to the file is checked with ``lstat``: a link is refused
  (:class:`LinkRefused`, one line naming it), and the real path must still lie under the project's real path;
- a file is written under a unique temporary name (``mkstemp``: ``O_CREAT | O_EXCL``, so a planted link or
  file of that name is never opened), flushed to disk, then renamed over the target (``rename`` replaces a
  link itself, never the file it points to).

Reads of cached files go through :mod:`studio.core.project.caches`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from studio.core.errors import ProjectError


class LinkRefused(ProjectError):
    """A folder or file the studio would write through is a link (or leads out of the project)."""


def _relative(root: Path, path: Path) -> Path:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        raise LinkRefused(f"{path} is not inside the project {root}; refusing to write there") from None


def check_folder(root: Path, folder: Path, *, create: bool = False) -> Path:
    """``folder`` (inside ``root``) when no part of it below ``root`` is a link and its real path lies under
    the project's; with ``create`` the missing folders are made one by one (each checked). Else LinkRefused."""
    root = Path(root)
    here = root
    for part in _relative(root, folder).parts:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            if not create:
                return Path(folder)
            try:
                os.mkdir(here)
            except FileExistsError:
                pass
            st = os.lstat(here)
        if stat.S_ISLNK(st.st_mode):
            raise LinkRefused(f"{_shown(root, here)} in the project is a link (to {os.readlink(here)}); "
                              "refusing to write through it — replace it with a real folder")
        if not stat.S_ISDIR(st.st_mode):
            raise LinkRefused(f"{_shown(root, here)} in the project is not a folder; refusing to write there")
    real_root, real = os.path.realpath(root), os.path.realpath(folder)
    if os.path.commonpath([real_root, real]) != real_root:
        raise LinkRefused(f"{folder} leads outside the project ({real}); refusing to write there")
    return Path(folder)


def _shown(root: Path, path: Path) -> str:
    try:
        return str(Path(path).relative_to(root)) + "/"
    except ValueError:
        return str(path)


@contextmanager
def temporary_beside(root: Path, target: Path, suffix: str = ".tmp") -> Iterator[tuple[int, Path]]:
    """A new, uniquely named empty file beside ``target`` (``(fd, path)``); renamed over ``target`` when the
    block ends without error, removed otherwise. The folder is checked (and created) first."""
    folder = check_folder(root, Path(target).parent, create=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=suffix, dir=folder)
    try:
        yield fd, Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def write_with(root: Path, target: Path, writer: Callable[[BinaryIO], None]) -> None:
    """Write ``target`` whole or not at all: ``writer(fh)`` fills a unique temporary, fsynced, then renamed."""
    with temporary_beside(root, target) as (fd, _tmp), os.fdopen(os.dup(fd), "wb") as fh:
        writer(fh)
        fh.flush()
        os.fsync(fh.fileno())


def write_atomic(root: Path, target: Path, data: bytes | str) -> None:
    """Write the bytes (or UTF-8 text) ``data`` to ``target`` inside the project ``root``, atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    write_with(root, target, lambda fh: fh.write(raw))
