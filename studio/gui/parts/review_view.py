"""The Review view of the Images page: what the data-health check found, one image (or pair) per row with
the reason and the suggestion. Keys: Enter accepts the suggestion, 1-9 relabel with that class (0 unlabels),
typing a class name then Enter relabels, Delete trashes, Space hides a row that is fine. Every change is an
undo command on the session's stack; rows close by themselves when their images change (and come back on
undo). The check runs in a child process (:class:`HealthJob`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.events import HealthProgress
from studio.core.health.report import HealthReport
from studio.core.project.store import Project
from studio.gui import undo_commands as cmd
from studio.gui.jobs.review_job import HealthJob
from studio.gui.jobs.workers import start_worker
from studio.gui.parts.augment_grid import array_to_qimage
from studio.gui.parts.review_items import SECTIONS, ReviewItem, class_problem_counts, is_open, items_from_report
from studio.gui.parts.why_panel import WhyPanel
from studio.gui.session import Session
from studio.gui.widgets.progress_strip import ProgressStrip

if TYPE_CHECKING:
    import numpy as np

ICON = 72
ItemRole = Qt.ItemDataRole.UserRole + 7
STAGES = {"features": "Reading images through the backbone", "labels": "Checking labels",
          "duplicates": "Looking for copies", "outliers": "Looking for outliers"}


class ReviewList(QListWidget):
    """The list plus the review keys; the view decides what each key does."""

    accept_pressed = Signal()
    digit_pressed = Signal(int)
    delete_pressed = Signal()
    keep_pressed = Signal()
    typed = Signal(str)        # a printable character, or "\b" (backspace) / "" (Escape: clear)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, text = event.key(), event.text()
        plain = not (event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier))
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_pressed.emit()
        elif plain and Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            self.digit_pressed.emit(key - Qt.Key.Key_0)
        elif key == Qt.Key.Key_Delete:
            self.delete_pressed.emit()
        elif key == Qt.Key.Key_Space:
            self.keep_pressed.emit()
        elif key == Qt.Key.Key_Backspace:
            self.typed.emit("\b")
        elif key == Qt.Key.Key_Escape:
            self.typed.emit("")
        elif plain and text and text.isprintable():
            self.typed.emit(text)
        else:
            super().keyPressEvent(event)


class ReviewView(QWidget):
    problem_counts_changed = Signal(dict)   # class name -> open problems
    report_changed = Signal(object)          # the HealthReport shown (or None)
    check_ended = Signal(bool, str)          # a check ended: (it produced a report, the message shown)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewView")
        self.session = session
        self.report: HealthReport | None = None
        self.items: dict[str, list[ReviewItem]] = {}
        self.dismissed: set[tuple] = set()
        self.job: HealthJob | None = None
        self.typed_text = ""
        self._thumbs: dict[int, QPixmap] = {}

        self.check_button = QPushButton("Check data health")
        self.check_button.setObjectName("primaryButton")
        self.check_button.setToolTip("Find likely label mistakes, copies across splits, outliers and labels to "
                                     "suggest, from the pretrained backbone's features (edge-studio health)")
        self.check_button.clicked.connect(lambda: self.run_check())
        self.section_box = QComboBox()
        self.section_box.currentIndexChanged.connect(self._fill_list)
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.list = ReviewList(self)
        self.list.setIconSize(QSize(2 * ICON + 6, ICON))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._show_hint)
        self.list.accept_pressed.connect(self.accept_current)
        self.list.digit_pressed.connect(self.relabel_with_key)
        self.list.delete_pressed.connect(self.trash_current)
        self.list.keep_pressed.connect(self.keep_current)
        self.list.typed.connect(self._typed)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.hint.setMinimumHeight(3 * self.hint.fontMetrics().lineSpacing())  # two lines, never squeezed
        self.progress = ProgressStrip(self)
        self.progress.cancel_requested.connect(self.cancel_check)
        # "Why?" on a likely mislabel: where the latest trained model looked in that image.
        self.why_button = QPushButton("Why?")
        self.why_button.setObjectName("reviewWhyButton")
        self.why_button.setCheckable(True)
        self.why_button.setToolTip("Show where the latest trained model looked in the selected likely mislabel")
        self.why = WhyPanel(compact=True)
        self.why.setVisible(False)
        self.why_button.toggled.connect(self._why_toggled)

        top = QHBoxLayout()
        top.addWidget(self.check_button)
        top.addWidget(self.section_box, 1)
        top.addWidget(self.why_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        body = QHBoxLayout()
        body.addWidget(self.list, 3)
        body.addWidget(self.why, 2)
        layout.addLayout(body, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.progress)

        session.project_changed.connect(self._project_changed)
        session.images_changed.connect(self._fill_list)
        session.classes_changed.connect(self._fill_list)
        self._project_changed(session.project)

    # ----- the check --------------------------------------------------------------------------
    def _project_changed(self, project: Project | None) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job = None
            self.progress.end()
        self.dismissed.clear()
        self._thumbs.clear()
        report = None
        if project is not None:
            from studio.core.health.check import cached_report

            report = cached_report(project)
        self.set_report(report)

    def run_check(self, fresh: bool = False) -> HealthJob | None:
        project = self.session.project
        if project is None or self.job is not None:
            return None
        self.progress.begin("Checking data health…")
        self.check_button.setEnabled(False)
        job = HealthJob(project.root, self, fresh=fresh)
        job.progress.connect(self._progress)
        job.finished.connect(lambda report: self._done(job, report))
        job.cancelled.connect(lambda: self._ended(job, "Health check cancelled", False))
        job.failed.connect(lambda message: self._ended(job, "Health check failed: " + message, False))
        self.job = job.start()
        return job

    def cancel_check(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _progress(self, event: HealthProgress) -> None:
        self.progress.update_progress(event.done, event.total,
                                      f"{STAGES.get(event.stage, event.stage)}: {event.done:,} of {event.total:,}")

    def _done(self, job: HealthJob, report: HealthReport) -> None:
        if job is not self.job:
            return
        self.set_report(report)
        self._ended(job, f"Health check done in {report.seconds:.0f} s", True)

    def _ended(self, job: HealthJob, message: str, ok: bool) -> None:
        if job is not self.job:
            return
        self.job = None
        self.progress.end()
        self.check_button.setEnabled(True)
        self.session.status_message.emit(message)
        if not ok:
            self.summary.setText(message)
        job.deleteLater()
        self.check_ended.emit(ok, message)

    def set_report(self, report: HealthReport | None) -> None:
        self.report = report
        self.items = items_from_report(report) if report is not None else {}
        self._fill_list()
        self.report_changed.emit(report)

    # ----- the list ---------------------------------------------------------------------------
    def _records(self) -> dict:
        project = self.session.project
        if project is None or not self.items:
            return {}
        ids = {i for items in self.items.values() for item in items for i in item.image_ids}
        return {r.id: r for r in project.images(ids=ids) + project.images(ids=ids, trashed=True)}

    def open_items(self, section: str | None = None) -> list[ReviewItem]:
        records = self._records()
        return [item for item in self.items.get(section or self.current_section(), [])
                if is_open(item, records, self.dismissed)]

    def current_section(self) -> str:
        return self.section_box.currentData() or SECTIONS[0][0]

    def _fill_list(self, *_args: object) -> None:
        records = self._records()
        current, current_row = self.current_item(), max(0, self.list.currentRow())
        section = self.current_section()
        self.section_box.blockSignals(True)
        self.section_box.clear()
        for key, title in SECTIONS:
            n = sum(is_open(i, records, self.dismissed) for i in self.items.get(key, []))
            self.section_box.addItem(f"{title} ({n})" if self.report else title, key)
        self.section_box.setCurrentIndex(max(0, self.section_box.findData(section)))
        self.section_box.blockSignals(False)
        self._summarise()
        self.list.clear()
        shown = [i for i in self.items.get(section, []) if is_open(i, records, self.dismissed)]
        for item in shown:
            row = QListWidgetItem(f"{item.title}\n{item.reason}")
            row.setData(ItemRole, item)
            row.setToolTip(item.reason + "\n\n" + item.hint())
            row.setIcon(self._icon(item))
            row.setSizeHint(QSize(0, ICON + 12))
            self.list.addItem(row)
        if shown:
            keys = [i.key for i in shown]
            # The row acted on closes: the next one moves up into its place and is selected.
            index = keys.index(current.key) if current is not None and current.key in keys else current_row
            self.list.setCurrentRow(min(index, len(shown) - 1))
        self._show_hint()
        self.problem_counts_changed.emit(class_problem_counts(self.items, records, self.dismissed))

    def _summarise(self) -> None:
        r = self.report
        if r is None:
            self.summary.setText("No check yet for these images. “Check data health” looks for likely label "
                                 "mistakes, copies shared between training and test, outliers, and suggests "
                                 "labels for unlabelled images.")
            return
        copies = int(r.notes.get("duplicate_copies", len(r.duplicates)))
        groups = int(r.notes.get("duplicate_groups", 0))
        in_groups = f" in {groups:,} group{'s' if groups != 1 else ''}" if groups else ""
        text = (f"{r.images:,} images checked ({r.labelled:,} labelled): {len(r.mislabels)} likely label "
                f"mistakes, {len(r.leaks)} copies across splits ({copies:,} copies in all{in_groups}), "
                f"{len(r.outliers)} outliers, {len(r.suggestions)} suggested labels.")
        if r.warnings:
            text += " " + " ".join(w[0].upper() + w[1:] + "." for w in r.warnings[:3])
        self.summary.setText(text)

    def current_item(self) -> ReviewItem | None:
        row = self.list.currentItem()
        return row.data(ItemRole) if row is not None else None

    def _show_hint(self, *_args: object) -> None:
        item = self.current_item()
        typed = f"  ·  typed: “{self.typed_text}” → {self._match(self.typed_text) or 'no class'}" \
            if self.typed_text else ""
        keys = "Enter accepts · 1-9 or type a class name to relabel · Delete trashes · Space hides · Ctrl+Z undoes"
        self.hint.setText((item.hint() + typed + "\n" if item else "") + keys)
        self._explain_current()

    def _why_toggled(self, on: bool) -> None:
        self.why.setVisible(on)
        self._explain_current()

    def _explain_current(self) -> None:
        if not self.why_button.isChecked():
            return
        project, item = self.session.project, self.current_item()
        if project is None or item is None or item.section != "mislabels":
            self.why.clear("Why? shows where the model looked in a likely label mistake: pick one.")
            return
        from studio.core.project.store import ProjectError

        try:
            run = project.latest_finished_run()
            path = project.image_path(project.image(item.image_ids[0]))
        except ProjectError as exc:
            self.why.clear(f"Train a model first: Why? shows where a trained model looks ({exc}).")
            return
        self.why.explain(project.root, run.id, path, tag=item.image_ids[0])

    # ----- thumbnails -------------------------------------------------------------------------
    def _icon(self, item: ReviewItem) -> QIcon:
        missing = [i for i in item.image_ids if i not in self._thumbs]
        if missing:
            self._load_thumbnails(missing)
        pixmap = QPixmap(2 * ICON + 6, ICON)
        pixmap.fill(Qt.GlobalColor.transparent)
        from PySide6.QtGui import QPainter

        painter = QPainter(pixmap)
        for k, image_id in enumerate(item.image_ids[:2]):
            thumb = self._thumbs.get(image_id)
            if thumb is not None:
                painter.drawPixmap(k * (ICON + 6) + (ICON - thumb.width()) // 2, (ICON - thumb.height()) // 2, thumb)
        painter.end()
        return QIcon(pixmap)

    def _load_thumbnails(self, ids: list[int]) -> None:
        project = self.session.project
        if project is None:
            return
        for i in ids:
            self._thumbs.setdefault(i, QPixmap())  # asked for once
        paths = {r.id: project.image_path(r) for r in project.images(ids=ids) + project.images(ids=ids, trashed=True)}

        def load(progress, cancel) -> dict[int, np.ndarray]:  # noqa: ANN001
            from studio.core.images.imaging import load_rgb, thumbnail

            return {i: thumbnail(load_rgb(Path(p)), ICON, enlarge=True) for i, p in paths.items()}

        def done(result: dict[int, np.ndarray]) -> None:
            for i, pixels in result.items():
                self._thumbs[i] = QPixmap.fromImage(array_to_qimage(pixels))
            for row in range(self.list.count()):
                entry = self.list.item(row)
                item = entry.data(ItemRole)
                if any(i in result for i in item.image_ids):
                    entry.setIcon(self._icon(item))

        start_worker(load, on_finished=done)

    # ----- actions ----------------------------------------------------------------------------
    def accept_current(self) -> None:
        item = self.current_item()
        if item is None:
            return
        if self.typed_text:
            name = self._match(self.typed_text)
            self.typed_text = ""
            if name is not None:
                self._label(item.target, name)
            else:
                self.session.status_message.emit("No class starts with what you typed")
                self._show_hint()
            return
        if item.review_only:
            self.session.status_message.emit(item.hint())
        elif item.suggest_label is not None:
            self._label(item.image_ids[0], item.suggest_label)
        elif item.suggest_trash is not None:
            self._trash(item.suggest_trash)
        else:
            self.session.status_message.emit("Nothing to accept here: Delete trashes it, Space hides it")

    def relabel_with_key(self, digit: int) -> None:
        item, project = self.current_item(), self.session.project
        if item is None or project is None:
            return
        classes = project.classes()
        if digit == 0:
            self._label(item.target, None)
        elif digit <= len(classes):
            self._label(item.target, classes[digit - 1].name)
        else:
            self.session.status_message.emit(f"There is no class {digit}")

    def trash_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self._trash(item.target)

    def keep_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self.dismissed.add(item.key)
            self._fill_list()

    def _typed(self, text: str) -> None:
        self.typed_text = "" if text == "" else self.typed_text[:-1] if text == "\b" else self.typed_text + text
        self._show_hint()

    def _match(self, typed: str) -> str | None:
        project = self.session.project
        names = project.class_names() if project is not None else []
        exact = [n for n in names if n.lower() == typed.lower()]
        starts = [n for n in names if n.lower().startswith(typed.lower())]
        return exact[0] if exact else starts[0] if len(starts) == 1 else None

    def _label(self, image_id: int, class_name: str | None) -> None:
        project = self.session.project
        if project is None:
            return
        info = project.class_by_name(class_name) if class_name is not None else None
        if class_name is not None and info is None:
            self.session.status_message.emit(f"There is no class {class_name!r} any more")
            return
        self.session.undo_stack.push(cmd.LabelImages(self.session, [image_id], info.id if info else None,
                                                     class_name or "unlabelled"))
        self.session.status_message.emit(f"Image {image_id} labelled as {class_name or 'unlabelled'} (Ctrl+Z undoes)")

    def _trash(self, image_id: int) -> None:
        if self.session.project is not None:
            self.session.undo_stack.push(cmd.TrashImages(self.session, [image_id]))
            self.session.status_message.emit(f"Image {image_id} moved to the trash (Ctrl+Z undoes)")

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job.wait(10_000)
