"""Labels inside a ``.tflite`` file, readable without our code.

TensorFlow Lite Support packs a model's associated files as a zip archive appended to the flatbuffer: the
flatbuffer is read by offsets from its start, so interpreters ignore the trailing bytes, while ``unzip -l
model.tflite`` (or Python's ``zipfile``) lists ``labels.txt``. We write the same layout: one label per line, in
the order of the model's output.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

LABELS_FILE = "labels.txt"


def labels_text(labels: Sequence[str]) -> str:
    return "".join(f"{label}\n" for label in labels)


def with_labels(model: bytes, labels: Sequence[str]) -> bytes:
    """``model`` (a TFLite flatbuffer) with a zip holding :data:`LABELS_FILE` appended."""
    buffer = io.BytesIO(model)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as archive:
        # A fixed date: the same labels give the same bytes.
        archive.writestr(zipfile.ZipInfo(LABELS_FILE, date_time=(1980, 1, 1, 0, 0, 0)), labels_text(labels))
    return buffer.getvalue()


def read_labels(model_path: Path) -> list[str]:
    """The labels packed into a ``.tflite`` by :func:`with_labels`."""
    with zipfile.ZipFile(model_path) as archive:
        return archive.read(LABELS_FILE).decode("utf-8").splitlines()
