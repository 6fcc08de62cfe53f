"""The one size-limit policy for every file the studio reads (import, predict, training), and the one way to
read such a file: only regular files, sizes checked from ``stat`` / a zip's central directory / an image's
header *before* anything is read or decoded.

Why these numbers: a 50-megapixel photo decodes to 150 MB of pixels, which several import threads can hold at
once on a small machine; 256 MiB is far above any real photo file (a 50 MP PNG of noise is ~150 MB) and keeps a
single hostile file well under 1 GB of memory. Labels are class names (``project.MAX_CLASS_NAME``).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

DEFAULT_MAX_PIXELS = 50_000_000  # import and predict: larger images are rejected (``--max-megapixels``)
MAX_PIXELS_CEILING = 200_000_000  # the most ``--max-megapixels`` accepts; stored images are read with it
MAX_FILE_BYTES = 256 * 1024 * 1024  # one image file or zip member (uncompressed, from the zip directory)
MAX_LIST_BYTES = 64 * 1024 * 1024  # a CSV list or a --paths-from file
MAX_ZIP_MEMBERS = 1_000_000  # entries in one zip's central directory


class FileRefused(Exception):
    """The path cannot be read as a data file; ``str(exc)`` is the one-line reason."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def os_reason(exc: OSError) -> str:
    """What the file system said, in plain words (one definition for reads and writes)."""
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno == errno.EROFS:
        return "read-only media (nothing can be written there)"
    if exc.errno == errno.ENOENT:
        return "no such file or folder"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return exc.strerror or str(exc)


def regular_size(path: Path, limit: int = MAX_FILE_BYTES) -> int:
    """The size of ``path`` (symlinks followed) if it is a regular file within ``limit``; else FileRefused."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FileRefused(os_reason(exc)) from None
    except ValueError:  # embedded NUL
        raise FileRefused("invalid file name") from None
    return _regular_within(st, limit)


def _regular_within(st: os.stat_result, limit: int) -> int:
    """``st.st_size`` of a regular file within ``limit``; else FileRefused (for a path's stat and an open file's)."""
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"not a regular file ({_kind(st.st_mode)})")
    if st.st_size > limit:
        raise FileRefused(f"file too large ({st.st_size / 2**20:.0f} MiB, limit {limit / 2**20:.0f} MiB)")
    return st.st_size


def read_regular(path: Path | str, limit: int = MAX_FILE_BYTES, *, stat_first: bool = True) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Opened non-blocking and checked again on the
    open descriptor, so a FIFO or device swapped in after the ``stat`` can neither block nor stream forever.
    ``stat_first=False`` skips the ``stat`` before the ``open`` where the caller's folder listing has just said
    "regular file, not a link" (opening a device can have effects of its own, so an unknown path is looked at
    first); the check on the open descriptor is made either way."""
    if stat_first:
        regular_size(path, limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefused(os_reason(exc)) from None
    except ValueError:  # embedded NUL
        raise FileRefused("invalid file name") from None
    try:
        size = _regular_within(os.fstat(fd), limit)
        # Ask for the size fstat gives (a read of ``limit + 1`` would allocate that much for every file); a
        # short read, a file that grew since, or one that reports no size (/proc) is read on to the limit.
        data = os.read(fd, size + 1)
        if len(data) != size:
            parts, n = [data], len(data)
            while data and n <= limit:
                data = os.read(fd, min(1 << 20, limit + 1 - n))
                parts.append(data)
                n += len(data)
            data = b"".join(parts)
    except OSError as exc:
        raise FileRefused(os_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileRefused(f"file too large (over {limit / 2**20:.0f} MiB)")
    return data


def check_max_pixels(value: int) -> int:
    if not 0 < value <= MAX_PIXELS_CEILING:
        raise ValueError(f"the pixel limit must be between 0 and {MAX_PIXELS_CEILING / 1e6:.0f} megapixels")
    return value
