"""The demo project: scikit-learn's bundled handwritten digits (1,797 real scans, 10 classes), no network.

The 8x8 scans are upscaled to 64x64 and drawn as dark ink on white paper, the way a user would hold a
digit up to a webcam.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from studio.core import events
from studio.core.events import CancelToken, Reporter
from studio.core.images.importer import ImportReport, import_paths
from studio.core.project.store import Project, ProjectError

DEMO_SIZE = 64
DEMO_NAME = "Handwritten digits (demo)"


def digit_images(size: int = DEMO_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N x size x size, targets) from scikit-learn's digits, ink dark on light."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    ink = digits.images.astype(np.float32) / 16.0
    out = np.empty((len(ink), size, size), dtype=np.uint8)
    for i, im in enumerate(ink):
        # 1-pixel margin keeps strokes off the border after bicubic upscaling.
        padded = np.pad(im, 1)
        big = cv2.resize(padded, (size, size), interpolation=cv2.INTER_CUBIC)
        out[i] = np.clip(255.0 * (1.0 - big), 0, 255).astype(np.uint8)
    return out, digits.target


def create_demo_project(path: str | Path, *, reporter: Reporter = events.ignore,
                        cancel: CancelToken | None = None, limit: int | None = None) -> tuple[Project, ImportReport]:
    """Create (or complete an interrupted) demo project at ``path``; ``limit`` keeps the first N digits (tests).
    Any other existing project is refused: the demo never adds its digits to, or renames, a user's project."""
    existed = os.path.lexists(Path(path) / Project.DB_NAME)
    project = Project.open_or_create(path)
    name = project.get_meta("name")
    if existed and name != DEMO_NAME and (project.counts_total() or project.runs() or name != Path(path).name):
        project.close()
        raise ProjectError(f"{path} is already a project ({name}); the demo needs a new folder")
    if name != DEMO_NAME:
        project.set_meta("name", DEMO_NAME)
    images, targets = digit_images()
    if limit is not None:
        images, targets = images[:limit], targets[:limit]
    with tempfile.TemporaryDirectory(prefix="studio-demo-") as tmp:
        for i, (img, t) in enumerate(zip(images, targets)):
            folder = Path(tmp) / str(t)
            folder.mkdir(exist_ok=True)
            cv2.imwrite(str(folder / f"digit_{i:04d}.png"), img)
        report = import_paths(project, [tmp], reporter=reporter, cancel=cancel)
    return project, report
