"""Decode, validate, hash and thumbnail images with OpenCV, safely against bad and huge files.

The pixel limit is checked from the file header *before* decoding (every accepted format has its size in
the header), so a 20000x20000 PNG or TIFF is rejected without allocating gigabytes; the limits themselves
live in :mod:`studio.core.limits`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio.core.limits import DEFAULT_MAX_PIXELS, MAX_FILE_BYTES, MAX_PIXELS_CEILING, FileRefused, read_regular

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")
# Image formats users have that we do not decode: reported as rejected, never skipped without a word.
UNSUPPORTED_IMAGE_EXTENSIONS = (".heic", ".heif", ".avif", ".svg", ".svgz", ".jxl", ".jp2", ".psd", ".raw",
                                ".cr2", ".nef", ".arw", ".dng", ".ico", ".pdf")
__all__ = ["DEFAULT_MAX_PIXELS", "MAX_FILE_BYTES", "ImageRejected", "DecodedImage", "decode_bytes", "read_file"]

# Import decodes on several threads already; OpenCV's own threads would only compete with them.
cv2.setNumThreads(1)


class ImageRejected(Exception):
    """The file is not an acceptable image; ``str(exc)`` is the reason shown to the user."""


@dataclass(frozen=True)
class DecodedImage:
    sha256: str
    ext: str
    width: int
    height: int
    channels: int
    pixels: np.ndarray  # H x W x 3 BGR (or H x W gray) uint8, EXIF orientation applied


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def unsupported_reason(name: str) -> str | None:
    """The rejection reason for a file named like an image format we do not read, else None."""
    lower = name.lower()
    if not lower.endswith(UNSUPPORTED_IMAGE_EXTENSIONS):
        return None
    for ext in UNSUPPORTED_IMAGE_EXTENSIONS:
        if lower.endswith(ext):
            return f"unsupported image format ({ext[1:].upper()}); convert it to PNG or JPEG"
    return None


def _foreign_format(data: bytes) -> str | None:
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif"):
        return "HEIC/AVIF"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        return "SVG"
    return None


def _sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"BM"):
        return ".bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ".tif"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    return None


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the header without decoding, or None when it cannot be read cheaply."""
    try:
        if fmt == ".png" and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return w, h
        if fmt == ".gif" and len(data) >= 10:
            w, h = struct.unpack("<HH", data[6:10])
            return w, h
        if fmt == ".bmp" and len(data) >= 26:
            if struct.unpack("<I", data[14:18])[0] == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
                return struct.unpack("<HH", data[18:22])
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if fmt == ".jpg":
            return _jpeg_size(data)
        if fmt == ".webp":
            return _webp_size(data)
        if fmt == ".tif":
            return _tiff_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        seg_len = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + seg_len
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return w, h
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    return None


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4)}  # SHORT, LONG


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD, the page OpenCV decodes."""
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    found: dict[int, int] = {}
    for i in range(min(count, 4096)):
        entry = data[offset + 2 + 12 * i: offset + 14 + 12 * i]
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257) and typ in _TIFF_TYPES:
            code, _n = _TIFF_TYPES[typ]
            found[tag] = struct.unpack(order + code, entry[8:8 + _n])[0]
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def decode_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Validate and decode image bytes; raise :class:`ImageRejected` with a user-facing reason."""
    fmt, pixels = _decode(data, max_pixels)
    h, w = pixels.shape[:2]
    channels = 1 if _is_gray(pixels) else 3
    return DecodedImage(hashlib.sha256(data).hexdigest(), fmt, w, h, channels, pixels)


def _decode(data: bytes, max_pixels: int) -> tuple[str, np.ndarray]:
    """(format, BGR pixels) after every validity check; no hashing, so reading stored images stays cheap."""
    if not data:
        raise ImageRejected("empty file")
    fmt = _sniff_format(data)
    if fmt is None:
        foreign = _foreign_format(data)
        if foreign:
            raise ImageRejected(f"unsupported image format ({foreign}); convert it to PNG or JPEG")
        raise ImageRejected("not an image (unknown format)")
    size = header_size(data, fmt)
    if size is None:
        # Never decode what we cannot size first: the decoder would allocate whatever the data asks for.
        raise ImageRejected("corrupt image (no readable size in its header)")
    if size[0] * size[1] > max_pixels:
        raise ImageRejected(
            f"too large: {size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.0f} megapixels "
            f"(limit {max_pixels / 1e6:.0f})")
    buf = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_COLOR applies EXIF orientation (JPEG), takes a GIF's first frame, and drops alpha.
    try:
        pixels = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error:
        pixels = None
    if pixels is None or pixels.size == 0:
        raise ImageRejected("corrupt or truncated image")
    h, w = pixels.shape[:2]
    if w * h > max_pixels:
        raise ImageRejected(f"too large: {w}x{h} (limit {max_pixels / 1e6:.0f} megapixels)")
    if fmt == ".jpg" and _jpeg_truncated(data):
        raise ImageRejected("corrupt or truncated image (JPEG data ends early)")
    return fmt, pixels


def _jpeg_truncated(data: bytes) -> bool:
    # libjpeg fills a truncated scan with grey and only warns; a complete file ends with EOI.
    return not data.rstrip(b"\x00").endswith(b"\xff\xd9")


def _is_gray(pixels: np.ndarray) -> bool:
    """Whether B, G and R are equal everywhere we look: the first row, then a grid of at most 64 x 64 pixels.
    Compared as bytes (every third byte), which for a small image costs a tenth of numpy's comparisons."""
    if pixels.ndim == 2:
        return True
    row = pixels[0].tobytes()
    if not row[0::3] == row[1::3] == row[2::3]:
        return False  # most colour images show it in their first row
    sample = pixels[:: max(1, pixels.shape[0] // 64), :: max(1, pixels.shape[1] // 64)].tobytes()
    return sample[0::3] == sample[1::3] == sample[2::3]


def read_bytes(path: Path | str, *, stat_first: bool = True) -> bytes:
    """The bytes of an image file under the limit policy (regular file, size); ImageRejected otherwise."""
    try:
        return read_regular(path, MAX_FILE_BYTES, stat_first=stat_first)
    except FileRefused as exc:
        raise ImageRejected(str(exc)) from None


def read_file(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, DecodedImage]:
    """Read and validate one file; returns its bytes and the decoded image."""
    data = read_bytes(path)
    return data, decode_bytes(data, max_pixels=max_pixels)


def load_bgr(path: Path, *, max_pixels: int = MAX_PIXELS_CEILING) -> np.ndarray:
    """Decode an image file as 3-channel BGR uint8 (orientation applied); ImageRejected when it cannot be.
    Stored images were validated at import (at most the ceiling); predict passes the import default."""
    return _decode(read_bytes(path), max_pixels=max_pixels)[1]


def load_rgb(path: Path, *, max_pixels: int = MAX_PIXELS_CEILING) -> np.ndarray:
    img = load_bgr(path, max_pixels=max_pixels)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def thumbnail(pixels: np.ndarray, size: int = 128, enlarge: bool = False) -> np.ndarray:
    """Fit inside ``size`` x ``size``, keeping the aspect ratio (area filter for down-scaling). Smaller
    images stay as they are unless ``enlarge``: then those at most half the size are enlarged without
    smoothing (the 64 px demo digits keep crisp strokes) and the others bilinearly."""
    h, w = pixels.shape[:2]
    scale = size / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale == 1 or (scale > 1 and not enlarge) or new == (w, h):
        return pixels.copy()
    interpolation = (cv2.INTER_AREA if scale < 1 else
                     cv2.INTER_NEAREST if max(h, w) * 2 <= size else cv2.INTER_LINEAR)
    return cv2.resize(pixels, new, interpolation=interpolation)
