"""Hostile files, generated (no downloads): huge-by-header images, lying and exotic zips, special files.

Huge sizes come from headers, zip directories and sparse files, so nothing here fills the disk or memory.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

DEFLATED, DEFLATE64, ENCRYPTED, STRONG, UTF8 = 8, 9, 0x1, 0x40, 0x800


def png_bytes(seed: int, size: int = 16) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def huge_tiff(path: Path, side: int = 20_000) -> Path:
    """A valid side x side 8-bit gray TIFF, PackBits-compressed zeros: a few MB on disk, side² bytes decoded."""
    row = (b"\x81\x00" * (side // 128)) + (bytes([257 - side % 128, 0]) if side % 128 else b"")
    data = row * side
    entries = [(256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 8), (259, 3, 1, 32773), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, side), (279, 4, 1, len(data))]
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        value = data_offset if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, count) + packed
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + b"\x00\x00\x00\x00" + data)
    return path


def huge_png_header(path: Path, side: int = 30_000) -> Path:
    """A PNG whose IHDR says side x side (its data is a small valid zlib stream of zeros, too short)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 << 20))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def sparse_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that occupies (almost) no disk: ``head`` then a hole."""
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


@dataclass(frozen=True)
class RawMember:
    name: bytes
    payload: bytes  # the stored (compressed) bytes
    crc: int
    size: int  # uncompressed size written in the headers
    method: int = 0
    flags: int = 0


def stored(name: str | bytes, data: bytes, flags: int = 0) -> RawMember:
    raw = name.encode() if isinstance(name, str) else name
    return RawMember(raw, data, zlib.crc32(data), len(data), 0, flags)


@lru_cache(maxsize=2)
def _deflated_zeros(size: int) -> tuple[bytes, int]:
    """Raw deflate of ``size`` zeros (a multiple of 1 MiB), built fast: after a full flush the compressor
    forgets everything, so each further MiB of zeros compresses to the same bytes; repeat them."""
    mib = 1 << 20
    assert size % mib == 0
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b"\x00" * mib) + comp.flush(zlib.Z_FULL_FLUSH)
    chunk, crc = b"\x00" * mib, 0
    for _ in range(size // mib):
        crc = zlib.crc32(chunk, crc)
    return block * (size // mib) + b"\x03\x00", crc  # + an empty final block


def zeros_member(name: str, size: int) -> RawMember:
    """A deflated member of ``size`` zero bytes (1 GiB compresses to about 1 MB): a zip bomb's brick."""
    payload, crc = _deflated_zeros(size)
    return RawMember(name.encode(), payload, crc, size, DEFLATED, 0)


def raw_zip(path: Path, members: list[RawMember]) -> Path:
    """Write a zip by hand, so flags, methods, names and sizes can be anything a hostile archive holds."""
    local, central, offset = [], [], 0
    for m in members:
        fields = struct.pack("<HHHHHIII", 20, m.flags, m.method, 0, 0x21, m.crc, len(m.payload), m.size)
        header = b"PK\x03\x04" + fields + struct.pack("<HH", len(m.name), 0) + m.name
        local.append(header + m.payload)
        central.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields
                       + struct.pack("<HHHHHII", len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
        offset += len(header) + len(m.payload)
    cd = b"".join(central)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(cd), offset, 0)
    path.write_bytes(b"".join(local) + cd + end)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
