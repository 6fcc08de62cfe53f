"""The Train page: queue runs, watch live loss/accuracy curves of every run, compare them in a table.

Each run trains in its own child process (``edge-studio train ... --json``, see
:mod:`studio.gui.jobs.training_process`), so the window stays responsive and survives a crash of the trainer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.events import BatchEnd, EpochEnd, RunStarted
from studio.core.project import runs as run_store
from studio.core.project.data_warnings import data_warnings, other_things_warning, training_blocker
from studio.core.project.store import Project, ProjectError, RunRecord
from studio.core.resolve.recommend import recommend
from studio.core.specs import SpecError
from studio.core.training import architectures
from studio.gui.jobs.training_process import QueuedRun, RunEnded, TrainingQueue
from studio.gui.jobs.workers import start_worker
from studio.gui.parts import run_actions
from studio.gui.parts.curves import CurvesWidget
from studio.gui.parts.plain_words import meaning
from studio.gui.parts.run_summary import (
    RunSummary,
    format_bytes,
    format_count,
    format_duration,
    format_fraction,
)
from studio.gui.parts.train_settings import TrainSettings
from studio.gui.session import Session
from studio.gui.widgets.page_scroll import VerticalScroll

# The benchmark this product comes from: three architectures, each with and without augmentation.
BENCHMARK_ARCHS = ("dense", "cnn", "cnn_dropout")
STATUS_COLORS = {"finished": "#2e7d32", "running": "#1565c0", "queued": "#6d6d6d", "failed": "#c62828",
                 "cancelled": "#ef6c00", "interrupted": "#ef6c00"}
IDLE_DETAIL = "Press Train: the recommended model and settings are chosen from your images."
COLUMNS = ("Show", "Status", "Architecture", "Augmentation", "Best val acc", "Test macro F1", "Params",
           "Size", "Duration", "Run")


class TrainPage(QWidget):
    training_state_changed = Signal(bool)  # True while a run trains
    analysed = Signal()                    # the recommendation and data warnings are shown

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.queue = TrainingQueue(self)
        self._run_started_at = 0.0
        self._epochs = 1
        self._steps = 1
        self._last_progress_paint = 0.0
        self._analysis: Any = None
        self._analysis_stale = False
        self.last_outcome: tuple[str, str, str] | None = None
        self._build()
        self.queue.queue_changed.connect(self._show_queue)
        self.queue.run_started.connect(self._on_run_started)
        self.queue.batch_end.connect(self._on_batch_end)
        self.queue.epoch_end.connect(self._on_epoch_end)
        self.queue.run_ended.connect(self._on_run_ended)
        self.queue.idle.connect(self._on_idle)
        session.project_changed.connect(self._on_project_changed)
        session.runs_changed.connect(self.refresh_runs)
        session.images_changed.connect(self._data_changed)
        session.classes_changed.connect(self._data_changed)
        app = QCoreApplication.instance()
        if app is not None:  # a run must end cleanly (marked cancelled) when the studio quits
            app.aboutToQuit.connect(self.shutdown)
        self._on_project_changed(session.project)
        self._show_queue()

    # ----- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 12, 12, 12)
        outer = QSplitter(Qt.Orientation.Horizontal)
        outer.setChildrenCollapsible(False)
        outer.addWidget(self._build_settings())

        right_box = QWidget()
        right = QVBoxLayout(right_box)
        right.setContentsMargins(6, 0, 0, 0)
        right.setSpacing(8)
        right.addWidget(self._build_progress())
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        self.curves = CurvesWidget()
        splitter.addWidget(self.curves)
        self.runs_table = self._build_runs_table()
        splitter.addWidget(self.runs_table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])  # the curves get the larger share from the start (the user can drag it)
        right.addWidget(splitter, 1)
        outer.addWidget(right_box)
        outer.setStretchFactor(1, 1)
        outer.setSizes([330, 900])
        root.addWidget(outer)

    def _build_settings(self) -> QWidget:
        self.settings = TrainSettings()
        self.settings.train_requested.connect(self.queue_selected)
        self.settings.compare_requested.connect(self.queue_compare)
        self.settings.benchmark_requested.connect(self.queue_benchmark)
        # The names the rest of the page (and its tests) use.
        self.queue_button = self.settings.train_button
        self.with_aug, self.epochs, self.batch_size = self.settings.with_aug, self.settings.epochs, \
            self.settings.batch_size
        self.learning_rate, self.patience = self.settings.learning_rate, self.settings.patience
        self.benchmark_action = self.settings.benchmark_action

        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.settings)
        self.queue_title = QLabel("<b>Waiting in the queue</b>")
        layout.addWidget(self.queue_title)
        self.queue_list = QListWidget()
        self.queue_list.setMaximumHeight(120)
        layout.addWidget(self.queue_list)
        self.clear_queue_button = QPushButton("Clear queue")
        self.clear_queue_button.clicked.connect(self.queue.clear_pending)
        layout.addWidget(self.clear_queue_button)
        layout.addStretch(1)
        scroll = VerticalScroll(panel)
        scroll.setMaximumWidth(460)
        return scroll

    def _build_progress(self) -> QWidget:
        box = QFrame()
        box.setObjectName("trainProgress")
        box.setStyleSheet("#trainProgress{background:#f4f6fa;border:1px solid #dde2ea;border-radius:6px}")
        layout = QHBoxLayout(box)
        layout.setContentsMargins(10, 8, 10, 8)
        text = QVBoxLayout()
        self.progress_title = QLabel("No run is training")
        font = QFont(self.progress_title.font())
        font.setBold(True)
        self.progress_title.setFont(font)
        self.progress_detail = QLabel(IDLE_DETAIL)
        self.progress_detail.setStyleSheet("color:#555")
        self.progress_detail.setWordWrap(True)
        # Room for three wrapped lines (four of the font known here: the application's font may be larger): the
        # page's splitter must not squeeze the text into clipped slivers, and the box keeps its height as the
        # text changes when a run starts, trains and ends (a box that shrinks moves the curves below it, and
        # both plots and their axes are then drawn again in that turn).
        self.progress_detail.setMinimumHeight(4 * self.progress_detail.fontMetrics().lineSpacing())
        text.addWidget(self.progress_title)
        text.addWidget(self.progress_detail)
        layout.addLayout(text, 2)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        layout.addWidget(self.progress, 3)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.cancel_button)
        return box

    def _build_runs_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        for column, title in enumerate(COLUMNS):
            table.horizontalHeaderItem(column).setToolTip(meaning(title))
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.itemChanged.connect(self._on_show_toggled)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._runs_menu)
        table.setToolTip("Right-click a run to rename or delete it")
        table.setMinimumHeight(120)
        return table

    def selected_run_id(self) -> str:
        row = self.runs_table.currentRow()
        item = self.runs_table.item(row, 0) if row >= 0 else None
        return str(item.data(Qt.ItemDataRole.UserRole) or "") if item is not None else ""

    def _runs_menu(self, pos: Any) -> None:
        from PySide6.QtWidgets import QMenu

        item = self.runs_table.itemAt(pos)
        if item is None:
            return
        self.runs_table.selectRow(item.row())
        run_id = self.selected_run_id()
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.rename_run(run_id))
        delete = menu.addAction("Delete…", lambda: self.delete_run(run_id))
        delete.setEnabled(run_id != self.queue.current_run_id)
        menu.exec(self.runs_table.viewport().mapToGlobal(pos))

    def rename_run(self, run_id: str) -> Any:
        self.run_dialog = run_actions.ask_rename(self, self.session, run_id)
        return self.run_dialog

    def delete_run(self, run_id: str) -> Any:
        if run_id and run_id == self.queue.current_run_id:
            self.session.status_message.emit("This run is training; cancel it first")
            return None
        self.run_dialog = run_actions.confirm_delete(self, self.session, run_id)
        return self.run_dialog

    # ----- queueing ----------------------------------------------------------------------------
    def set_arch(self, name: str) -> None:
        self.settings.set_arch(name)

    def selected_runs(self) -> list[QueuedRun]:
        """The run the Train button starts: the form as the resolver completes it (see TrainSettings.job)."""
        return [self.settings.job()]

    def queue_selected(self) -> None:
        self._enqueue(self.selected_runs)

    def queue_compare(self) -> None:
        """Every model once, each with what the resolver decides for it (its own budget, size and colour)."""
        aug = self.with_aug.isChecked()
        self._enqueue(lambda: [QueuedRun.from_config(self.settings.plan(name, aug).config)
                               for name in architectures.names()])

    def queue_benchmark(self) -> None:
        self._enqueue(lambda: [QueuedRun.from_config(self.settings.plan(arch, aug).config)
                               for arch in BENCHMARK_ARCHS for aug in (False, True)])

    def _enqueue(self, make_runs: Callable[[], list[QueuedRun]]) -> None:
        project = self.session.project
        if project is None:
            self.session.status_message.emit("Open a project first.")
            return
        try:
            runs = make_runs()
        except SpecError as exc:
            self.session.status_message.emit(f"Cannot train: {exc}")
            return
        if len([n for n in project.class_names() if project.counts().get(n, {}).get("train", 0)]) < 2:
            self.session.status_message.emit("Label images of at least two classes before training.")
        self.queue.project_root = project.root
        self.queue.enqueue(runs)

    def cancel(self) -> None:
        if self.queue.is_busy():
            self.progress_title.setText("Cancelling…")
            self.progress_detail.setText("The current batch finishes, then the run stops and is saved as cancelled.")
            self.cancel_button.setEnabled(False)
        self.queue.cancel()

    def is_training(self) -> bool:
        return self.queue.is_busy()

    def shutdown(self) -> None:
        """Called by the main window when it closes: stop the child cleanly."""
        self.queue.shutdown()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self.queue.shutdown()
        super().closeEvent(event)

    # ----- training events ---------------------------------------------------------------------
    def _show_queue(self) -> None:
        self.queue_list.clear()
        for run in self.queue.pending:
            self.queue_list.addItem(f"{run.label} · {run.epochs} epochs")
        self.clear_queue_button.setEnabled(bool(self.queue.pending))

    def _on_run_started(self, queued: QueuedRun, event: RunStarted) -> None:
        run_id = event.run
        self._run_started_at = time.monotonic()
        self._epochs = max(1, int(event.epochs or queued.epochs))
        self._steps = max(1, int(event.steps_per_epoch or 1))
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        waiting = len(self.queue.pending)
        self.progress_title.setText(f"Training {queued.label}" + (f" · {waiting} more waiting" if waiting else ""))
        self.progress_detail.setText(f"run {run_id} · {self._epochs} epochs · {self._steps} batches per epoch")
        self.progress_detail.setToolTip("")
        self.cancel_button.setEnabled(True)
        self.training_state_changed.emit(True)
        self.session.status_message.emit(f"Training {queued.label}")
        # The rest in later turns of the event loop, one part each, so no turn holds the window for more than a
        # frame (bench/ui_latency.py): the run's curves (new plot items, both axes re-laid out), then every
        # page's list of runs (the runs table, the Evaluate and Export pickers).
        label, epochs = self._curve_label(queued.arch, queued.augment, run_id), self._epochs

        def show_curves() -> None:
            if run_id and not self.curves.has_run(run_id):  # an epoch that came first has added it
                self.curves.add_run(run_id, label, {}, epochs=epochs)
            QTimer.singleShot(1, self, self.session.runs_changed.emit)

        QTimer.singleShot(1, self, show_curves)

    def _on_batch_end(self, event: BatchEnd) -> None:
        now = time.monotonic()
        steps = max(1, int(event.steps or self._steps))
        batch, epoch = int(event.batch), int(event.epoch)
        if now - self._last_progress_paint < 0.1 and batch < steps:
            return  # at most ten repaints a second: a small model can finish hundreds of batches a second
        self._last_progress_paint = now
        self._show_progress(epoch, batch, steps)

    def _on_epoch_end(self, event: EpochEnd) -> None:
        run_id = event.run or self.queue.current_run_id
        if run_id and not self.curves.has_run(run_id):
            current = self.queue.current
            label = self._curve_label(current.arch, current.augment, run_id) if current else run_id
            self.curves.add_run(run_id, label, {}, epochs=self._epochs)
        if run_id:
            self.curves.append_epoch(run_id, event)
        epoch = int(event.epoch)
        self._show_progress(epoch, self._steps, self._steps)
        self.progress_detail.setText(
            f"epoch {epoch}: loss {event.loss:.4f} · accuracy {event.accuracy:.3f} · "
            f"val_loss {event.val_loss:.4f} · val_accuracy {event.val_accuracy:.3f}")

    def _show_progress(self, epoch: int, batch: int, steps: int) -> None:
        # Events count epochs from 1; batches from 1 as well (batch == steps at the end of an epoch).
        done = ((max(epoch, 1) - 1) * steps + min(batch, steps)) / float(self._epochs * steps)
        done = min(max(done, 0.0), 1.0)
        self.progress.setValue(int(done * 1000))
        elapsed = time.monotonic() - self._run_started_at
        eta = format_duration(elapsed * (1 - done) / done) if done > 0.01 else "…"
        self.progress.setFormat(f"epoch {epoch}/{self._epochs} · batch {min(batch, steps)}/{steps} · ETA {eta}")

    def _on_run_ended(self, ended: RunEnded) -> None:
        queued, run_id, status, message = ended.job, ended.run_id, ended.status, ended.message
        project = self.session.project
        if project is not None and run_id:
            # A child killed from outside (out of memory) cannot mark its own run: the run store settles it.
            try:
                run_store.settle_run(project, project.run(run_id), message)
            except ProjectError:
                pass
            history = run_store.saved_history(project, run_id)
            if any(history.values()) and queued is not None:
                # What is shown is what was saved: replace the live points with the run's history.json.
                self.curves.add_run(run_id, self._curve_label(queued.arch, queued.augment, run_id), history)
        label = queued.label if queued else "run"
        if status == "finished":
            self.session.status_message.emit(f"Finished {label}")
        elif status == "cancelled":
            self.session.status_message.emit(f"Cancelled {label}")
        else:
            self.session.status_message.emit(f"Training {label} failed: {message}")
        self.progress_title.setText({"finished": "Finished", "cancelled": "Cancelled",
                                     "interrupted": "Interrupted"}.get(status, "Failed") + f" {label}")
        self.progress_detail.setText(message if status in ("failed", "interrupted") else f"run {run_id}")
        self.progress_detail.setToolTip(f"run {run_id}")  # the finished line below leaves the id out
        if status == "finished" and project is not None and run_id:
            metrics = project.run(run_id).metrics
            ran, planned = metrics.get("epochs_run"), queued.epochs if queued else None
            self.progress.setValue(1000)
            self.progress.setFormat(f"done · {ran} epochs" + (" (stopped early: no more progress)"
                                                               if ran and planned and ran < planned else ""))
            # Short enough for two lines beside the progress bar at 1024 px; the run id is in the tooltip.
            self.progress_detail.setText(f"test accuracy {format_fraction(metrics.get('test_accuracy'))} · "
                                         "details on Evaluate")
        if status in ("failed", "interrupted"):
            self.progress_detail.setStyleSheet("color:#c62828")
        else:
            self.progress_detail.setStyleSheet("color:#555")
        self.last_outcome = (run_id, status, message)
        self.session.runs_changed.emit()

    def _on_idle(self) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setFormat(self.progress.format() if self.progress.value() else "")
        self.training_state_changed.emit(False)

    # ----- runs table and finished curves ------------------------------------------------------
    def _on_project_changed(self, project: Project | None) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress_detail.setStyleSheet("color:#555")
        if self.queue.is_busy() or self.queue.pending:
            self.queue.abandon()  # the run is cancelled in its own project; the window does not wait
            self.progress_title.setText("Cancelled: another project was opened")
            self.progress_detail.setText(IDLE_DETAIL)
            self.progress_detail.setToolTip("")
        else:  # nothing of the previous project's runs stays on show
            self.progress_title.setText("No run is training")
            self.progress_detail.setText(IDLE_DETAIL)
            self.progress_detail.setToolTip("")
        self.last_outcome = None
        self.curves.clear()
        self.queue.project_root = project.root if project else None
        self.settings.load(project, None)
        self.refresh_runs()
        self._analyse()

    def _analyse(self) -> None:
        """Recommendation and data warnings, computed off the UI thread (they read every image row)."""
        project = self.session.project
        if project is None:
            self.settings.show_warnings([])
            self.settings.set_blocked(None)
            return

        # A reason found on older data must not keep Train disabled while the data is read again (a click
        # meanwhile still meets the trainer's own check and its message).
        self.settings.set_blocked(None)

        def work(progress, cancel) -> tuple:  # noqa: ANN001
            from studio.core.project import others

            counts = project.counts()
            warnings = data_warnings(counts)
            suggestion = other_things_warning(others.count(project), sum(1 for c in counts if c is not None))
            return (recommend(project), warnings + ([suggestion] if suggestion else []), training_blocker(counts),
                    counts)

        def done(result: tuple) -> None:
            if project is not self.session.project:
                return
            recommendation, warnings, blocker, counts = result
            if self.settings.follows_recommendation():  # the data changed: so may the recommendation
                self.settings.load(project, recommendation)
            self.settings.set_blocked(blocker)
            self.settings.show_classes(counts)
            self.settings.show_warnings([w for w in warnings if blocker is None or w.kind != "few_classes"])
            self.analysed.emit()

        self._analysis = start_worker(work, on_finished=done, on_errored=lambda exc: None)

    def _data_changed(self) -> None:
        if self.isVisible():
            self._analyse()
        else:
            self._analysis_stale = True

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._analysis_stale:
            self._analysis_stale = False
            self._analyse()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self.settings.save()
        super().hideEvent(event)

    @staticmethod
    def _curve_label(arch: str, augmented: bool, run_id: str) -> str:
        number = run_store.run_number(run_id)
        return f"#{number} {arch}{' + aug' if augmented else ''}"

    def refresh_runs(self) -> None:
        project = self.session.project
        runs: list[RunRecord] = project.runs() if project else []
        kept = {run.id for run in runs} | {self.queue.current_run_id}
        for gone in [r for r in self.curves.run_ids() if r not in kept]:  # a deleted run leaves no curves
            self.curves.remove_run(gone)
        for run in runs:
            if not self.curves.has_run(run.id) and run.id != self.queue.current_run_id:
                history = run_store.saved_history(project, run.id) if project else {}
                if any(history.values()):
                    summary = RunSummary.of(run)
                    self.curves.add_run(run.id, self._curve_label(run.arch, summary.augmented, run.id), history)
        self.runs_table.blockSignals(True)
        self.runs_table.setRowCount(len(runs))
        for row, run in enumerate(reversed(runs)):
            s = RunSummary.of(run)
            show = QTableWidgetItem()
            if self.curves.has_run(run.id):
                show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                show.setCheckState(Qt.CheckState.Checked if self.curves.is_run_visible(run.id)
                                   else Qt.CheckState.Unchecked)
                show.setBackground(QColor(self.curves.color_of(run.id)))
            else:
                show.setFlags(Qt.ItemFlag.ItemIsEnabled)
            show.setData(Qt.ItemDataRole.UserRole, run.id)
            status = QTableWidgetItem(s.status)
            status.setForeground(QColor(STATUS_COLORS.get(s.status, "#333")))
            if s.error:
                status.setToolTip(s.error)
            cells = [show, status, QTableWidgetItem(s.arch), QTableWidgetItem(s.augmentation_text),
                     _number(format_fraction(s.best_val_accuracy)), _number(format_fraction(s.test_macro_f1)),
                     _number(format_count(s.params)), _number(format_bytes(s.size_bytes)),
                     _number(format_duration(s.seconds)),
                     QTableWidgetItem(f"{run.name} ({run.id})" if run.name else run.id)]
            for col, item in enumerate(cells):
                self.runs_table.setItem(row, col, item)
        self.runs_table.blockSignals(False)

    def _on_show_toggled(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        run_id = item.data(Qt.ItemDataRole.UserRole)
        if run_id:
            self.curves.set_run_visible(str(run_id), item.checkState() == Qt.CheckState.Checked)


def _number(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
