""""Other things": images that are none of the classes (the room, the desk, a face, a background).

They never become a class and are never trained on: they measure and calibrate the known-vs-unknown score
(:func:`studio.core.evaluation.unsure.calibrate` reports how many of them the page refuses). Rows live in the
project database's ``others`` table; the files are content-addressed under ``<project>/others/`` like images.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.limits import DEFAULT_MAX_PIXELS, os_reason
from studio.core.project.store import Project, ProjectError

OTHERS_DIR = "others"


@dataclass
class OthersReport:
    added: int = 0
    duplicates: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "duplicates": self.duplicates, "rejected": self.rejected}


def file_path(project: Project, sha256: str, ext: str) -> Path:
    return project.root / OTHERS_DIR / sha256[:2] / f"{sha256}{ext}"


def add_paths(project: Project, paths: Sequence[str | Path], max_pixels: int = DEFAULT_MAX_PIXELS) -> OthersReport:
    """Add image files, folders or zips as "other things" (each decoded and checked like an import)."""
    from studio.core.images.imaging import ImageRejected, decode_bytes  # OpenCV: on first use, not at launch
    from studio.core.images.sources import close_sources, collect_sources

    sources, rejected = collect_sources(paths, None)
    report = OthersReport(rejected=list(rejected))
    try:
        known = {r[0] for r in project._query("SELECT sha256 FROM others")}
        for src in sources:
            try:
                data = src.read()
                decoded = decode_bytes(data, max_pixels=max_pixels)
            except ImageRejected as exc:
                report.rejected.append({"path": src.display, "reason": str(exc)})
                continue
            except Exception as exc:  # a damaged zip member or an I/O error costs that one file
                report.rejected.append({"path": src.display, "reason": f"unreadable: {exc}"})
                continue
            if decoded.sha256 in known:
                report.duplicates += 1
                continue
            _store(file_path(project, decoded.sha256, decoded.ext), data)
            with project.transaction() as c:
                c.execute("INSERT INTO others(sha256, original_name, ext, added_at) VALUES (?, ?, ?, ?)",
                          (decoded.sha256, src.name, decoded.ext, time.time()))
            known.add(decoded.sha256)
            report.added += 1
    finally:
        close_sources(sources)
    return report


def paths(project: Project) -> list[Path]:
    rows = project._query("SELECT sha256, ext FROM others ORDER BY id")
    return [file_path(project, r[0], r[1]) for r in rows]


def hashes(project: Project) -> set[str]:
    return {r[0] for r in project._query("SELECT sha256 FROM others")}


def count(project: Project) -> int:
    return int(project._query("SELECT COUNT(*) FROM others")[0][0])


def clear(project: Project) -> int:
    """Remove every "other thing" (rows and files); returns how many there were."""
    files = paths(project)
    with project.transaction() as c:
        c.execute("DELETE FROM others")
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)


def _store(dest: Path, data: bytes) -> None:
    if dest.is_file() and dest.stat().st_size == len(data):
        return
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except OSError as exc:
        raise ProjectError(f"cannot write to the project ({os_reason(exc)})") from None
