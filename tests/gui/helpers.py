"""Pieces several GUI tests share: catching URLs the app asks the desktop to open, and a small trained demo."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from studio.core.project.demo import create_demo_project

ROOT = Path(__file__).resolve().parents[2]


class UrlCatcher(QObject):
    """Receives what the app asks the desktop to open, through Qt's own URL-handler hook (no browser)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@contextmanager
def catching_urls(schemes: tuple[str, ...] = ("http", "file")) -> Iterator[UrlCatcher]:
    catcher = UrlCatcher()
    for scheme in schemes:
        QDesktopServices.setUrlHandler(scheme, catcher, "handle")
    try:
        yield catcher
    finally:
        for scheme in schemes:
            QDesktopServices.unsetUrlHandler(scheme)


def trained_demo(path: Path, arch: str, epochs: int) -> Path:
    """A 200-image demo project at 16 px gray with one run trained by the real CLI."""
    project, _ = create_demo_project(path, limit=200)
    project.set_setting("preprocess", {"image_size": 16, "color": "gray"})
    project.close()
    subprocess.run([sys.executable, "-m", "studio", "train", str(path), "--arch", arch, "--epochs", str(epochs),
                    "--json"], cwd=ROOT, capture_output=True, check=True, timeout=600)
    return path


@contextmanager
def export_page_on(qtbot, template: Path, dest: Path, size: tuple[int, int]) -> Iterator[tuple]:  # noqa: ANN001
    """A copy of ``template`` at ``dest`` opened in a real Export page of ``size``: yields (page, project);
    the page is shut down and the project closed afterwards."""
    import shutil

    from studio.core.project.store import Project
    from studio.gui.pages.export_page import ExportPage
    from studio.gui.session import Session

    shutil.copytree(template, dest)
    project = Project.open(dest)
    session = Session()
    session.set_project(project)
    page = ExportPage(session)
    qtbot.addWidget(page)
    page.resize(*size)
    try:
        yield page, project
    finally:
        page.shutdown()
        project.close()
