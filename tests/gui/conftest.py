"""GUI test set-up: QSettings and the user data folder in a temp dir, a small real demo project,
and a main window with TensorFlow warm-up off (one test turns it on in a subprocess)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STUDIO_NO_WARMUP"] = "1"


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point QSettings, the demo folder and the Export page's default folder at a temp dir so tests never touch
    the user's own (a bundle exported with the page's default folder used to land in ~/EdgeStudioExports)."""
    from PySide6.QtCore import QSettings

    from studio.gui.pages import export_page

    root = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(root))
    os.environ["STUDIO_DATA_DIR"] = str(root / "data")
    export_page.EXPORTS_HOME = root / "EdgeStudioExports"
    return root


@pytest.fixture(autouse=True)
def clean_settings(isolated_settings: Path, qapp) -> Iterator[None]:  # noqa: ANN001
    from PySide6.QtCore import QSettings

    from studio.gui.app import configure_application

    configure_application(qapp)
    QSettings().clear()
    yield
    # A test's widgets are deleted at its end; a job it started (a heatmap, thumbnails) must not run on into
    # the next test's set-up, which restyles the whole application (as the app's quit does, wait for them).
    from studio.gui.jobs.workers import cancel_all_and_wait

    cancel_all_and_wait()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.core.project.demo import create_demo_project

    path = tmp_path_factory.mktemp("demo-template") / "demo"
    project, _ = create_demo_project(path, limit=200)
    project.close()
    return path


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the 200-image demo project (real SQLite, real PNGs)."""
    dest = tmp_path / "demo"
    shutil.copytree(demo_template, dest)
    return dest


@pytest.fixture
def window(qtbot, demo_path: Path):  # noqa: ANN001, ANN201
    from studio.gui.main_window import MainWindow

    win = MainWindow(warm_up=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(demo_path)
    yield win
    win.close()


def write_images(folder: Path, n: int, *, size: int = 24, seed: int = 0, prefix: str = "img") -> list[Path]:
    """n distinct small PNGs (random noise, so no two are duplicates)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{prefix}_{i:03d}.png"
        cv2.imwrite(str(p), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        paths.append(p)
    return paths
