"""Every accepted format has its size read from the header, since nothing is decoded without it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from studio.core.images.imaging import ImageRejected, decode_bytes, header_size


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tif"])
@pytest.mark.parametrize("channels", [1, 3])
def test_header_size_of_every_written_format(ext: str, channels: int) -> None:
    img = np.random.default_rng(0).integers(0, 256, (23, 37, channels)[:3 if channels == 3 else 2], dtype=np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    data = buf.tobytes()
    fmt = ".jpg" if ext == ".jpg" else ext
    assert header_size(data, fmt) == (37, 23)
    assert decode_bytes(data).width == 37


def test_gif_and_os2_bmp_headers() -> None:
    gif = b"GIF89a" + (37).to_bytes(2, "little") + (23).to_bytes(2, "little") + b"\x00" * 20
    assert header_size(gif, ".gif") == (37, 23)
    os2 = b"BM" + b"\x00" * 12 + (12).to_bytes(4, "little") + (37).to_bytes(2, "little") + \
        (23).to_bytes(2, "little") + b"\x00" * 8
    assert header_size(os2, ".bmp") == (37, 23)


def test_no_readable_size_is_rejected_before_decoding() -> None:
    with pytest.raises(ImageRejected, match="no readable size"):
        decode_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)  # a JPEG with no frame header
