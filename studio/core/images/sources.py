"""The user's paths -> candidate files (:class:`Source`), plus the items refused before any byte is read.

Folders are walked without following links; a zip is opened once and its central directory read once, so an
import of a zip is linear in its members; a ``path,label`` CSV may be UTF-8 (with or without BOM), UTF-16 (with
BOM) or Latin-1. Every refusal carries its reason; formats we do not read and nested zips are reported, never
skipped without a word. Reading a source goes through :mod:`studio.core.limits` (regular files only, sizes
checked first).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.core.images.imaging import ImageRejected, is_image_name, read_bytes, unsupported_reason
from studio.core.limits import MAX_FILE_BYTES, MAX_LIST_BYTES, MAX_ZIP_MEMBERS, FileRefused, read_regular, regular_size

# Methods the standard library decompresses: stored, deflate, bzip2, lzma. Deflate64 (9), PPMd (98), AES (99)...
# are refused per member, from the directory, before anything is read.
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_ZIP_METHOD_NAMES = {9: "Deflate64", 10: "PKWARE implode", 93: "Zstandard", 95: "XZ", 98: "PPMd", 99: "AES"}
_ZIP_ENCRYPTED, _ZIP_STRONG_ENCRYPTION = 0x1, 0x40
_HEADER_NAMES = ("path", "file", "filename", "image")

Rejection = dict[str, str]


class ZipArchive:
    """A zip opened once for a whole import. Members are read through the one ``ZipFile``: CPython serialises
    its seeks and reads with a lock, so the import threads may share it (each decompresses on its own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._zf = zipfile.ZipFile(self._fh)
        except BaseException:
            self._fh.close()
            raise
        self._lock = threading.Lock()

    def infolist(self) -> list[zipfile.ZipInfo]:
        return self._zf.infolist()

    def read(self, info: zipfile.ZipInfo) -> bytes:
        with self._zf.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:  # the directory lied about the size
            raise ImageRejected(f"file too large (over {MAX_FILE_BYTES / 2**20:.0f} MiB uncompressed)")
        return data

    def close(self) -> None:
        with self._lock:
            self._zf.close()
            self._fh.close()


@dataclass(frozen=True)
class Source:
    """One candidate file: where its bytes are and the label it should get."""

    display: str
    label: str | None
    path: str | None = None  # a file's path as the file system takes it
    archive: ZipArchive | None = None
    member: zipfile.ZipInfo | None = None
    listed_regular: bool = False  # the folder listing said "regular file, not a link" (no stat before reading)

    def read(self) -> bytes:
        """The file's bytes under the limit policy; ImageRejected (with its reason) when it cannot be read."""
        if self.path is not None:
            return read_bytes(self.path, stat_first=not self.listed_regular)
        assert self.archive is not None and self.member is not None
        return self.archive.read(self.member)

    @property
    def name(self) -> str:
        return display_text(self.display.replace("\\", "/").rsplit("/", 1)[-1])


def display_text(text: str) -> str:
    """``text`` as valid Unicode: bytes of a non-UTF-8 file name (surrogate escapes) become U+FFFD, so the
    name can be stored and shown; the file itself is still found through the original path."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def close_sources(sources: Iterable[Source]) -> None:
    for archive in {id(s.archive): s.archive for s in sources if s.archive is not None}.values():
        archive.close()


def collect_sources(paths: Sequence[str | Path], label: str | None = None) -> tuple[list[Source], list[Rejection]]:
    """Expand the user's paths into candidate files; returns (sources, rejected before reading)."""
    sources: list[Source] = []
    rejected: list[Rejection] = []
    for raw in paths:
        p = Path(raw)
        try:
            is_dir = p.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if is_dir:
            _from_folder(p, label, sources, rejected)
            continue
        kind = p.suffix.lower()
        if kind in (".zip", ".csv"):
            try:
                regular_size(p, MAX_LIST_BYTES if kind == ".csv" else 1 << 62)
                if kind == ".zip":
                    _from_zip(p, label, sources, rejected)
                else:
                    _from_csv(p, label, sources, rejected)
            except FileRefused as exc:
                rejected.append({"path": str(p), "reason": str(exc)})
            continue
        if not os.path.lexists(p):
            rejected.append({"path": str(p), "reason": "no such file or folder"})
        elif (reason := unsupported_reason(p.name)) is not None:
            rejected.append({"path": str(p), "reason": reason})
        else:
            sources.append(Source(display=str(p), label=label, path=str(p)))  # special files are refused on read
    return sources, rejected


def _from_folder(root: Path, label: str | None, sources: list[Source], rejected: list[Rejection]) -> None:
    """Files in name order, then each sub-folder in name order (hidden ones left out, links to folders not
    followed); the label is the first folder level below ``root`` unless one is given. ``os.scandir`` is read
    once per folder and its entry types are kept, so a listed regular file is not looked at again before it
    is read."""
    top = os.fspath(root)
    stack: list[tuple[str, str | None]] = [(top, label)]
    while stack:  # depth first, without recursion (a deep tree must not hit Python's recursion limit)
        folder, sub_label = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            rejected.append({"path": str(exc.filename or folder), "reason": f"unreadable folder ({exc.strerror})"})
            continue
        subfolders = []
        for entry in entries:
            fn = entry.name
            if fn.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    subfolders.append((entry.path, entry.name if label is None and folder == top else sub_label))
                continue
            reason = _skip_reason(fn, "in a folder")
            if reason:
                rejected.append({"path": entry.path, "reason": reason})
            elif is_image_name(fn):
                try:
                    regular = entry.is_file(follow_symlinks=False)
                except OSError:
                    regular = False
                sources.append(Source(display=entry.path, label=sub_label, path=entry.path,
                                      listed_regular=regular))
        stack.extend(reversed(subfolders))


def _skip_reason(name: str, where: str) -> str | None:
    """Why a non-image file in a folder or zip is reported (None: an image, or a file silently not ours)."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return f"a zip {where} is not opened; extract it or import it on its own"
    if lower.endswith(".csv"):
        return f"a CSV list {where} is not read; import it on its own"
    return unsupported_reason(name)


def _from_zip(zpath: Path, label: str | None, sources: list[Source], rejected: list[Rejection]) -> None:
    try:
        archive = ZipArchive(zpath)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        reason = f"not a readable zip archive ({exc})"
        if isinstance(exc, UnicodeDecodeError):
            reason = "zip archive with a member name that is not valid UTF-8 (its directory is unreadable)"
        rejected.append({"path": str(zpath), "reason": reason})
        return
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        archive.close()
        rejected.append({"path": str(zpath), "reason": f"zip archive with {len(infos)} entries "
                         f"(limit {MAX_ZIP_MEMBERS})"})
        return
    members = []
    for m in infos:
        # Zips written on Windows (PowerShell 5) separate folders with backslashes.
        parts = tuple(p for p in m.filename.replace("\\", "/").split("/") if p not in ("", "."))
        if m.is_dir() or not parts or parts[0] == "__MACOSX" or m.filename.endswith(("/", "\\")):
            continue
        members.append((m, parts))
    tops = {pp[0] for _m, pp in members if len(pp) > 1}
    # A zip of one folder ("dataset/cats/x.jpg") is read as that folder.
    strip = 1 if len(tops) == 1 and all(len(pp) > 1 for _m, pp in members) else 0
    used = False
    for m, pp in members:
        inner = pp[strip:]
        display = f"{zpath}!{m.filename}"
        if not inner or any(part.startswith(".") for part in inner):
            continue
        reason = _skip_reason(inner[-1], "inside a zip") or _member_problem(m)
        if reason:
            rejected.append({"path": display, "reason": reason})
            continue
        if not is_image_name(inner[-1]):
            continue
        sub_label = label if label is not None else (inner[0] if len(inner) > 1 else None)
        sources.append(Source(display=display, label=sub_label, archive=archive, member=m))
        used = True
    if not used:
        archive.close()


def _member_problem(m: zipfile.ZipInfo) -> str | None:
    if m.flag_bits & (_ZIP_ENCRYPTED | _ZIP_STRONG_ENCRYPTION):
        return "encrypted zip member (password-protected archives are not supported)"
    if m.compress_type not in _ZIP_METHODS:
        method = _ZIP_METHOD_NAMES.get(m.compress_type, f"method {m.compress_type}")
        return f"unsupported zip compression ({method}); re-create the zip with standard Deflate"
    if m.file_size > MAX_FILE_BYTES:
        return f"file too large ({m.file_size / 2**20:.0f} MiB uncompressed, limit {MAX_FILE_BYTES / 2**20:.0f} MiB)"
    return None


def decode_text(data: bytes) -> str:
    """Text of a list file: UTF-8 (BOM optional), UTF-16 with BOM, else Latin-1 (every byte is a character,
    which is what spreadsheet programs on Windows write)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("not valid UTF-16 text") from None
    if b"\x00" in data:
        raise ValueError("binary data or UTF-16 without a byte-order mark; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _from_csv(cpath: Path, label: str | None, sources: list[Source], rejected: list[Rejection]) -> None:
    try:
        text = decode_text(read_regular(cpath, MAX_LIST_BYTES))
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except FileRefused as exc:
        rejected.append({"path": str(cpath), "reason": str(exc)})
        return
    except (ValueError, csv.Error) as exc:
        rejected.append({"path": str(cpath), "reason": f"unreadable CSV ({exc})"})
        return
    for i, row in enumerate(_rows(rows)):
        if i == 0 and row[0].strip().lower() in _HEADER_NAMES:
            continue
        p = Path(row[0].strip())
        if not p.is_absolute():
            p = cpath.parent / p
        row_label = label if label is not None else (row[1].strip() if len(row) > 1 and row[1].strip() else None)
        try:
            regular_size(p)
        except FileRefused as exc:
            why = "but not found" if str(exc) == "no such file or folder" else f"but {exc}"
            rejected.append({"path": str(p), "reason": f"listed in {cpath.name} {why}"})
            continue
        sources.append(Source(display=str(p), label=row_label, path=str(p)))


def _rows(rows: list[list[str]]) -> Iterator[list[str]]:
    for row in rows:
        if row and row[0].strip():
            yield row
