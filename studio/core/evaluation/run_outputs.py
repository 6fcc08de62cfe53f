"""A run's outputs (class probabilities and known score) for the project's own images, kept in the run folder
(``outputs.npz``), so an image goes through a run's model once: the unsure rule's calibration (the validation
and "other things" images), the test figures, and every later export, estimate and evaluation reuse them.

A project image's file is named by its content (``images/ab/<sha256><ext>``, ``others/ab/...``) and a finished
run's model never changes, so the outputs of (run, image) never change either. The file also records which
model made them (a hash of the model file and the known score's constants, :func:`model_key`): when either
differs (the constants are fitted again, a received run folder), the whole file is ignored and rewritten.
It is read through :func:`studio.core.project.caches.read_npz` (sizes, dtypes, shapes and finite values
checked first); a damaged file is one notice and is rebuilt. A read-only project is computed, not cached.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np

from studio.core.project import caches as cache_check
from studio.core.project import others
from studio.core.project.files import LinkRefused, write_with
from studio.core.project.store import Project, RunRecord

OUTPUTS_VERSION = 1  # bump when preprocessing or the scored model's outputs change meaning
_CONTENT_NAME = re.compile(r"[0-9a-f]{64}")
_CONTENT_FOLDERS = ("images", others.OTHERS_DIR)  # the project's content-addressed folders (Project.image_path)
_ROW_BYTES = 64 * 4 + 256  # a sha256 as a NumPy unicode string, and zip and header overhead


def content_key(project: Project, path: str | Path) -> str | None:
    """The sha256 a project image's file is named by; None for a file outside the project's image folders."""
    p = Path(path)
    if (_CONTENT_NAME.fullmatch(p.stem) and p.parent.name == p.stem[:2]
            and p.parent.parent.name in _CONTENT_FOLDERS and p.parent.parent.parent == project.root):
        return p.stem
    return None


def model_key(project: Project, run: RunRecord) -> str:
    """What the outputs depend on besides the image: the model file and the known score's constants (hashed)."""
    folder = project.run_folder(run)
    h = hashlib.sha256(f"v{OUTPUTS_VERSION}".encode())
    for path in (folder.model_path, folder.known_score_path):
        h.update(b"\0")
        try:
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            h.update(b"missing")
    return h.hexdigest()


def _expected(n_classes: int) -> dict[str, cache_check.ArraySpec]:
    return {"model": cache_check.ArraySpec("U", ()), "sha256": cache_check.ArraySpec("U", ("n",)),
            "probabilities": cache_check.ArraySpec("float32", ("n", n_classes)),
            "known_score": cache_check.ArraySpec("float32", ("n",))}


def read(project: Project, run: RunRecord, n_classes: int) -> dict[str, tuple[np.ndarray, float]]:
    """The kept outputs by image sha256 (empty when there are none, or they are from another model)."""
    path = project.run_folder(run).outputs_path
    if not cache_check.exists(path):
        return {}
    limit = (len(project.known_hashes()) + others.count(project) + 1) * (_ROW_BYTES + 4 * (n_classes + 1)) + 4096
    try:
        arrays = cache_check.read_npz(path, _expected(n_classes), limit)
    except cache_check.CacheInvalid as exc:
        cache_check.notice(f"{path.name} of run {run.id} not used ({exc}); the model runs again")
        return {}
    if str(arrays["model"]) != model_key(project, run):
        return {}
    return {str(s): (p, float(k)) for s, p, k in zip(arrays["sha256"], arrays["probabilities"],
                                                     arrays["known_score"])}


def write(project: Project, run: RunRecord, outputs: dict[str, tuple[np.ndarray, float]], n_classes: int) -> None:
    """Keep ``outputs`` (what :func:`read` gave plus the new ones) of the images the project still holds (so the
    file never outgrows :func:`read`'s limit), written atomically."""
    present = project.known_hashes() | others.hashes(project)
    shas = sorted(s for s in outputs if s in present)

    def writer(fh: BinaryIO) -> None:
        np.savez(fh, model=np.asarray(model_key(project, run)), sha256=np.asarray(shas, dtype=str),
                 probabilities=(np.stack([outputs[s][0] for s in shas]).astype(np.float32) if shas
                                else np.zeros((0, n_classes), np.float32)),
                 known_score=np.asarray([outputs[s][1] for s in shas], np.float32))
    path = project.run_folder(run).outputs_path
    try:
        write_with(project.root, path, writer)
    except OSError:
        pass  # a read-only or full project still gets its outputs, only not kept
    except LinkRefused as exc:  # a received project's run folder that leads elsewhere: answer, keep nothing
        cache_check.notice(f"{path.name} of run {run.id} not kept ({exc})")
