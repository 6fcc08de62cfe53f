"""Live camera preview with a camera picker; capture into a class: one shot, or hold to record a burst."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.images.report import ImportReport
from studio.gui.camera import CameraFeed, import_frames, import_other_frames, list_cameras
from studio.gui.jobs.workers import Worker, start_worker
from studio.gui.session import Session

FLUSH_EVERY = 10  # a long burst is imported in chunks, so a crash mid-burst loses at most this many
OTHER_THINGS_ENTRY = "Background: not a class"  # the capture target for "other things"


class CameraWidget(QWidget):
    captured = Signal(int)   # images added by one finished capture import
    feed_failed = Signal(str)

    def __init__(self, session: Session, source: int | str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraWidget")
        self.session = session
        self.feed: CameraFeed | None = None
        self.total_added = 0
        self._pending: list[np.ndarray] = []
        self._last_seq = -1
        self._workers: list[Worker] = []

        self.picker = QComboBox()
        for cam in list_cameras():
            self.picker.addItem(cam.name, cam.source)
        self.picker.addItem("Video file…", "file")
        self.picker.activated.connect(self._picked)
        self.preview = QLabel("No camera")
        self.preview.setObjectName("cameraPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(320, 240)
        self.class_box = QComboBox()
        self.class_box.setMinimumContentsLength(10)
        self.rate = QSpinBox()
        self.rate.setRange(1, 30)
        self.rate.setValue(5)
        self.rate.setSuffix(" per second")
        self.shot_button = QPushButton("Capture")
        self.shot_button.setObjectName("primaryButton")
        self.shot_button.clicked.connect(self.capture_one)
        self.hold_button = QPushButton("Hold to record")
        self.hold_button.setToolTip("Keeps capturing at the chosen rate while the button is held down")
        self.hold_button.pressed.connect(self.start_burst)
        self.hold_button.released.connect(self.stop_burst)
        self.status = QLabel("Capture takes one picture; hold “Hold to record” to take pictures at the chosen rate.")
        self.status.setObjectName("hint")
        self._burst = QTimer(self)
        self._burst.timeout.connect(self._burst_tick)

        top = QHBoxLayout()
        top.addWidget(QLabel("Camera:"))
        top.addWidget(self.picker, 1)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Into class:"))
        controls.addWidget(self.class_box)
        controls.addStretch(1)
        controls.addWidget(self.rate)
        controls.addWidget(self.hold_button)
        controls.addWidget(self.shot_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.preview, 1)
        layout.addLayout(controls)
        layout.addWidget(self.status)

        session.classes_changed.connect(self._fill_classes)
        session.project_changed.connect(self._fill_classes)
        self._fill_classes()
        if source is not None:
            self.set_source(source)
        elif self.picker.count() > 1:
            self.set_source(self.picker.itemData(0))
        else:
            self.preview.setText("No camera found.\nPick a video file to try capture without one.")

    # ----- source -----------------------------------------------------------------------------
    def _picked(self, index: int) -> None:
        data = self.picker.itemData(index)
        if data == "file":
            path, _ = QFileDialog.getOpenFileName(self, "Video file", "", "Videos (*.mp4 *.avi *.mkv *.mov *.webm)")
            if path:
                self.set_source(path)
        else:
            self.set_source(data)

    def set_source(self, source: int | str) -> None:
        self.stop()
        index = self.picker.findData(source)
        if index < 0:  # a video file: list it by name so the picker says what is playing
            from pathlib import Path

            self.picker.insertItem(self.picker.count() - 1, f"Video: {Path(str(source)).name}", source)
            index = self.picker.findData(source)
        self.picker.setCurrentIndex(index)
        # Unparented: the feed must outlive the widget's C++ side until its thread has stopped.
        self.feed = CameraFeed(source)
        self.feed.frame_ready.connect(self._show_frame)
        self.feed.failed.connect(self._failed)
        self.preview.setText("Opening the camera…")
        self.feed.start()

    def stop(self) -> None:
        self._burst.stop()
        if self.feed is not None:
            self.feed.stop()
            self.feed = None

    def _failed(self, message: str) -> None:
        self.preview.setText(message)
        self.feed_failed.emit(message)

    def _show_frame(self, image: QImage) -> None:
        pm = QPixmap.fromImage(image).scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(pm)

    def _fill_classes(self, *_args: object) -> None:
        current = self.class_box.currentText()
        self.class_box.clear()
        project = self.session.project
        names = project.class_names() if project is not None else []
        self.class_box.addItems(names or ["captured"])
        # Background pictures are "other things": never a class, they check "Not one of the classes".
        self.class_box.addItem(OTHER_THINGS_ENTRY)
        if current in names or current == OTHER_THINGS_ENTRY:
            self.class_box.setCurrentText(current)
        self.class_box.setEditable(True)  # typing a new name makes a new class on import

    # ----- capture ----------------------------------------------------------------------------
    def _grab(self) -> np.ndarray | None:
        if self.feed is None:
            return None
        seq, frame = self.feed.latest()
        if frame is None or seq == self._last_seq:  # the same frame twice would only be a duplicate
            return None
        self._last_seq = seq
        return frame

    def capture_one(self) -> None:
        if self.feed is None:
            self.status.setText("Nothing to capture: no camera is open. Connect a camera and pick it above, or "
                                "pick “Video file…” to capture from a recording.")
            return
        frame = self._grab()
        if frame is None:
            self.status.setText("No new picture from the camera yet; wait for the preview to show it, then "
                                "capture again.")
            return
        self._pending.append(frame)
        self._flush()

    def start_burst(self) -> None:
        if self.feed is None:
            self.capture_one()  # says why nothing can be recorded
            return
        self._burst.start(max(1, round(1000 / self.rate.value())))
        self.hold_button.setText("Recording…")
        self._burst_tick()

    def stop_burst(self) -> None:
        if not self._burst.isActive():
            self._flush()
            return
        self._burst.stop()
        self.hold_button.setText("Hold to record")
        self._flush()

    @property
    def recording(self) -> bool:
        return self._burst.isActive()

    def _burst_tick(self) -> None:
        frame = self._grab()
        if frame is not None:
            self._pending.append(frame)
            self.status.setText(f"Recording: {len(self._pending)} frames")
            if len(self._pending) >= FLUSH_EVERY:
                self._flush()

    def _flush(self) -> None:
        project = self.session.project
        if not self._pending or project is None:
            return
        frames, self._pending = self._pending, []
        label = self.class_box.currentText().strip() or None
        if label == OTHER_THINGS_ENTRY:
            worker = start_worker(import_other_frames, project, frames, on_finished=self._imported_others,
                                  on_errored=lambda exc: self.status.setText(f"Capture failed: {exc}"))
            self._workers.append(worker)
            return
        worker = start_worker(import_frames, project, frames, label, on_finished=self._imported,
                              on_errored=lambda exc: self.status.setText(f"Capture failed: {exc}"))
        self._workers.append(worker)

    def _imported(self, report: ImportReport) -> None:
        self._workers = [w for w in self._workers if w.is_running]
        self.total_added += len(report.added)
        self.status.setText(f"{self.total_added} image{'s' if self.total_added != 1 else ''} captured")
        self.session.images_changed.emit()
        self.session.classes_changed.emit()
        self.captured.emit(len(report.added))

    def _imported_others(self, added: int) -> None:
        self._workers = [w for w in self._workers if w.is_running]
        self.total_added += added
        self.status.setText(f"{self.total_added} picture{'s' if self.total_added != 1 else ''} captured as "
                            "background (not a class)")

    def hideEvent(self, event) -> None:  # noqa: ANN001
        # A hidden preview keeps no camera open (and the camera light goes off).
        self.stop_burst()
        self.stop()
        super().hideEvent(event)


class CameraDialog(QDialog):
    def __init__(self, session: Session, source: int | str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Capture from camera")
        self.camera = CameraWidget(session, source, self)
        QVBoxLayout(self).addWidget(self.camera)
        self.resize(720, 560)

    def done(self, result: int) -> None:
        self.camera.stop()
        super().done(result)
