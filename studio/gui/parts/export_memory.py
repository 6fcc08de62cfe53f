"""What the Export page remembers across restarts: the measured estimates of a run (stored with the run by
``export --estimate``) and the project's last export (a project setting), so a restart neither forgets the
bundle nor measures every quantization again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.core.project.runs import RunFolder
from studio.core.project.store import Project, ProjectError

LAST_EXPORT_SETTING = "last_export"


def stored_estimates(project: Project, run_id: str, fmt: str) -> dict[str, dict[str, Any]]:
    """quantization -> numbers measured earlier for this run and format; empty when never measured."""
    try:
        return RunFolder(project.root, run_id).estimates(fmt)
    except ProjectError:
        return {}


def remember_export(project: Project, result: dict[str, Any]) -> None:
    project.set_setting(LAST_EXPORT_SETTING, result)


def last_export(project: Project) -> dict[str, Any] | None:
    """The project's last export result, when what it wrote is still there."""
    try:
        result = project.get_setting(LAST_EXPORT_SETTING)
    except (ProjectError, ValueError):
        return None
    if not isinstance(result, dict) or not isinstance(result.get("out"), str) or not Path(result["out"]).exists():
        return None
    return result
