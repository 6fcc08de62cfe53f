"""The Images page: import (drop, dialogs, camera), the thumbnail grid, filters and fast labelling.

The page reads and changes the project through ``session``; every change is one committed transaction
wrapped in an undo command, followed by ``images_changed`` / ``classes_changed`` so other pages refresh.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QDrag, QKeyEvent, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.events import ImportProgress
from studio.core.images.report import ImportReport
from studio.core.project.store import SPLITS, ProjectError
from studio.gui import undo_commands as cmd
from studio.gui.icons import icon
from studio.gui.jobs.import_process import ImportJob
from studio.gui.jobs.workers import Worker, start_worker
from studio.gui.label_keys import class_keys, plain_text, starts_typing
from studio.gui.parts.class_panel import ClassPanel
from studio.gui.parts.import_report import ImportReportDialog, summary_text
from studio.gui.parts.review_view import ReviewView
from studio.gui.parts.type_to_label import TypeToLabel
from studio.gui.session import Session
from studio.gui.thumbnails import ThumbnailCache
from studio.gui.widgets.empty_state import EmptyState
from studio.gui.widgets.progress_strip import ProgressStrip
from studio.gui.widgets.thumbnail_grid import THUMB_BOX, ImageListModel, ThumbnailView

APPEND_EVERY_S = 1.0  # how often an import in progress shows its new images
IMPORT_FILTER = "Images, zips and CSV lists (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.gif *.zip *.csv)"


class ImageGrid(ThumbnailView):
    """The grid; its keys go to the page first (labelling keys, typing, Space/Enter preview, Delete)."""

    def __init__(self, model: ImageListModel, page: ImagesPage) -> None:
        super().__init__(model, page)
        self.page = page

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        if not self.page.handle_key(event, in_grid=True):
            super().keyPressEvent(event)

    def startDrag(self, actions: Qt.DropAction) -> None:  # noqa: N802 (Qt name)
        """The drag image sits beside the cursor (below right), so the class it is dropped on stays visible."""
        indexes = self.selectedIndexes()
        if not indexes:
            return
        mime = self.model().mimeData(indexes)
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(drag_badge(self, len(indexes)))
        drag.setHotSpot(QPoint(-18, -18))
        drag.exec(Qt.DropAction.CopyAction)


def drag_badge(widget: QWidget, n: int) -> QPixmap:
    """A small label for a drag: '3 images'."""
    text = f"{n:,} image{'s' if n != 1 else ''}"
    metrics = widget.fontMetrics()
    pm = QPixmap(metrics.horizontalAdvance(text) + 20, metrics.height() + 10)
    pm.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#1565c0"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(pm.rect(), 8, 8)
    painter.setPen(QColor("white"))
    painter.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pm


class ImagesPage(QWidget):
    import_finished = Signal(object)  # the ImportReport
    refreshed = Signal()              # the grid shows the project's current state

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imagesPage")
        self.session = session
        self.cache: ThumbnailCache | None = None
        self.import_job: ImportJob | None = None
        self._last_progress_paint = 0.0
        self._classes_before_import: list[str] = []
        self.last_report: ImportReport | None = None
        self.last_report_dialog: ImportReportDialog | None = None
        self.last_error_box = None
        self.show_reports = True  # the benchmark turns the dialog off
        self.preview_dialog = None
        self.camera_dialog = None
        # Several change signals in a row cost one reload; a child timer dies with the page.
        self._refresh_timer = QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self._refresh_in_background)
        self._refresh_worker: Worker | None = None
        self._refresh_again = False
        self._append_only = False
        self._last_append = 0.0
        self._generation = 0

        self.model = ImageListModel(self)
        self.grid = ImageGrid(self.model, self)
        self.grid.doubleClicked.connect(self._open_preview)
        self.grid.selectionModel().selectionChanged.connect(self._update_counts)

        self.class_panel = ClassPanel(session, self)
        self.class_panel.label_requested.connect(self.label_selection)
        self.class_panel.label_ids_requested.connect(self.label_ids)
        self.class_panel.dialog_closed.connect(lambda: self.grid.setFocus(Qt.FocusReason.OtherFocusReason))

        self.empty = EmptyState(icon("drop"), self)
        self.empty.add_button("Import images…", primary=True).clicked.connect(self.ask_import_files)
        self.empty.add_button("Import a folder…").clicked.connect(self.ask_import_folder)
        self.empty.add_button("Use the camera…").clicked.connect(lambda: self.open_camera())
        self.empty.finish_buttons()
        self.views = QStackedWidget()
        self.views.addWidget(self.empty)
        self.views.addWidget(self.grid)
        # Data health (issue 15): the Review view shares the page's stack and feeds the class panel's counts.
        self.review = ReviewView(session, self)
        self.review.problem_counts_changed.connect(self.class_panel.set_problem_counts)
        self.views.addWidget(self.review)

        self.progress = ProgressStrip(self)
        self.progress.cancel_requested.connect(self.cancel_import)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addWidget(self._build_toolbar())
        left_layout.addWidget(self.views, 1)
        left_layout.addWidget(self._build_footer())
        left_layout.addWidget(self.progress)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.class_panel)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([790, 300])
        splitter.setChildrenCollapsible(False)
        self.class_panel.setMinimumWidth(210)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        # Labelling keys work wherever the focus is on this page: widgets that would swallow them (the
        # filter boxes search their items by key) hand them over first; the others pass them up to the page.
        for widget in (self.filter_box, self.split_box, self.import_button, self.camera_button):
            widget.installEventFilter(self)
        select_all = QShortcut(QKeySequence.StandardKey.SelectAll, self)
        select_all.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        select_all.activated.connect(self.select_all)

        session.project_changed.connect(self._project_changed)
        session.images_changed.connect(self.schedule_refresh)
        session.classes_changed.connect(self._classes_changed)
        self._project_changed(session.project)

    # ----- layout -------------------------------------------------------------------------------
    def _build_toolbar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("pageToolbar")
        self.import_button = QToolButton()
        self.import_button.setText("Import")
        self.import_button.setIcon(icon("import"))
        self.import_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.import_button.setObjectName("primaryToolButton")
        self.import_button.clicked.connect(self.ask_import_files)
        menu = QMenu(self.import_button)
        menu.addAction("Images, zips or CSV lists…", self.ask_import_files)
        menu.addAction("A folder (subfolders become classes)…", self.ask_import_folder)
        self.import_button.setMenu(menu)
        self.camera_button = QToolButton()
        self.camera_button.setText("Camera")
        self.camera_button.setIcon(icon("camera"))
        # Icon only: with Import, Review and the filters the toolbar must fit a 1024-px-wide window.
        self.camera_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.camera_button.setToolTip("Camera: capture images from a webcam into the project")
        self.camera_button.clicked.connect(lambda: self.open_camera())
        self.review_button = QToolButton()
        self.review_button.setText("Review")
        self.review_button.setCheckable(True)
        self.review_button.setToolTip("Review what the data-health check found: likely label mistakes, copies "
                                      "across splits, outliers, suggested labels")
        self.review_button.toggled.connect(self.show_review)
        self.filter_box = QComboBox()
        self.filter_box.setMinimumContentsLength(6)
        self.filter_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.filter_box.setToolTip("Show all images, the unlabelled ones, one class, or the trash")
        self.filter_box.currentIndexChanged.connect(self.schedule_refresh)
        self.split_box = QComboBox()
        self.split_box.setMinimumContentsLength(6)
        self.split_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.split_box.addItem("All splits", None)
        for split in SPLITS:
            self.split_box.addItem({"train": "Training", "val": "Validation", "test": "Test"}[split], split)
        self.split_box.currentIndexChanged.connect(self.schedule_refresh)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search file names")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(60)
        self.search.setMaximumWidth(320)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.schedule_refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(8)
        layout.addWidget(self.import_button)
        layout.addWidget(self.camera_button)
        layout.addWidget(self.review_button)
        layout.addSpacing(4)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.split_box)
        layout.addWidget(self.search, 1)
        return bar

    def _build_footer(self) -> QWidget:
        """The count and the trash's Restore button live under the grid, so neither widens the toolbar."""
        bar = QWidget()
        bar.setObjectName("gridFooter")
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        self.restore_button = QPushButton("Restore selected")
        self.restore_button.clicked.connect(self.restore_selection)
        self.restore_button.hide()
        self.type_to_label = TypeToLabel(bar)
        self.type_to_label.setMaximumWidth(300)
        self.type_to_label.chosen.connect(self.label_selection_by_name)
        self.type_to_label.finished.connect(lambda: self.grid.setFocus(Qt.FocusReason.OtherFocusReason))
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(14, 2, 14, 4)
        layout.addWidget(self.count_label)
        layout.addStretch(1)
        layout.addWidget(self.type_to_label, 2)
        layout.addWidget(self.restore_button)
        return bar

    # ----- project and refresh ----------------------------------------------------------------
    def _project_changed(self, project) -> None:  # noqa: ANN001
        job = self.import_job
        if job is not None:  # an import into the previous project stops after its current batch, unseen
            job.cancel()
            self._end_import(None)
            job.finished.connect(job.deleteLater)
            job.failed.connect(job.deleteLater)
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        if project is not None:
            self.cache = ThumbnailCache(project, parent=self, display_box=THUMB_BOX)
        self.model.set_cache(self.cache)
        self._fill_filter_box()
        self.refresh()

    def _classes_changed(self) -> None:
        self._fill_filter_box()
        self.schedule_refresh()

    def _fill_filter_box(self) -> None:
        current = self.filter_box.currentData()
        self.filter_box.blockSignals(True)
        self.filter_box.clear()
        self.filter_box.addItem("All images", "all")
        self.filter_box.addItem("Unlabelled", "unlabelled")
        for info in self.class_panel.classes():
            self.filter_box.addItem(f"Class: {info.name}", f"class:{info.id}")
        self.filter_box.addItem("Trash", "trash")
        index = self.filter_box.findData(current) if current is not None else 0
        self.filter_box.setCurrentIndex(max(0, index))
        self.filter_box.blockSignals(False)

    def set_filter(self, kind: str, class_id: int | None = None, split: str | None = None,
                   search: str = "") -> None:
        """Show ``all`` / ``unlabelled`` / ``class`` (with class_id) / ``trash``, within a split and search."""
        key = f"class:{class_id}" if kind == "class" else kind
        self.filter_box.setCurrentIndex(max(0, self.filter_box.findData(key)))
        self.split_box.setCurrentIndex(self.split_box.findData(split) if split else 0)
        self.search.setText(search)
        self.refresh()

    def current_filter(self) -> tuple[str, int | None]:
        """(kind, class_id): kind is all / unlabelled / class / trash."""
        data = self.filter_box.currentData() or "all"
        if data.startswith("class:"):
            return "class", int(data.split(":", 1)[1])
        return data, None

    def schedule_refresh(self, *_args: object) -> None:
        self._append_only = False
        self._refresh_timer.start()

    def _schedule_append(self) -> None:
        """Show images an import has added so far: only rows newer than the last one shown are read, so
        a 20,000-image project costs the same as an empty one (unless a full reload is already due)."""
        if not self._refresh_timer.isActive():
            self._append_only = True
            self._refresh_timer.start()

    def _query(self) -> dict:
        kind, class_id = self.current_filter()
        return {"class_id": class_id if kind == "class" else None, "unlabelled": kind == "unlabelled",
                "trashed": kind == "trash", "split": self.split_box.currentData(),
                "search": self.search.text().strip() or None}

    def refresh(self) -> None:
        """Reload now, on the UI thread (filter changes: the user waits for the new view anyway)."""
        self._refresh_timer.stop()
        self._generation += 1
        project = self.session.project
        self.restore_button.setVisible(self.current_filter()[0] == "trash")
        if project is None:
            self.model.set_records([], [])
            self._update_views(0)
            return
        self._apply(self._generation, project, (project.images(**self._query()), project.classes()))

    def _refresh_in_background(self) -> None:
        """Reload after a change signal: the query runs on a worker, so a 20,000-image project costs the
        UI thread only the model update."""
        project = self.session.project
        if project is None:
            self.refresh()
            return
        if self._refresh_worker is not None:
            self._refresh_again = True
            return
        self._generation += 1
        generation, query = self._generation, self._query()
        after = self.model.last_id() if self._append_only else None
        self._append_only = False

        def fetch(progress, cancel) -> tuple:  # noqa: ANN001
            return project.images(**query, after_id=after), project.classes()

        def done(result: tuple) -> None:
            self._refresh_worker = None
            if after is not None:
                records, classes = result
                result = (self.model.records_view() + records, classes)
            self._apply(generation, project, result)
            if self._refresh_again:
                self._refresh_again = False
                self.schedule_refresh()

        def failed(exc: BaseException) -> None:
            self._refresh_worker = None

        self._refresh_worker = start_worker(fetch, on_finished=done, on_errored=failed)

    def _apply(self, generation: int, project, result: tuple) -> None:  # noqa: ANN001
        # A newer reload (or another project) has superseded this one.
        if generation != self._generation or project is not self.session.project:
            return
        records, classes = result
        selected = self.grid.selected_ids()
        if self.model.set_records(records, classes):
            self.grid.select_ids(selected)
        self.restore_button.setVisible(self.current_filter()[0] == "trash")
        self._update_views(len(records))
        self.refreshed.emit()

    def show_review(self, on: bool = True) -> None:
        self.review_button.setChecked(on)
        if on:
            self.views.setCurrentWidget(self.review)
            self.review.list.setFocus()
        else:
            self._update_views(self.model.rowCount())

    def _update_views(self, shown: int) -> None:
        if self.review_button.isChecked():
            self._update_counts()
            return
        project = self.session.project
        kind, _ = self.current_filter()
        filtered = kind != "all" or self.split_box.currentIndex() > 0 or bool(self.search.text().strip())
        if shown:
            self.views.setCurrentWidget(self.grid)
        elif project is not None and filtered:
            self.empty.set_message("Nothing to show", "The trash is empty." if kind == "trash"
                                   else "No image matches this filter.", buttons_visible=False)
            self.views.setCurrentWidget(self.empty)
        else:
            self.empty.set_message("Drop images here", "Files, folders or .zip archives — a folder with one "
                                   "subfolder per class is labelled by folder name. Or import them, or "
                                   "capture from a camera.", buttons_visible=project is not None)
            self.views.setCurrentWidget(self.empty)
        self._update_counts()

    def _update_counts(self, *_args: object) -> None:
        n, sel = self.model.rowCount(), len(self.grid.selectionModel().selectedIndexes())
        self.count_label.setText(f"{sel:,} of {n:,} selected" if sel else f"{n:,} image{'s' if n != 1 else ''}")

    # ----- labelling, trash -------------------------------------------------------------------
    def handle_key(self, event: QKeyEvent, *, in_grid: bool = False) -> bool:
        """Labelling keys, type-to-label, Space/Enter (preview) and Delete (trash); True when handled."""
        classes = self.class_panel.classes()
        text = plain_text(event)
        keys = class_keys(classes)
        if text in keys:
            self.label_selection(keys[text])
            return True
        if starts_typing(text, classes) and self.session.project is not None:
            self.type_to_label.set_classes(classes)
            self.type_to_label.begin(text)
            return True
        if not in_grid or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.grid.currentIndex()
            rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
            row = index.row() if index.isValid() and index.row() in rows else (rows[0] if rows else -1)
            if row >= 0:
                self.open_preview(row)
            return True
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.trash_selection()
            return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.KeyPress and plain_text(event) and self.handle_key(event):  # type: ignore[arg-type]
            return True
        return super().eventFilter(watched, event)

    def set_drop_highlight(self, on: bool) -> None:
        """Files dragged over the window: the grid lights up and says what a drop does."""
        self.views.setObjectName("imageViews")
        self.views.setStyleSheet("#imageViews{border:3px dashed #1565c0;background:#eaf2fd}" if on else "")
        self.count_label.setText("Drop to import these files into the project" if on else "")
        if not on:
            self._update_counts()

    def select_all(self) -> None:
        self.grid.selectAll()
        self.grid.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def label_selection_by_name(self, name: str) -> None:
        """Type-to-label: label the selection with the class called ``name``, adding it when it is new."""
        project = self.session.project
        if project is None:
            return
        if not self.grid.selected_ids():
            self.session.status_message.emit("Select images first, then type a class name")
            return
        info = project.class_by_name(name)
        if info is None:
            try:
                info = self.class_panel.add_class(name)
            except ProjectError as exc:
                self.session.status_message.emit(str(exc))
                return
        self.label_selection(info.id)

    def label_selection(self, class_id: int | None) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            self.session.status_message.emit("Select images first, then press a class's key or type its name")
            return
        # One image labelled by key: move on to the next one, so a run of keys labels a run of images.
        advance_to = None
        if len(ids) == 1:
            row = self.model.row_of(ids[0])
            if row is not None and row + 1 < self.model.rowCount():
                advance_to = self.model.record(row + 1).id
        self.label_ids(class_id, ids)
        if advance_to is not None:
            self.refresh()
            self.grid.select_ids([advance_to])
            row = self.model.row_of(advance_to)
            if row is not None:
                self.grid.setCurrentIndex(self.model.index(row))
                self.grid.scrollTo(self.model.index(row))

    def label_ids(self, class_id: int | None, ids: Sequence[int]) -> None:
        project = self.session.project
        if project is None or not ids:
            return
        name = next((c.name for c in project.classes() if c.id == class_id), "unlabelled")
        self.session.undo_stack.push(cmd.LabelImages(self.session, ids, class_id, name))
        what = f"as {name}" if class_id is not None else "as unlabelled"
        self.session.status_message.emit(f"Labelled {len(ids)} image{'s' if len(ids) != 1 else ''} {what}")

    def trash_selection(self) -> None:
        ids = self.grid.selected_ids()
        kind, _ = self.current_filter()
        if not ids or kind == "trash":
            return
        self.session.undo_stack.push(cmd.TrashImages(self.session, ids))
        self.session.status_message.emit(f"Moved {len(ids)} image{'s' if len(ids) != 1 else ''} to the trash "
                                         "(Ctrl+Z to undo, or restore them from Show: Trash)")

    def restore_selection(self) -> None:
        ids = self.grid.selected_ids()
        if ids:
            self.session.undo_stack.push(cmd.RestoreImages(self.session, ids))

    # ----- import -----------------------------------------------------------------------------
    def _need_project(self, doing: str) -> bool:
        """True when a project is open; otherwise say so (a window-modal box, not a silent no-op)."""
        if self.session.project is not None:
            return True
        from PySide6.QtWidgets import QMessageBox

        self.last_error_box = QMessageBox(QMessageBox.Icon.Information, doing,
                                          f"{doing} needs an open project.", QMessageBox.StandardButton.Ok,
                                          self.window())
        self.last_error_box.setInformativeText("Create one with File ▸ New Project (Ctrl+N), open one with "
                                               "File ▸ Open Project, or try File ▸ Open Demo Project.")
        self.last_error_box.open()
        return False

    def ask_import_files(self) -> None:
        if not self._need_project("Importing images"):
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Import images", "", IMPORT_FILTER)
        if paths:
            self.import_paths(paths)

    def ask_import_folder(self) -> None:
        if not self._need_project("Importing images"):
            return
        path = QFileDialog.getExistingDirectory(self, "Import a folder of images")
        if path:
            self.import_paths([path])

    def import_paths(self, paths: Sequence[str], label: str | None = None) -> ImportJob | None:
        """Import in a child process (see ``studio.gui.jobs.import_process``); progress and the report come back
        as signals. Returns the job, or None when there is no project or an import is running."""
        project = self.session.project
        if project is None:
            return None
        if self.import_job is not None:
            self.session.status_message.emit("An import is already running; wait for it or cancel it")
            return None
        self._classes_before_import = project.class_names()
        if self.current_filter()[0] != "all" or self.split_box.currentIndex() > 0 or self.search.text().strip():
            # A filter would hide what arrives: show everything, and say why the view changed.
            self.set_filter("all")
            self.session.status_message.emit("Showing all images, so the imported ones are visible")
        self.progress.begin("Looking for images…")
        job = ImportJob(project.root, [str(p) for p in paths], label, self)
        job.progress.connect(self._import_progress)
        job.finished.connect(lambda report: self._import_done(job, report))
        job.failed.connect(lambda message: self._import_failed(job, message))
        self.import_job = job.start()
        return job

    def cancel_import(self) -> None:
        if self.import_job is not None:
            self.import_job.cancel()

    def _import_progress(self, event: object) -> None:
        if not isinstance(event, ImportProgress):
            return
        # QProgressBar.setValue repaints at once (and flushes every pending paint with it): 10 times a
        # second is plenty for the eye and keeps the event loop free.
        now = time.monotonic()
        if now - self._last_progress_paint >= 0.1 or event.done == event.total:
            self._last_progress_paint = now
            self.progress.update_progress(event.done, event.total,
                                          f"Importing {event.done:,} of {event.total:,} · {event.added:,} added")
        if now - self._last_append >= APPEND_EVERY_S and self._end_of_grid_in_view():
            # Show new images as they arrive where the user can see them (an empty grid, or scrolled to the
            # end), and not on every report: each time the grid lays out all its tiles again (Qt, ~15 ms
            # per 5,000, while the import competes for the cores). The rest appear when the import ends.
            self._last_append = now
            self._schedule_append()

    def _end_of_grid_in_view(self) -> bool:
        bar = self.grid.verticalScrollBar()
        return bar.value() >= bar.maximum() - self.grid.viewport().height()

    def _import_done(self, job: ImportJob, report: ImportReport) -> None:
        if job is not self.import_job:
            return  # an import into a project that is no longer open
        self._end_import(job)
        self.last_report = report
        self.session.images_changed.emit()
        project = self.session.project
        if project is not None and self._classes_before_import != project.class_names():  # new folder classes
            self.session.classes_changed.emit()
        self.session.status_message.emit("Import: " + summary_text(report))
        if self.show_reports:
            self.last_report_dialog = ImportReportDialog(report, self)
            self.last_report_dialog.open()
        self.import_finished.emit(report)

    def _import_failed(self, job: ImportJob, message: str) -> None:
        if job is not self.import_job:
            return
        self._end_import(job)
        self.session.images_changed.emit()  # batches committed before the failure are kept: show them
        self.session.classes_changed.emit()
        self.session.status_message.emit("Import failed: " + message)
        from PySide6.QtWidgets import QMessageBox

        # Window-modal but not blocking: the event loop (and the grid showing what was kept) goes on.
        self.last_error_box = QMessageBox(QMessageBox.Icon.Warning, "Import failed",
                                          f"The import stopped: {message}", QMessageBox.StandardButton.Ok, self)
        self.last_error_box.setInformativeText("Images imported before that are kept; importing the same files "
                                               "again finishes the job.")
        self.last_error_box.open()

    def _end_import(self, job: ImportJob | None) -> None:
        self.import_job = None
        self.progress.end()
        if job is not None:
            job.deleteLater()

    # ----- dialogs ----------------------------------------------------------------------------
    def _open_preview(self, index: QModelIndex) -> None:
        self.open_preview(index.row())

    def open_preview(self, row: int) -> None:
        from studio.gui.widgets.preview_dialog import ImagePreviewDialog

        if self.session.project is None or not 0 <= row < self.model.rowCount():
            return
        self.preview_dialog = ImagePreviewDialog(self.session.project, self.model.records(), row, self,
                                                 session=self.session)
        self.preview_dialog.show()

    def open_camera(self, source: int | str | None = None) -> None:
        from studio.gui.parts.camera_widget import CameraDialog

        if not self._need_project("Capturing from a camera"):
            return
        self.camera_dialog = CameraDialog(self.session, source, self)
        self.camera_dialog.show()

    def shutdown(self) -> None:
        """Stop background work before the window closes (the import finishes its current batch)."""
        job = self.import_job
        self.cancel_import()
        if job is not None and not job.wait(10_000):
            job.kill()  # committed batches are kept; a kill loses at most the batch in progress
        self.review.shutdown()
        if self.camera_dialog is not None:
            self.camera_dialog.camera.stop()
        if self.cache is not None:
            self.cache.close()
