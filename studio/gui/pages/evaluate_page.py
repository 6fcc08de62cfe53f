"""The Evaluate page: a run's classification report, its clickable confusion matrix, the images behind each
cell (relabel them, undoably), all runs compared, and the report saved as HTML, CSV or JSON.

The report is the run's ``report.json`` (written by training and by ``edge-studio evaluate``); evaluating
again runs the CLI in a child process, so TensorFlow never runs on (or even loads into) the UI process.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.commands.protocol import evaluate_argv
from studio.core.evaluation.report import compare_runs, load_report
from studio.core.project.data_warnings import result_warnings
from studio.core.project.runs import saved_history
from studio.core.project.store import Project, ProjectError
from studio.gui.jobs.training_process import CliProcess, ProcessOutcome
from studio.gui.jobs.workers import start_worker
from studio.gui.parts.augment_grid import array_to_qimage
from studio.gui.parts.confusion import ConfusionMatrixWidget
from studio.gui.parts.curves import CurvesWidget
from studio.gui.parts.plain_words import meaning, result_sentence
from studio.gui.parts.report_files import write_csv, write_html, write_json
from studio.gui.parts.report_table import ReportTable, details_toggle
from studio.gui.parts.review_items import health_notes
from studio.gui.parts.run_picker import RunPicker
from studio.gui.parts.run_summary import RunSummary, format_bytes, format_count, format_duration, format_fraction
from studio.gui.parts.why_panel import WhyPanel
from studio.gui.session import Session
from studio.gui.undo_commands import LabelImages

THUMB_SIZE = 96
COMPARE_HEADERS = ("Run", "Architecture", "Augmentation", "Status", "Best val acc", "Test acc", "Macro F1",
                   "Params", "Weights", "Training time", "Epochs")


def _png(widget: QWidget, size: QSize | None = None) -> bytes:
    if size is not None:
        widget.resize(size)
    pixmap = widget.grab()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buffer, "PNG")
    return bytes(data.data())


def _load_thumbnails(project: Project, image_ids: list[int], *, progress: Any = None,
                     cancel: Any = None) -> dict[int, Any]:
    """On a worker thread: QImage thumbnails (QImage, unlike QPixmap, may be made off the UI thread)."""
    from studio.core.images.imaging import load_rgb, thumbnail

    out: dict[int, Any] = {}
    for record in project.images(ids=image_ids):
        if cancel is not None and cancel.cancelled:
            break
        try:
            out[record.id] = array_to_qimage(thumbnail(load_rgb(project.image_path(record)), THUMB_SIZE))
        except Exception:  # an unreadable file still gets its caption, just no picture
            continue
    return out


def open_world_stats(figures: Any, stat: Any) -> str:
    """The test pictures the page answers (the rest it calls "Not one of the classes" or "not sure"), the
    accuracy of those answers, and the "other things" it refuses."""
    if not isinstance(figures, dict) or not isinstance(figures.get("answered"), (int, float)):
        return ""
    text = stat("Answered", f"{figures['answered']:.0%}")
    if isinstance(figures.get("answered_accuracy"), (int, float)):
        text += stat("Accuracy answered", format_fraction(figures["answered_accuracy"]))
    if isinstance(figures.get("others_refused"), (int, float)):
        text += stat("Other things refused", f"{figures['others_refused']:.0%}")
    return text


def correct_items(report: dict[str, Any], project: Project, name: str) -> list[dict[str, Any]]:
    """The test images of class ``name`` the run got right: from the report, or (a report saved before it
    listed them) the class's test images that are not among its mistakes."""
    if "correct" in report:
        return [m for m in report["correct"] if str(m.get("true")) == name]
    wrong = {int(m["image_id"]) for m in report.get("misclassified") or []}
    info = next((c for c in project.classes() if c.name == name), None)
    if info is None:
        return []
    return [{"image_id": r.id, "true": name, "predicted": name}
            for r in project.images(class_id=info.id, split="test") if r.id not in wrong]


class EvaluatePage(QWidget):

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.report: dict[str, Any] | None = None
        self.report_run_id = ""
        self.cell: tuple[int, int] | None = None
        self.cell_items: list[dict[str, Any]] = []
        self._process: CliProcess | None = None
        self._thumb_worker: Any = None
        self._notes_worker: Any = None
        self._stale = False
        self._runs_stale = False  # runs changed while the page was hidden: reloaded when it is shown
        self._build()
        session.project_changed.connect(self._on_project_changed)
        session.runs_changed.connect(self._on_runs_changed)
        session.images_changed.connect(self._on_images_changed)
        session.classes_changed.connect(self._fill_classes)
        self._on_project_changed(session.project)

    # ----- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 12, 12, 12)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Run"))
        self.run_picker = RunPicker()
        bar.addWidget(self.run_picker, 3)
        self.evaluate_button = QPushButton("Evaluate again")
        self.evaluate_button.setToolTip("Re-run the test split through this run's model (edge-studio evaluate)")
        bar.addWidget(self.evaluate_button)
        bar.addStretch(1)
        self.status = QLabel("")
        self.status.setObjectName("evalStatus")
        self.status.setStyleSheet("color:#555")
        self.status.setWordWrap(True)  # a long notice wraps under the bar instead of widening the window
        bar.addWidget(QLabel("Save as"))
        self.save_html_button = QPushButton("HTML…")
        self.save_csv_button = QPushButton("CSV…")
        self.save_json_button = QPushButton("JSON…")
        for b, kind in ((self.save_html_button, "an HTML page"), (self.save_csv_button, "a CSV table"),
                        (self.save_json_button, "a JSON file")):
            b.setEnabled(False)
            b.setToolTip(f"Save this report as {kind}")
            bar.addWidget(b)
        root.addLayout(bar)
        root.addWidget(self.status)

        self.summary = QLabel("")
        self.summary.setObjectName("evalSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setToolTip("\n".join(f"{term}: {meaning(term)}" for term in
                                           ("Accuracy", "Macro F1", "Weighted F1", "Test images", "Misclassified")))
        self.summary.setStyleSheet("#evalSummary{background:#f4f6fa;border:1px solid #dde2ea;border-radius:6px;"
                                   "padding:8px 12px}")
        root.addWidget(self.summary)
        self.warnings = QLabel("")
        self.warnings.setObjectName("resultWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color:#8a4b00;background:#fff4e0;border:1px solid #f0c987;border-radius:5px;"
                                    "padding:6px")
        self.warnings.hide()
        root.addWidget(self.warnings)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_report_tab(), "Report")
        self.tabs.setCornerWidget(self.details_button, Qt.Corner.TopRightCorner)
        self.compare_table = QTableWidget(0, len(COMPARE_HEADERS))
        self.compare_table.setHorizontalHeaderLabels(COMPARE_HEADERS)
        for column, title in enumerate(COMPARE_HEADERS):
            self.compare_table.horizontalHeaderItem(column).setToolTip(meaning(title))
        self.compare_table.verticalHeader().setVisible(False)
        self.compare_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compare_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.compare_table.setAlternatingRowColors(True)
        self.compare_table.setSortingEnabled(True)
        self.compare_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.compare_table.cellDoubleClicked.connect(self._open_compared_run)
        compare = QWidget()
        compare_layout = QVBoxLayout(compare)
        compare_layout.setContentsMargins(6, 6, 6, 6)
        compare_hint = QLabel("Every run of this project; the best score of each column is highlighted. "
                              "Double-click a run to open its report.")
        compare_hint.setObjectName("hint")
        compare_hint.setWordWrap(True)
        compare_layout.addWidget(compare_hint)
        compare_layout.addWidget(self.compare_table)
        self.tabs.addTab(compare, "Compare runs")
        root.addWidget(self.tabs, 1)

        self.run_picker.run_selected.connect(self.show_run)
        self.evaluate_button.clicked.connect(self.evaluate_again)
        self.save_html_button.clicked.connect(lambda: self._save("html"))
        self.save_csv_button.clicked.connect(lambda: self._save("csv"))
        self.save_json_button.clicked.connect(lambda: self._save("json"))

    def _build_report_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QSplitter(Qt.Orientation.Horizontal)
        self.table = ReportTable()
        self.table.setMinimumWidth(260)
        self.table.hide()  # the expert table is one click away (details_button); the matrix speaks first
        top.addWidget(self.table)
        self.details_button = details_toggle(self.table)  # in the tab bar's corner (see _build)
        self.matrix = ConfusionMatrixWidget()
        self.matrix.cell_clicked.connect(self.show_cell)
        top.addWidget(self.matrix)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)
        top.setSizes([460, 360])

        cell_box = QFrame()
        cell_layout = QVBoxLayout(cell_box)
        cell_layout.setContentsMargins(0, 4, 0, 0)
        self.cell_title = QLabel("Click a cell of the confusion matrix to see its test images.")
        self.cell_title.setStyleSheet("color:#555")
        self.cell_title.setWordWrap(True)
        cell_layout.addWidget(self.cell_title)
        self.cell_list = QListWidget()
        self.cell_list.setViewMode(QListView.ViewMode.IconMode)
        self.cell_list.setIconSize(QSize(72, 72))
        self.cell_list.setGridSize(QSize(132, 120))
        self.cell_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.cell_list.setMovement(QListView.Movement.Static)
        self.cell_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.cell_list.setWordWrap(True)
        self.cell_list.setMinimumHeight(70)
        # "Why?": the selected image with the heatmap of the model's evidence, following the selection.
        self.why = WhyPanel(compact=True)
        self.why.setMinimumWidth(220)
        cell_split = QSplitter(Qt.Orientation.Horizontal)
        cell_split.addWidget(self.cell_list)
        cell_split.addWidget(self.why)
        cell_split.setStretchFactor(0, 3)
        cell_split.setStretchFactor(1, 2)
        cell_layout.addWidget(cell_split, 1)
        relabel = QHBoxLayout()
        relabel.addWidget(QLabel("Relabel selected as"))
        self.class_combo = QComboBox()
        self.class_combo.setMinimumContentsLength(8)
        relabel.addWidget(self.class_combo)
        self.relabel_button = QPushButton("Relabel")
        self.relabel_button.setEnabled(False)
        self.relabel_button.clicked.connect(self.relabel_selected)
        relabel.addWidget(self.relabel_button)
        self.use_prediction_button = QPushButton("Accept the predictions")
        self.use_prediction_button.setToolTip("Label each selected image with what the model predicted")
        self.use_prediction_button.setEnabled(False)
        self.use_prediction_button.clicked.connect(self.accept_predictions)
        relabel.addWidget(self.use_prediction_button)
        relabel.addStretch(1)
        self.relabel_button.setToolTip("Edit ▸ Undo (Ctrl+Z) reverts a relabel")
        cell_layout.addLayout(relabel)
        self.cell_list.itemSelectionChanged.connect(self._update_relabel_buttons)
        self.cell_list.itemActivated.connect(self.open_cell_image)
        self.cell_list.currentItemChanged.connect(lambda item, _old: self.explain_item(item))
        self.cell_list.setToolTip("Double-click (or Enter) to see an image large")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(cell_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split)
        return tab

    # ----- project / runs ----------------------------------------------------------------------
    def _on_project_changed(self, project: Project | None) -> None:
        self._stop_process()
        self._runs_stale = False
        self.report, self.report_run_id = None, ""
        self._fill_classes()
        self.run_picker.user_chose = False
        self.run_picker.reload(project)
        self._refresh_compare()
        self.show_run(self.run_picker.current_run_id())

    def _on_runs_changed(self) -> None:
        # A run starts and ends while the Train page is on show: loading the new run's report, matrix and
        # first mistake then would hold the event loop beside the live curves (~10-15 ms). A hidden page
        # catches up when it is shown.
        if not self.isVisible():
            self._runs_stale = True
            return
        self._reload_runs()

    def _reload_runs(self) -> None:
        self._runs_stale = False
        self.run_picker.reload(self.session.project)
        self._refresh_compare()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        if self._runs_stale:
            self._reload_runs()
        super().showEvent(event)

    def _on_images_changed(self) -> None:
        self.refresh_cell_labels()
        if self.report is not None:
            self._stale = True
            self.status.setText("Labels changed since this report; press Evaluate again to update it.")

    def _fill_classes(self) -> None:
        project = self.session.project
        self.class_combo.clear()
        for info in project.classes() if project else []:
            self.class_combo.addItem(info.name, info.id)

    def show_run(self, run_id: str) -> None:
        """Show the saved report of ``run_id``; evaluate it first when it has none."""
        project = self.session.project
        self._clear_cell()
        if project is None or not run_id:
            self._show_report(None, "")
            return
        report = load_report(project, run_id)
        self._stale = False
        if report is None:
            self._show_report(None, run_id)
            self.evaluate_again()
        else:
            self._show_report(report, run_id)
            self.status.setText("")
            self.show_first_mistake()

    def evaluate_again(self) -> None:
        project, run_id = self.session.project, self.run_picker.current_run_id()
        if project is None or not run_id or self._process is not None:
            return
        self.status.setText("Evaluating on the test split…")
        self.evaluate_button.setEnabled(False)
        self._process = CliProcess(evaluate_argv(project.root, run_id), self)
        self._process.finished.connect(lambda outcome, rid=run_id: self._on_evaluated(rid, outcome))
        self._process.start()

    def is_evaluating(self) -> bool:
        return self._process is not None

    def _on_evaluated(self, run_id: str, outcome: ProcessOutcome) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        self.evaluate_button.setEnabled(True)
        project = self.session.project
        if not outcome.ok or project is None:
            self.status.setText(f"Evaluation failed: {outcome.error_message()}")
            self.status.setStyleSheet("color:#c62828")
            return
        self.status.setStyleSheet("color:#555")
        report = load_report(project, run_id) or outcome.result
        self._stale = False
        if run_id == self.run_picker.current_run_id():
            self._show_report(report, run_id)
            self.status.setText("Report updated.")
        self.session.runs_changed.emit()  # the run's test metrics were rewritten

    def _stop_process(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5_000)
            self._process = None
            self.evaluate_button.setEnabled(True)

    # ----- report ------------------------------------------------------------------------------
    def _show_report(self, report: dict[str, Any] | None, run_id: str) -> None:
        self.report, self.report_run_id = report, run_id
        self.table.set_report(report)
        self.matrix.set_matrix(report.get("labels", []) if report else [], report.get("confusion_matrix", [])
                               if report else [])
        for b in (self.save_html_button, self.save_csv_button, self.save_json_button):
            b.setEnabled(report is not None)
        if report is None:
            self._show_warnings(None, run_id, 0)
            self.summary.setText("<span style='color:#666'>No report yet." +
                                 (" Evaluating…" if run_id else " Train a run on the Train page first.") +
                                 "</span>")
            return
        weighted = (report.get("weighted avg") or report.get("weighted_avg") or {}).get("f1")
        n = report.get("n", sum(sum(r) for r in report.get("confusion_matrix", [])))
        mistakes = len(report.get("misclassified") or [])

        def stat(name: str, value: str) -> str:
            return (f"<td style='padding-right:16px'><span style='color:#666'>{name}</span> "
                    f"<span style='font-weight:600'>{value}</span></td>")

        self.summary.setText(
            f"<div style='font-size:13pt;font-weight:600'>{html.escape(result_sentence(report))}</div>"
            "<table><tr>" + stat("Accuracy", format_fraction(report.get("accuracy"))) +
            stat("Macro F1", format_fraction(report.get("macro_f1"))) +
            stat("Weighted F1", format_fraction(weighted)) + stat("Test images", str(n)) +
            stat("Misclassified", str(mistakes)) + open_world_stats(report.get("open_world"), stat) +
            "</tr></table>")
        self._show_warnings(report, run_id, n)

    def _show_warnings(self, report: dict[str, Any] | None, run_id: str, n: int) -> None:
        """What the score rests on: how uncertain it is, validation far above test, classes with few images."""
        project = self.session.project
        warnings = []
        if report is not None and project is not None:
            try:
                best_val = project.run(run_id).metrics.get("best_val_accuracy")
            except ProjectError:
                best_val = None
            supports = {str(k): int(v.get("support", 0)) for k, v in (report.get("per_class") or {}).items()}
            warnings = result_warnings(best_val, report.get("accuracy"), int(n), supports)
        self.warnings.setText("<br>".join(f"⚠ {w.text}" for w in warnings))
        self.warnings.setVisible(bool(warnings))

    def _clear_cell(self) -> None:
        self.cell = None
        self.cell_items = []
        self.cell_list.clear()
        self.why.clear()
        self.cell_title.setText("Click a cell of the confusion matrix to see its test images.")
        self._update_relabel_buttons()

    def show_cell(self, true: int, predicted: int) -> None:
        report, project = self.report, self.session.project
        if report is None or project is None:
            return
        labels = [str(x) for x in report.get("labels", [])]
        t_name, p_name = labels[true], labels[predicted]
        count = report["confusion_matrix"][true][predicted]
        self.cell = (true, predicted)
        self.cell_list.clear()
        self.why.clear()
        if true == predicted:
            self.cell_items = correct_items(report, project, t_name)
            self.cell_title.setText(f"<b>{count}</b> test images of <b>{t_name}</b> were classified correctly"
                                    + (", least sure first" if self.cell_items and "confidence" in
                                       self.cell_items[0] else "")
                                    + ". Pick one to see why; click a cell off the diagonal to see mistakes.")
        else:
            self.cell_items = [m for m in report.get("misclassified") or []
                               if str(m.get("true")) == t_name and str(m.get("predicted")) == p_name]
            self.cell_title.setText(f"True <b>{t_name}</b>, predicted <b>{p_name}</b>: {len(self.cell_items)} "
                                    f"image{'' if len(self.cell_items) == 1 else 's'}, "
                                    "most confident mistakes first. Select images to relabel them, or one to "
                                    "see why the model said so.")
        for m in self.cell_items:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, int(m["image_id"]))
            self._describe_cell_item(item, m, None)
            self.cell_list.addItem(item)
        ids = [int(m["image_id"]) for m in self.cell_items]
        if ids:
            self._thumb_worker = start_worker(_load_thumbnails, project, ids, on_finished=self._show_thumbnails)
            # The data-health hint reads the project's rows and the cached report: off the UI thread (issue 15).
            cell = self.cell
            self._notes_worker = start_worker(lambda **_: health_notes(project, ids),
                                              on_finished=lambda notes: self._show_health_notes(cell, notes),
                                              on_errored=lambda exc: None)

    def explain_item(self, item: QListWidgetItem | None) -> None:
        """The "Why?" panel follows the current image of the cell list."""
        project = self.session.project
        if item is None or project is None or not self.report_run_id:
            return
        image_id = int(item.data(Qt.ItemDataRole.UserRole))
        try:
            record = project.image(image_id)
        except ProjectError:
            return
        self.why.explain(project.root, self.report_run_id, project.image_path(record), tag=image_id)

    def show_first_mistake(self) -> None:
        """Misclassified images first: the cell of the most confident mistake, its first image explained."""
        report = self.report
        mistakes = (report or {}).get("misclassified") or []
        if not mistakes or report is None:
            return
        labels = [str(x) for x in report.get("labels", [])]
        top = mistakes[0]
        if str(top.get("true")) in labels and str(top.get("predicted")) in labels:
            self.matrix.selected = (labels.index(str(top["true"])), labels.index(str(top["predicted"])))
            self.matrix.update()
            self.show_cell(labels.index(str(top["true"])), labels.index(str(top["predicted"])))
            if self.cell_list.count():
                self.cell_list.setCurrentRow(0)

    @staticmethod
    def _describe_cell_item(item: QListWidgetItem, m: dict[str, Any], note: str | None) -> None:
        sure = f"\n{float(m['confidence']) * 100:.0f}% sure" if "confidence" in m else ""
        arrow = f"{m['true']} ✓" if m["true"] == m["predicted"] else f"{m['true']} → {m['predicted']}"
        item.setText(arrow + sure + ("\npossible label mistake" if note else ""))
        item.setToolTip(f"image {m['image_id']}: labelled {m['true']}, predicted {m['predicted']}"
                        + (f" with confidence {float(m['confidence']):.3f}" if sure else "")
                        + (f"\n\n{note}" if note else ""))

    def _show_health_notes(self, cell: tuple[int, int] | None, notes: dict[int, str]) -> None:
        if cell != self.cell or not notes:
            return  # another cell is shown by now, or no current report flags any of these images
        by_id = {int(m["image_id"]): m for m in self.cell_items}
        for i in range(self.cell_list.count()):
            item = self.cell_list.item(i)
            image_id = int(item.data(Qt.ItemDataRole.UserRole))
            if image_id in notes and image_id in by_id:
                self._describe_cell_item(item, by_id[image_id], notes[image_id])

    def _show_thumbnails(self, images: dict[int, Any]) -> None:
        for i in range(self.cell_list.count()):
            item = self.cell_list.item(i)
            image = images.get(int(item.data(Qt.ItemDataRole.UserRole)))
            if image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _update_relabel_buttons(self) -> None:
        selected = bool(self.cell_list.selectedItems())
        self.relabel_button.setEnabled(selected and self.class_combo.count() > 0)
        self.use_prediction_button.setEnabled(selected)

    def selected_image_ids(self) -> list[int]:
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.cell_list.selectedItems()]

    def relabel_selected(self) -> None:
        ids = self.selected_image_ids()
        if not ids or self.class_combo.currentData() is None:
            return
        self._relabel(ids, int(self.class_combo.currentData()), self.class_combo.currentText())

    def accept_predictions(self) -> None:
        project = self.session.project
        if project is None:
            return
        by_prediction: dict[str, list[int]] = {}
        wanted = set(self.selected_image_ids())
        for m in self.cell_items:
            if int(m["image_id"]) in wanted:
                by_prediction.setdefault(str(m["predicted"]), []).append(int(m["image_id"]))
        for name, ids in by_prediction.items():
            info = project.class_by_name(name)
            if info is not None:
                self._relabel(ids, info.id, name)

    def _relabel(self, ids: list[int], class_id: int, name: str) -> None:
        try:
            self.session.undo_stack.push(LabelImages(self.session, ids, class_id, name))
        except ProjectError as exc:
            self.session.status_message.emit(str(exc))
            return
        self.refresh_cell_labels()
        self.session.status_message.emit(f"Relabelled {len(ids)} image{'s' if len(ids) != 1 else ''} as {name}")

    def refresh_cell_labels(self) -> None:
        """Each listed image's caption from its label now (a relabel, its undo or a change elsewhere)."""
        project = self.session.project
        if project is None or not self.cell_items:
            return
        ids = [int(m["image_id"]) for m in self.cell_items]
        now = {r.id: r.label for r in project.images(ids=ids)}
        for i, m in enumerate(self.cell_items):
            item = self.cell_list.item(i)
            label = now.get(int(m["image_id"]), m["true"])
            if item is None:
                continue
            if str(label) == str(m["true"]):
                self._describe_cell_item(item, m, None)
            else:
                item.setText(f"now labelled {label or 'unlabelled'}\n(was {m['true']})")

    def open_cell_image(self, item: QListWidgetItem) -> None:
        """The test image large (double-click or Enter on a thumbnail), with its neighbours a key away."""
        from studio.gui.widgets.preview_dialog import ImagePreviewDialog

        project = self.session.project
        if project is None or not self.cell_items:
            return
        records = project.images(ids=[int(m["image_id"]) for m in self.cell_items])
        order = {r.id: r for r in records}
        ordered = [order[int(m["image_id"])] for m in self.cell_items if int(m["image_id"]) in order]
        wanted = int(item.data(Qt.ItemDataRole.UserRole))
        index = next((i for i, r in enumerate(ordered) if r.id == wanted), 0)
        if ordered:
            self.preview_dialog = ImagePreviewDialog(project, ordered, index, self, session=self.session)
            self.preview_dialog.show()

    # ----- compare -----------------------------------------------------------------------------
    def _refresh_compare(self) -> None:
        project = self.session.project
        rows = compare_runs(project) if project else []
        table = self.compare_table
        table.setSortingEnabled(False)
        table.setRowCount(len(rows))
        for r, row in enumerate(reversed(rows)):
            run_text = RunSummary.of(project.run(row["run"])).stamp if project else row["run"]
            values = [
                (run_text, None), (row["arch"], None), ("augmented" if row["augment"] else "none", None),
                (row["status"], None), (format_fraction(row["best_val_accuracy"]), row["best_val_accuracy"]),
                (format_fraction(row["test_accuracy"]), row["test_accuracy"]),
                (format_fraction(row["macro_f1"]), row["macro_f1"]), (format_count(row["params"]), row["params"]),
                (format_bytes(row["weight_bytes"]), row["weight_bytes"]),
                (format_duration(row["train_seconds"]), row["train_seconds"]),
                ("" if row["epochs_run"] is None else str(row["epochs_run"]), row["epochs_run"]),
            ]
            for c, (text, number) in enumerate(values):
                item = _SortItem(text, number)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole + 1, row["run"])
                    item.setToolTip(row["run"])
                if number is not None:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        self._mark_best(rows)
        table.setSortingEnabled(True)

    def _mark_best(self, rows: list[dict[str, Any]]) -> None:
        """Tint the best value of each score column, so the winning run stands out."""
        if len(rows) < 2:
            return
        for key, header in (("best_val_accuracy", "Best val acc"), ("test_accuracy", "Test acc"),
                            ("macro_f1", "Macro F1")):
            values = [r[key] for r in reversed(rows)]
            known = [v for v in values if v is not None]
            if not known:
                continue
            col = COMPARE_HEADERS.index(header)
            for r, v in enumerate(values):
                if v is not None and v == max(known):
                    item = self.compare_table.item(r, col)
                    item.setBackground(QColor("#d7f0d2"))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)

    def _open_compared_run(self, row: int, _column: int) -> None:
        item = self.compare_table.item(row, 0)
        run_id = item.data(Qt.ItemDataRole.UserRole + 1) if item else None
        if run_id:
            self.run_picker.select_run(str(run_id))
            self.tabs.setCurrentIndex(0)

    # ----- saving ------------------------------------------------------------------------------
    def _save(self, kind: str) -> None:
        if self.report is None:
            return
        filters = {"html": "HTML page (*.html)", "csv": "CSV table (*.csv)", "json": "JSON (*.json)"}
        name = f"report-{self.report_run_id}.{kind}"
        path, _ = QFileDialog.getSaveFileName(self, "Save the report", str(Path.home() / name), filters[kind])
        if path:
            self.save_report(Path(path), kind)

    def save_report(self, path: Path, kind: str) -> None:
        """Write the shown report; HTML embeds the confusion matrix and the run's curves as PNG images."""
        if self.report is None:
            raise ValueError("no report to save")
        if kind == "json":
            write_json(path, self.report)
        elif kind == "csv":
            write_csv(path, self.report)
        else:
            selected, self.matrix.selected = self.matrix.selected, None  # no click highlight in a report
            images = {"Confusion matrix (rows: true class, columns: predicted)": _png(self.matrix)}
            self.matrix.selected = selected
            project = self.session.project
            history = saved_history(project, self.report_run_id) if project else {}
            if any(history.values()):
                curves = CurvesWidget()
                curves.add_run(self.report_run_id, self.report_run_id, history)
                size = QSize(1000, 360)
                curves.resize(size)
                curves.draw_now()  # never shown: the plots are built and drawn here
                images["Training curves"] = _png(curves, size)
                curves.deleteLater()
            title = f"Classification report · {RunSummary.of(project.run(self.report_run_id)).describe()}" \
                if project else "Classification report"
            write_html(path, self.report, title, images)
        self.session.status_message.emit(f"Saved the report to {path}")


class _SortItem(QTableWidgetItem):
    """Sorts numerically by the raw value when it has one (so 1.2 MB sorts after 900 kB)."""

    def __init__(self, text: str, number: float | None) -> None:
        super().__init__(text)
        self.number = number

    def __lt__(self, other: QTableWidgetItem) -> bool:
        # Never call QTableWidgetItem.__lt__ here: it dispatches back to this override (endless recursion).
        if isinstance(other, _SortItem) and (self.number is not None or other.number is not None):
            if self.number is None or other.number is None:
                return self.number is None  # empty cells sort first ascending, last descending
            return float(self.number) < float(other.number)
        return self.text() < other.text()
