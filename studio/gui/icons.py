"""Icons and the style sheet from ``resources/`` (next to the package in a checkout and in the bundle)."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` (an empty icon when missing, never an error)."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def app_icon() -> QIcon:
    return QIcon(str(resources_dir() / "app-icon.svg"))


def style_sheet() -> str:
    path = resources_dir() / "style.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
