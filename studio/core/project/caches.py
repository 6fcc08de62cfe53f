"""Reading the studio's own caches back from a project folder, which may have been received from someone else.

A cache is never trusted: before anything is decompressed or parsed, the file must be a regular file within a
size limit (never opened blocking: a FIFO or device is refused), and for an ``.npz`` every array's
decompressed size (from the zip directory, and again from the ``.npy`` header) and its dtype and shape must be
what the reader expects; after reading, float arrays must be finite. A cache that fails is reported with one
line (:func:`notice`) and treated as absent, so the caller rebuilds it.

:func:`read_npz` is the one validator; every cache reader passes the arrays it expects (:class:`ArraySpec`).
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.limits import FileRefused, read_regular, regular_size


class CacheInvalid(Exception):
    """A cache file that must not be used; ``str(exc)`` says why in one line."""


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# Where the one-line notices go (the CLI: stderr; a test may collect them).
NOTICE: list[Callable[[str], None]] = [_stderr_line]


def notice(text: str) -> None:
    for sink in NOTICE:
        sink(text)


@dataclass(frozen=True)
class ArraySpec:
    """What one array of a cache must be: dtype (exact, e.g. ``"float32"``, or a kind: ``"U"`` for any unicode
    string), shape with ``None`` for a free dimension (a name in ``same`` ties free dimensions across arrays)."""

    dtype: str
    shape: tuple[int | str | None, ...]
    finite: bool = True


def _dtype_ok(dtype: np.dtype, want: str) -> bool:
    if len(want) == 1:  # a kind: "U" unicode, "f" float ...
        return dtype.kind == want
    return dtype == np.dtype(want)


def _shape_ok(shape: tuple[int, ...], want: tuple[int | str | None, ...], dims: dict[str, int]) -> bool:
    if len(shape) != len(want):
        return False
    for got, w in zip(shape, want):
        if isinstance(w, int) and got != w:
            return False
        if isinstance(w, str):
            if dims.setdefault(w, got) != got:
                return False
    return True


def read_npz(path: Path, expected: Mapping[str, ArraySpec], max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays of ``path`` when it is exactly what ``expected`` describes; else :class:`CacheInvalid`.

    ``max_bytes`` bounds both the file and the decompressed arrays together (checked before reading them)."""
    try:
        raw = read_regular(path, max_bytes)
    except FileRefused as exc:
        raise CacheInvalid(str(exc)) from None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            names = {n.removesuffix(".npy"): n for n in infos}
            if set(names) != set(expected):
                raise CacheInvalid(f"holds {sorted(names)[:6]}, expected {sorted(expected)}")
            total = sum(infos[n].file_size for n in names.values())
            if total > max_bytes:
                raise CacheInvalid(f"its arrays would take {total / 2**20:.0f} MiB (limit {max_bytes / 2**20:.0f} MiB)")
            out: dict[str, np.ndarray] = {}
            dims: dict[str, int] = {}
            for key, spec in expected.items():
                with zf.open(names[key]) as fh:
                    out[key] = _read_array(fh, key, spec, dims, max_bytes)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
        raise CacheInvalid(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from None
    return out


def _read_array(fh: Any, key: str, spec: ArraySpec, dims: dict[str, int], max_bytes: int) -> np.ndarray:
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise CacheInvalid(f"{key}: unsupported .npy version {version}")
    if dtype.hasobject or not _dtype_ok(dtype, spec.dtype):
        raise CacheInvalid(f"{key} has type {dtype}, expected {spec.dtype}")
    if not _shape_ok(tuple(shape), spec.shape, dims):
        raise CacheInvalid(f"{key} has shape {tuple(shape)}, expected {spec.shape}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes > max_bytes:
        raise CacheInvalid(f"{key} would take {nbytes / 2**20:.0f} MiB (limit {max_bytes / 2**20:.0f} MiB)")
    data = fh.read(nbytes + 1)
    if len(data) != nbytes:
        raise CacheInvalid(f"{key} is truncated or has trailing data")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    if spec.finite and dtype.kind in "fc" and not np.isfinite(array).all():
        raise CacheInvalid(f"{key} holds NaN or infinite values")
    return array


def read_json(path: Path, max_bytes: int) -> Any:
    """The JSON value of ``path`` (a regular file of at most ``max_bytes``); else :class:`CacheInvalid`."""
    try:
        raw = read_regular(path, max_bytes)
        return json.loads(raw.decode("utf-8"))
    except FileRefused as exc:
        raise CacheInvalid(str(exc)) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CacheInvalid(f"not valid JSON ({str(exc)[:120]})") from None


def exists(path: Path) -> bool:
    """Whether anything (a file, a link, a FIFO) is at ``path``, without opening it."""
    try:
        Path(path).lstat()
    except OSError:
        return False
    return True


def size_ok(path: Path, max_bytes: int) -> bool:
    try:
        regular_size(path, max_bytes)
    except FileRefused:
        return False
    return True
