"""`edge-studio health`: JSON events then one report object, the cache, and user errors."""

from __future__ import annotations

import json

import cv2
import numpy as np

from studio.cli import main
from studio.core.images.importer import import_paths
from studio.core.project.store import Project


def _shapes(root, n_per_class: int = 12):  # noqa: ANN001, ANN202
    """Three classes of drawn shapes (circle / square / cross) at random places and sizes."""
    rng = np.random.default_rng(0)
    for name in ("circle", "square", "cross"):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(n_per_class):
            img = np.full((64, 64, 3), 255, np.uint8)
            c, r = rng.integers(22, 42, 2), int(rng.integers(10, 20))
            color = tuple(int(v) for v in rng.integers(0, 160, 3))
            if name == "circle":
                cv2.circle(img, (int(c[0]), int(c[1])), r, color, -1)
            elif name == "square":
                cv2.rectangle(img, (int(c[0] - r), int(c[1] - r)), (int(c[0] + r), int(c[1] + r)), color, -1)
            else:
                cv2.line(img, (int(c[0] - r), int(c[1] - r)), (int(c[0] + r), int(c[1] + r)), color, 5)
                cv2.line(img, (int(c[0] - r), int(c[1] + r)), (int(c[0] + r), int(c[1] - r)), color, 5)
            cv2.imwrite(str(folder / f"{i:02d}.png"), img)
    return root


def test_health_json_events_then_report_and_cache(tmp_path, capsys):
    project = Project.create(tmp_path / "p")
    import_paths(project, [str(_shapes(tmp_path / "shapes"))])
    assert main(["health", str(project.root), "--json", "--events"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert {ln["stage"] for ln in lines[:-1]} >= {"features", "labels", "duplicates", "outliers"}
    assert all(ln["event"] == "health_progress" for ln in lines[:-1])
    report = lines[-1]
    assert report["images"] == 36 and report["labelled"] == 36
    assert set(report["classes"]) == {"circle", "square", "cross"}
    assert report["feature_source"].startswith("efficientnet_lite0")
    # Unchanged project: the cached report comes back as it was.
    assert main(["health", str(project.root), "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again == report
    # A label change makes a new report.
    first = project.images()[0]
    project.set_labels([first.id], project.class_by_name("cross").id if first.label != "cross"
                       else project.class_by_name("circle").id)
    assert main(["health", str(project.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fingerprint"] != report["fingerprint"]
    # Text output names the sections.
    assert main(["health", str(project.root)]) == 0
    assert "likely label mistakes" in capsys.readouterr().out


def test_health_user_errors(tmp_path, capsys):
    Project.create(tmp_path / "empty").close()
    assert main(["health", str(tmp_path / "empty")]) == 1
    assert "import some first" in capsys.readouterr().err
    assert main(["health", str(tmp_path / "nowhere")]) == 1
    assert "not a project" in capsys.readouterr().err
