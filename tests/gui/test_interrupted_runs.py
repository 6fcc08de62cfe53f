"""A run whose training process was killed reads as interrupted when the studio opens its project."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from studio.core.project.store import Project


def test_the_studio_shows_a_killed_run_as_interrupted(window, tmp_path: Path) -> None:  # noqa: ANN001
    root = tmp_path / "p"
    Project.create(root).close()
    # A process that owns a running run and is killed with SIGKILL, as the OOM killer would.
    code = textwrap.dedent(f"""
        import sys, time
        from studio.core.project.store import Project
        print(Project.open({str(root)!r}).create_run("cnn", {{}}).id, flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    assert window.open_project(root)
    assert window.session.project.run(run_id).status == "interrupted"
    table = window.pages.train.runs_table
    rows = [[table.item(r, c).text() if table.item(r, c) else "" for c in range(table.columnCount())]
            for r in range(table.rowCount())]
    (row,) = [cells for cells in rows if run_id in cells]
    assert "interrupted" in row
