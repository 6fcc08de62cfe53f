"""Camera capture from a video file (as a webcam stand-in): live preview, one shot, hold-to-record burst."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from studio.gui.camera import CameraFeed, list_cameras
from studio.gui.parts.camera_widget import CameraWidget


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A 3 s, 20 fps MJPEG video whose every frame differs (a moving square and the frame number)."""
    path = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (96, 72))
    assert writer.isOpened()
    for i in range(60):
        frame = np.full((72, 96, 3), 40, np.uint8)
        cv2.rectangle(frame, (i, 20), (i + 20, 40), (0, 200, 255), -1)
        cv2.putText(frame, str(i), (4, 66), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def camera(window, qtbot, video: Path):  # noqa: ANN001, ANN201
    widget = CameraWidget(window.session, str(video))
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.feed.latest()[1] is not None, timeout=10_000)
    yield widget
    widget.stop()


def test_list_cameras_does_not_open_devices() -> None:
    for cam in list_cameras():
        assert isinstance(cam.source, int) and cam.name


def test_feed_reports_a_missing_source(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    feed = CameraFeed(str(tmp_path / "nope.avi"))
    with qtbot.waitSignal(feed.failed, timeout=10_000) as blocker:
        feed.start()
    assert "cannot open" in blocker.args[0]
    feed.stop()


def test_live_preview_and_single_shot_into_a_class(camera: CameraWidget, window, qtbot) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: camera.preview.pixmap() is not None and not camera.preview.pixmap().isNull())
    camera.class_box.setCurrentText("7")
    with qtbot.waitSignal(camera.captured, timeout=20_000) as blocker:
        qtbot.mouseClick(camera.shot_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [1]
    project = window.session.project
    newest = project.images()[-1]
    assert newest.label == "7" and newest.ext == ".png" and (newest.width, newest.height) == (96, 72)
    assert sum(project.counts()["7"].values()) == 21
    qtbot.waitUntil(lambda: window.images_page.model.rowCount() == 201)


def test_hold_to_record_captures_a_burst_into_a_new_class(camera: CameraWidget, window, qtbot) -> None:  # noqa: ANN001
    camera.class_box.setCurrentText("webcam")
    camera.rate.setValue(10)
    qtbot.mousePress(camera.hold_button, Qt.MouseButton.LeftButton)
    assert camera.recording
    qtbot.waitUntil(lambda: len(camera._pending) >= 4, timeout=10_000)
    with qtbot.waitSignal(camera.captured, timeout=20_000):
        qtbot.mouseRelease(camera.hold_button, Qt.MouseButton.LeftButton)
    assert not camera.recording
    qtbot.waitUntil(lambda: not camera._workers or all(not w.is_running for w in camera._workers), timeout=20_000)
    project = window.session.project
    n = sum(project.counts()["webcam"].values())
    assert n >= 4 and n == camera.total_added
    # every captured frame was a different frame: no duplicates were sent to the importer
    assert len({r.sha256 for r in project.images() if r.label == "webcam"}) == n


def test_background_shots_are_other_things_not_a_class(camera: CameraWidget, window, qtbot) -> None:  # noqa: ANN001
    from studio.core.project import others
    from studio.gui.parts.camera_widget import OTHER_THINGS_ENTRY

    project = window.session.project
    classes_before = project.class_names()
    camera.class_box.setCurrentText(OTHER_THINGS_ENTRY)
    qtbot.mouseClick(camera.shot_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "background" in camera.status.text(), timeout=20_000)
    assert others.count(project) == 1 and project.class_names() == classes_before
