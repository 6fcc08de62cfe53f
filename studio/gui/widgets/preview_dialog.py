"""A large preview of one image with its details; Left/Right (or Up/Down) step through the grid's images.
With a session, the labelling keys and type-to-label work here too: the image is labelled and the next shown.

The full image is decoded on a worker thread; the dialog shows the cached thumbnail until it arrives.
"Why?" lays the heatmap of the latest trained model's evidence over the image (computed on a worker thread)
and keeps it on while stepping through the images.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.images.imaging import load_bgr
from studio.core.project.store import ImageRecord, Project, ProjectError
from studio.gui.jobs.workers import Worker, start_worker
from studio.gui.label_keys import class_keys, plain_text, starts_typing
from studio.gui.parts.type_to_label import TypeToLabel
from studio.gui.parts.why_panel import WhyPanel
from studio.gui.session import Session
from studio.gui.thumbnails import bgr_to_qimage


def _load(project: Project, record: ImageRecord, progress=None, cancel=None) -> tuple[int, QImage]:  # noqa: ANN001
    return record.id, bgr_to_qimage(load_bgr(project.image_path(record)))


class ImagePreviewDialog(QDialog):
    def __init__(self, project: Project, records: Sequence[ImageRecord], index: int,
                 parent: QWidget | None = None, *, session: Session | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("imagePreview")
        self.project, self.records, self.index = project, list(records), index
        self._image: QImage | None = None
        self._worker: Worker | None = None
        self.resize(860, 560)
        self.picture = QLabel()
        self.picture.setObjectName("previewPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(QSize(320, 320))
        self.details = QFormLayout()
        self.details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        side = QWidget()
        side.setObjectName("previewDetails")
        side.setMinimumWidth(200)
        side.setMaximumWidth(280)
        side_layout = QVBoxLayout(side)
        side_layout.addLayout(self.details)
        side_layout.addStretch(1)
        self.type_to_label = TypeToLabel(side)
        self.type_to_label.chosen.connect(self.label_by_name)
        self.type_to_label.finished.connect(lambda: self.setFocus(Qt.FocusReason.OtherFocusReason))
        self.type_to_label.setVisible(session is not None)
        side_layout.addWidget(self.type_to_label)
        self.prev_button = QPushButton("‹ Previous")
        self.next_button = QPushButton("Next ›")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        nav = QHBoxLayout()
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        side_layout.addLayout(nav)
        self.why_button = QPushButton("Why?")
        self.why_button.setObjectName("previewWhyButton")
        self.why_button.setCheckable(True)
        self.why_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.why_button.setToolTip("Show where the latest trained model looked for its answer in this image")
        self.why_button.toggled.connect(self._why_toggled)
        side_layout.addWidget(self.why_button)
        self.why = WhyPanel()
        self.why.setVisible(False)
        layout = QHBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.why, 1)
        layout.addWidget(side)
        for button in (self.prev_button, self.next_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_index(index)

    @property
    def record(self) -> ImageRecord:
        return self.records[self.index]

    def step(self, delta: int) -> None:
        self.show_index(max(0, min(len(self.records) - 1, self.index + delta)))

    def show_index(self, index: int) -> None:
        self.index = index
        rec = self.record
        self.setWindowTitle(f"{rec.original_name} — {index + 1} of {len(self.records)}")
        while self.details.rowCount():
            self.details.removeRow(0)
        added = dt.datetime.fromtimestamp(rec.added_at).strftime("%Y-%m-%d %H:%M")
        rows = [("File", rec.original_name), ("Label", rec.label or "unlabelled"), ("Split", rec.split),
                ("Size", f"{rec.width} × {rec.height} px"), ("Colour", "grey" if rec.channels == 1 else "colour"),
                ("Format", rec.ext.lstrip(".").upper()), ("Added", added), ("SHA-256", rec.sha256[:16] + "…")]
        if rec.trashed_at:
            rows.append(("Status", "in the trash"))
        for name, value in rows:
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.details.addRow(name + ":", label)
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(self.records) - 1)
        self._image = None
        self._explain()
        self.picture.setText("Loading…")
        self._worker = start_worker(_load, self.project, rec, on_finished=self._loaded,
                                    on_errored=lambda exc: self.picture.setText(f"Cannot read this image: {exc}"))

    def _why_toggled(self, on: bool) -> None:
        self.picture.setVisible(not on)
        self.why.setVisible(on)
        self._explain()

    def _explain(self) -> None:
        if not self.why_button.isChecked():
            return
        try:
            run = self.project.latest_finished_run()
        except ProjectError as exc:
            self.why.clear(f"Train a model first: {exc}.")
            return
        self.why.explain(self.project.root, run.id, self.project.image_path(self.record), tag=self.record.id)

    def _loaded(self, result: tuple[int, QImage]) -> None:
        image_id, image = result
        if image_id == self.record.id:  # the user may have moved on already
            self._image = image
            self._fit()

    def _fit(self) -> None:
        if self._image is None:
            return
        area = self.picture.size()
        pm = QPixmap.fromImage(self._image)
        # Small images (the 64 px demo digits) are enlarged without smoothing so pixels stay crisp.
        mode = (Qt.TransformationMode.FastTransformation if self._image.width() < area.width() / 2
                else Qt.TransformationMode.SmoothTransformation)
        self.picture.setPixmap(pm.scaled(area, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    # ----- labelling ---------------------------------------------------------------------------
    def label_current(self, class_id: int | None, name: str) -> None:
        """Label the image shown (one undoable step), then show the next one."""
        if self.session is None:
            return
        from studio.gui.undo_commands import LabelImages

        rec = self.record
        self.session.undo_stack.push(LabelImages(self.session, [rec.id], class_id, name))
        self.records[self.index] = self.project.image(rec.id)
        self.session.status_message.emit(f"Labelled {rec.original_name} as {name}")
        self.show_index(min(self.index + 1, len(self.records) - 1))

    def label_by_name(self, name: str) -> None:
        info = self.project.class_by_name(name)
        if info is None:
            try:
                info = self.project.add_class(name)
            except ProjectError as exc:
                if self.session is not None:
                    self.session.status_message.emit(str(exc))
                return
            if self.session is not None:
                self.session.classes_changed.emit()
        self.label_current(info.id, info.name)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = plain_text(event)
        if self.session is not None and text:
            classes = self.project.classes()
            keys = class_keys(classes)
            if text in keys:
                cid = keys[text]
                self.label_current(cid, next((c.name for c in classes if c.id == cid), "unlabelled"))
                return
            if starts_typing(text, classes):
                self.type_to_label.set_classes(classes)
                self.type_to_label.begin(text)
                return
        if event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_Space):
            self.step(1)
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Backspace):
            self.step(-1)
        elif event.key() == Qt.Key.Key_Home:
            self.show_index(0)
        elif event.key() == Qt.Key.Key_End:
            self.show_index(len(self.records) - 1)
        else:
            super().keyPressEvent(event)
