"""The Export page: pick a run and a quantization (with each one's bundle size and test accuracy shown
first), write the web bundle (and zip) in one click, and preview it in the system browser.

Exports run ``edge-studio export ... --json`` in a child process; the estimates run
``edge-studio export --estimate --json`` (:mod:`studio.core.export.estimate`) in another. The preview server runs
on daemon threads of this process (it only serves files) and stops when the page is told to stop or the
project changes.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.commands.protocol import estimate_argv, export_argv
from studio.core.events import Event, QuantizationEstimate
from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets import DEFAULT_TARGET, TARGETS, get_target
from studio.core.project.store import Project, ProjectError
from studio.core.resolve.export import ExportChoices, ExportPlan, resolve_export
from studio.core.specs import SpecError
from studio.gui.jobs.browser_launch import BrowserLauncher
from studio.gui.jobs.training_process import CliProcess, ProcessOutcome
from studio.gui.parts import export_formats, export_memory
from studio.gui.parts.link_notice import LinkNotice
from studio.gui.parts.open_world_box import OpenWorldBox, open_world_text
from studio.gui.parts.page_title_edit import PageTitleEdit
from studio.gui.parts.run_picker import RunPicker
from studio.gui.parts.run_summary import format_bytes, format_fraction
from studio.gui.session import Session

QUANT_TEXT = {"none": "None (float32)", "float16": "float16 (half the size)",
              "uint8": "uint8 (a quarter of the size)", "int8": "int8, full-integer (a quarter of the size)"}
MEASURED_TEXT = ("Sizes are of the real bundle; accuracy is on the test split with the weights the bundle "
                 "holds.")
QUANT_ROW_HEIGHT = 28
QUANT_HEADERS = ("Quantization", "Bundle size", "Model size", "Test accuracy", "Macro F1")
EXPORTS_HOME = Path.home() / "EdgeStudioExports"


def _written_title(result: dict[str, Any]) -> str:
    fmt = str(result.get("format", DEFAULT_TARGET))
    return "Web bundle written" if fmt == DEFAULT_TARGET else f"{fmt} model written"


def _quantization_words(name: Any) -> str:
    """"uint8 (a quarter of the size)" rather than a bare "(none)" in the result line."""
    return QUANT_TEXT.get(str(name), str(name or ""))


class ExportPage(QWidget):

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        # format -> run id -> quantization -> numbers
        self._estimates_by_format: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self._estimate_format = DEFAULT_TARGET
        self.last_export: dict[str, Any] | None = None
        self.server: Any = None
        self._estimate_process: CliProcess | None = None
        self._estimate_run = ""
        self._export_process: CliProcess | None = None
        self._out_edited = False
        self._build()
        session.project_changed.connect(self._on_project_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        session.runs_changed.connect(lambda: self.run_picker.reload(self.session.project))
        session.classes_changed.connect(lambda: self.title_edit.set_project(self.session.project))
        self._on_project_changed(session.project)

    # ----- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 12, 12, 12)
        root.setSpacing(10)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Run"))
        self.run_picker = RunPicker()
        bar.addWidget(self.run_picker, 1)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Format"))
        self.format_box = QComboBox()
        self.format_box.setMinimumContentsLength(12)  # long format names never widen the page
        self.format_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        # Grouped by device, in the cards' order; a target without a card comes last under its own name.
        listed = [c.name for c in export_formats.CARDS if c.name in TARGETS]
        for name in listed + [n for n in TARGETS if n not in listed]:
            card = export_formats.card(name)
            self.format_box.addItem(export_formats.label(card), name)
            self.format_box.setItemData(self.format_box.count() - 1, card.gets, Qt.ItemDataRole.ToolTipRole)
        self.format_box.currentIndexChanged.connect(self._on_format_changed)
        bar.addWidget(self.format_box, 1)
        root.addLayout(bar)

        quant = QGroupBox("Quantization: smaller files load faster; the table says what each costs in accuracy")
        q_layout = QVBoxLayout(quant)
        self.quant_table = QTableWidget(len(self.quantizations()), len(QUANT_HEADERS))
        self.quant_table.setHorizontalHeaderLabels(QUANT_HEADERS)
        self.quant_table.verticalHeader().setVisible(False)
        self.quant_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.quant_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.quant_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.quant_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.quant_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.quant_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.quant_table.verticalHeader().setMinimumSectionSize(QUANT_ROW_HEIGHT)
        self.quant_table.verticalHeader().setDefaultSectionSize(QUANT_ROW_HEIGHT)
        # Three rows (one format offers at most three): the page fits a 1024x640 laptop window.
        self.quant_table.setFixedHeight(self.quant_table.horizontalHeader().sizeHint().height() +
                                        3 * QUANT_ROW_HEIGHT + 4)
        self._fill_quantization_rows()
        self.quant_table.itemSelectionChanged.connect(self._update_out_default)
        q_layout.addWidget(self.quant_table)
        measure_row = QHBoxLayout()
        self.estimate_status = QLabel("")
        self.estimate_status.setStyleSheet("color:#555")
        self.estimate_status.setWordWrap(True)
        measure_row.addWidget(self.estimate_status, 1)
        self.measure_button = QPushButton("Measure again")
        self.measure_button.clicked.connect(lambda: self.measure(force=True))
        measure_row.addWidget(self.measure_button)
        q_layout.addLayout(measure_row)
        root.addWidget(quant)

        target = self.target_box = QGroupBox()
        t_layout = QVBoxLayout(target)
        self.format_hint = QLabel()  # what the chosen format writes, then how to run it
        self.format_hint.setWordWrap(True)
        self.format_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Three lines at laptop width: a wrapped label's own hint is computed for another width and clips.
        self.format_hint.setMinimumHeight(3 * self.format_hint.fontMetrics().lineSpacing())
        t_layout.addWidget(self.format_hint)
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Folder"))
        self.out_edit = QLineEdit()
        self.out_edit.textEdited.connect(lambda _t: setattr(self, "_out_edited", True))
        out_row.addWidget(self.out_edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row.addWidget(browse)
        out_row.addSpacing(12)
        out_row.addWidget(QLabel("Page title"))
        self.title_edit = PageTitleEdit()
        out_row.addWidget(self.title_edit, 1)
        t_layout.addLayout(out_row)
        unsure_label = QLabel("Say “not sure” below")
        # The lowest value stands for "automatic": the export derives it from the validation split.
        self.unsure_spin = QDoubleSpinBox()
        self.unsure_spin.setRange(-0.01, 1.0)
        self.unsure_spin.setDecimals(2)
        self.unsure_spin.setSingleStep(0.05)
        self.unsure_spin.setSpecialValueText("automatic")
        self.unsure_spin.setValue(-0.01)
        self.unsure_spin.setToolTip("The page answers “not sure” instead of naming a class when its top probability "
                                    "is below this. Automatic: the confidence below which the model was more "
                                    "often wrong than right on the validation split.")
        self.unsure_hint = QLabel("")  # the last export's threshold, when there is one
        self.unsure_hint.setStyleSheet("color:#555")
        options = QHBoxLayout()
        self.zip_box = QCheckBox("Also write a .zip")
        self.zip_box.setToolTip("A single file to upload to any static web host")
        self.zip_box.setChecked(True)
        options.addWidget(self.zip_box)
        options.addSpacing(12)
        # One row with the zip option: a laptop's 640-px-high window has no room for another.
        options.addWidget(unsure_label)
        options.addWidget(self.unsure_spin)
        options.addWidget(self.unsure_hint)
        options.addStretch(1)
        self.export_button = QPushButton("Export web bundle")
        self.export_button.setDefault(True)
        self.export_button.setMinimumHeight(34)
        self.export_button.setObjectName("primaryButton")
        self.export_button.clicked.connect(self.export)
        options.addWidget(self.export_button)
        t_layout.addLayout(options)
        self.open_world = OpenWorldBox()  # "Not one of the classes": the share kept, the "other things"
        t_layout.addWidget(self.open_world)
        root.addWidget(target)
        self._show_format_card()

        self.result = QFrame()
        self.result.setObjectName("exportResult")
        self.result.setStyleSheet("#exportResult{background:#f4f6fa;border:1px solid #dde2ea;border-radius:6px}")
        r_layout = QVBoxLayout(self.result)
        r_layout.setContentsMargins(8, 4, 8, 4)  # the page fits a 1024x640 window (tests/gui/test_layout.py)
        self.result_text = QLabel("No bundle written yet.")
        self.result_text.setMinimumHeight(3 * self.result_text.fontMetrics().lineSpacing())
        self.result_text.setWordWrap(True)
        self.result_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        r_layout.addWidget(self.result_text)
        actions = QHBoxLayout()
        self.preview_button = QPushButton("Preview in browser")
        self.preview_button.clicked.connect(self.preview)
        self.stop_button = QPushButton("Stop preview")
        self.stop_button.clicked.connect(self.stop_preview)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.clicked.connect(self.open_folder)
        self.phone_button = QPushButton("Try on your phone…")
        self.phone_button.setToolTip("Open the page on a phone on the same network: https, a QR code, asks first")
        self.phone_button.clicked.connect(self.open_phone_preview)
        self.phone_dialog: Any = None
        self.url_label = QLabel("")
        self.url_label.setOpenExternalLinks(True)
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.url_label.setWordWrap(True)
        for w in (self.preview_button, self.stop_button, self.phone_button, self.open_folder_button):
            actions.addWidget(w)
        actions.addSpacing(12)
        actions.addWidget(self.url_label, 1)
        r_layout.addLayout(actions)
        self.link_notice = LinkNotice()  # "no browser could be started", with Copy link
        r_layout.addWidget(self.link_notice)
        self.browser = BrowserLauncher(self)
        self.browser.failed.connect(self._browser_failed)
        root.addWidget(self.result)
        root.addStretch(1)
        self._update_actions()

        self.run_picker.run_selected.connect(self._on_run_selected)

    # ----- state -------------------------------------------------------------------------------
    @property
    def estimates(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Run id -> quantization -> numbers, for the chosen format."""
        return self._estimates_by_format.setdefault(self.format(), {})

    def format(self) -> str:
        return str(self.format_box.currentData() or DEFAULT_TARGET) if hasattr(self, "format_box") \
            else DEFAULT_TARGET

    def set_format(self, name: str) -> None:
        self.format_box.setCurrentIndex(self.format_box.findData(name))

    def _show_format_card(self) -> None:
        card = export_formats.card(self.format())
        self.target_box.setTitle(export_formats.label(card))
        self.format_hint.setText(f"<span style='color:#555'>{html.escape(card.gets)}</span> "
                                 f"<b>How to run it:</b> {html.escape(card.run)}")
        self.export_button.setText(card.button)

    def quantizations(self) -> tuple[str, ...]:
        return get_target(self.format()).quantizations

    def _fill_quantization_rows(self) -> None:
        quants = self.quantizations()
        self.quant_table.setRowCount(len(quants))
        for r, q in enumerate(quants):
            self.quant_table.setRowHeight(r, QUANT_ROW_HEIGHT)
            self.quant_table.setItem(r, 0, QTableWidgetItem(QUANT_TEXT.get(q, q)))
        self._select_default_quantization()

    def export_plan(self) -> ExportPlan | None:
        """What `edge-studio export` decides for the selected run and format with no flags (None: no run)."""
        project, run_id = self.session.project, self.run_picker.current_run_id()
        if project is None or not run_id:
            return None
        try:
            return resolve_export(project, run_id, ExportChoices(format=self.format()))
        except (ProjectError, SpecError, ExportError):
            return None

    def _select_default_quantization(self) -> None:
        """Select, and mark, the quantization the resolver decides for this run and format."""
        plan = self.export_plan()
        default = plan.quantization if plan is not None else get_target(self.format()).default_quantization
        for r, q in enumerate(self.quantizations()):
            text = QUANT_TEXT.get(q, q) + (" · default" if q == default else "")
            item = self.quant_table.item(r, 0)
            if item is not None:
                item.setText(text)
        if default in self.quantizations():
            self.set_quantization(default)

    def _on_format_changed(self) -> None:
        self._show_format_card()
        self._fill_quantization_rows()
        self.unsure_spin.setEnabled(get_target(self.format()).web_page)
        self._update_out_default()
        self._show_estimates()
        if self.run_picker.current_run_id() and self.isVisible():
            self.measure()

    def quantization(self) -> str:
        rows = self.quant_table.selectionModel().selectedRows()
        quants = self.quantizations()
        return quants[rows[0].row()] if rows and rows[0].row() < len(quants) else "none"

    def unsure_threshold(self) -> float | None:
        """None = automatic (derived from the validation split at export)."""
        value = self.unsure_spin.value()
        return None if value < 0 else value

    def set_quantization(self, quantization: str) -> None:
        self.quant_table.selectRow(self.quantizations().index(quantization))

    def _on_project_changed(self, project: Project | None) -> None:
        self.stop_preview()
        if self.phone_dialog is not None:
            self.phone_dialog.close()  # stops serving
            self.phone_dialog.deleteLater()
            self.phone_dialog = None
        self._cancel_processes()
        self._estimates_by_format.clear()
        self._out_edited = False
        self._restore_last_export(project)
        self.title_edit.set_project(project)
        self.open_world.set_project(project)
        self.run_picker.user_chose = False
        self.run_picker.reload(project)
        self._on_run_selected(self.run_picker.current_run_id())

    def _cancel_processes(self) -> None:
        """Stop the measuring and exporting children; they were cancelled, so their end is not reported
        as a failure ("the process crashed") on the page."""
        for process in (self._estimate_process, self._export_process):
            if process is not None:
                process.finished.disconnect()
                process.kill()
                process.wait(5_000)
                process.deleteLater()
        if self._estimate_process is not None:
            self.estimate_status.setText("")
        self._estimate_process = self._export_process = None
        self.measure_button.setEnabled(bool(self.run_picker.current_run_id()))

    def _restore_last_export(self, project: Project | None) -> None:
        self.last_export = export_memory.last_export(project) if project is not None else None
        self.link_notice.clear()
        if self.last_export is None:
            self.result_text.setText("No bundle written yet.")
        else:
            self._show_written(self.last_export, "Last export: ")

    def _on_run_selected(self, run_id: str) -> None:
        self._select_default_quantization()
        self._update_out_default()
        self._show_estimates()
        self.export_button.setEnabled(bool(run_id) and self._export_process is None)
        self.measure_button.setEnabled(bool(run_id))
        if run_id and self.isVisible():
            self.measure()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self.run_picker.current_run_id():
            self.measure()

    def _update_out_default(self) -> None:
        project, run_id = self.session.project, self.run_picker.current_run_id()
        if self._out_edited:
            return
        if project is None or not run_id:  # never a folder named after another project or run
            self.out_edit.clear()
            self.out_edit.setPlaceholderText("Train a model first; its bundle folder appears here")
            return
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in project.name).strip("-") or "project"
        fmt = "" if self.format() == DEFAULT_TARGET else f"-{self.format()}"
        self.out_edit.setText(str(EXPORTS_HOME / f"{safe}-{run_id}{fmt}-{self.quantization()}"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into folder", str(EXPORTS_HOME))
        if folder:
            self.out_edit.setText(str(Path(folder) / Path(self.out_edit.text() or "bundle").name))
            self._out_edited = True

    def _update_actions(self) -> None:
        have_bundle = self.last_export is not None
        web = have_bundle and get_target(str(self.last_export.get("format", DEFAULT_TARGET))).web_page
        self.preview_button.setEnabled(web and self.server is None)
        self.stop_button.setEnabled(self.server is not None)
        self.open_folder_button.setEnabled(have_bundle)
        self.phone_button.setEnabled(web)

    # ----- estimates ---------------------------------------------------------------------------
    def measure(self, force: bool = False) -> None:
        """Measure size and test accuracy of every quantization of the selected run (child process)."""
        project, run_id = self.session.project, self.run_picker.current_run_id()
        if project is None or not run_id or self._estimate_process is not None:
            return
        if not force and run_id not in self.estimates:
            self.estimates[run_id] = export_memory.stored_estimates(project, run_id, self.format())
            self._show_estimates()
        if run_id in self.estimates and len(self.estimates[run_id]) == len(self.quantizations()) and not force:
            self.estimate_status.setText(MEASURED_TEXT)
            return
        self.estimates[run_id] = {}
        self._estimate_run = run_id
        self._estimate_format = self.format()
        self._show_estimates()
        self.estimate_status.setText("Measuring each quantization: exporting it and testing it on the test split…")
        self.measure_button.setEnabled(False)
        self._estimate_process = CliProcess(estimate_argv(project.root, run_id, fmt=self.format()), self)
        self._estimate_process.event.connect(self._on_estimate)
        self._estimate_process.finished.connect(self._on_estimates_done)
        self._estimate_process.start()

    def is_measuring(self) -> bool:
        return self._estimate_process is not None

    def _on_estimate(self, event: Event) -> None:
        if isinstance(event, QuantizationEstimate):
            measured = self._estimates_by_format.setdefault(self._estimate_format, {})
            measured.setdefault(self._estimate_run, {})[event.quantization] = event.to_dict()
            self._show_estimates()

    def _on_estimates_done(self, outcome: ProcessOutcome) -> None:
        process, self._estimate_process = self._estimate_process, None
        if process is not None:
            process.deleteLater()
        self.measure_button.setEnabled(bool(self.run_picker.current_run_id()))
        if outcome.ok:
            self.estimate_status.setText(MEASURED_TEXT)
        else:
            self.estimate_status.setText(f"Could not measure: {outcome.error_message()}")
        if (self.run_picker.current_run_id(), self.format()) != (self._estimate_run, self._estimate_format) \
                and self.isVisible():
            self.measure()

    def _show_estimates(self) -> None:
        numbers = self.estimates.get(self.run_picker.current_run_id(), {})
        base = numbers.get("none", {}).get("test_accuracy")
        for r, q in enumerate(self.quantizations()):
            row = numbers.get(q)
            acc = row.get("test_accuracy") if row else None
            acc_text = format_fraction(acc) if acc is not None else ("measuring…" if self._estimate_process else "")
            if acc is not None and base is not None and q != "none":
                acc_text += f"  ({(acc - base) * 100:+.1f} pts)"
            cells = [format_bytes(row["bytes"]) if row else "", format_bytes(row["model_bytes"]) if row else "",
                     acc_text, format_fraction(row.get("macro_f1")) if row else ""]
            for c, text in enumerate(cells, start=1):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.quant_table.setItem(r, c, item)

    # ----- export ------------------------------------------------------------------------------
    def export_args(self) -> list[str] | None:
        """The `edge-studio export` command line the Export button runs (None: nothing to export)."""
        project, run_id = self.session.project, self.run_picker.current_run_id()
        out = self.out_edit.text().strip()
        if project is None or not run_id or not out:
            return None
        return export_argv(project.root, run_id, out, self.quantization(), zip_too=self.zip_box.isChecked(),
                           force=True, unsure_threshold=self.unsure_threshold(), fmt=self.format(),
                           keep_known=self.open_world.keep(), title=self.title_edit.title())

    def export(self) -> None:
        args = self.export_args()
        out = self.out_edit.text().strip()
        if args is None or self._export_process is not None:
            return
        self.stop_preview()
        self.export_button.setEnabled(False)
        what = "the web bundle" if self.format() == DEFAULT_TARGET else f"the {self.format()} model"
        self.result_text.setText(f"Writing {what} ({self.quantization()}) to {out}…")
        self._export_process = CliProcess(args, self)
        self._export_process.finished.connect(self._on_exported)
        self._export_process.start()

    def is_exporting(self) -> bool:
        return self._export_process is not None

    def _on_exported(self, outcome: ProcessOutcome) -> None:
        process, self._export_process = self._export_process, None
        if process is not None:
            process.deleteLater()
        self.export_button.setEnabled(bool(self.run_picker.current_run_id()))
        result = outcome.result if outcome.ok else None
        if result is None or "out" not in result:
            self.result_text.setText(f"<span style='color:#c62828'>Export failed: "
                                     f"{outcome.error_message()}</span>")
            self.last_export = None
        else:
            self.last_export = result
            if self.session.project is not None:
                export_memory.remember_export(self.session.project, result)
            self.open_world.show_measured(result.get("known_threshold"))
            self._show_written(result)
            self.session.status_message.emit(f"Exported the web bundle to {result['out']}")
        self._update_actions()

    def _show_written(self, result: dict[str, Any], prefix: str = "") -> None:
        zip_text = f"<br>Zip: {result['zip']}" if result.get("zip") else ""
        zip_text += open_world_text(result.get("known_threshold"))
        unsure = result.get("unsure_threshold")
        if isinstance(unsure, (int, float)):
            zip_text += f"<br>Says “not sure” below {unsure:.0%} confidence"
            self.unsure_hint.setText(f"last export: {unsure:.2f}")
        self.result_text.setText(
            f"{prefix}<b>{_written_title(result)}</b> ({_quantization_words(result.get('quantization'))}): "
            f"{len(result.get('files', []))} files, {format_bytes(result.get('bytes'))} "
            f"(model {format_bytes(result.get('model_bytes'))})<br>{result['out']}{zip_text}")
        self._update_actions()

    # ----- preview -----------------------------------------------------------------------------
    def preview(self) -> None:
        from studio.core.export.serve import PreviewServer

        if self.last_export is None:
            return
        self.stop_preview()
        try:
            self.server = PreviewServer(self.last_export["out"], port=0).start()
        except ProjectError as exc:
            self.session.status_message.emit(str(exc))
            self.url_label.setText(f"<span style='color:#c62828'>{exc}</span>")
            return
        url = self.server.url
        self.url_label.setText(f"Serving at <a href='{url}'>{url}</a> (this computer only)")
        self.link_notice.clear()
        self._update_actions()
        self.browser.open(url)

    def _browser_failed(self, url: str) -> None:
        if self.server is not None and url == self.server.url:
            self._open_failed("No web browser could be started.",
                              "Open this address in a web browser on this computer:", url)

    def _open_failed(self, what: str, how: str, copy: str, copy_text: str = "Copy link") -> None:
        """Say in the window what failed and what to do; the address (or folder) is selectable, with a
        Copy button."""
        self.link_notice.show_failure(what, how, copy, copy_text)
        self.session.status_message.emit(f"{what} {copy}")

    def stop_preview(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
            self.url_label.setText("Preview stopped.")
            self.link_notice.clear()
        self._update_actions()

    def open_phone_preview(self) -> None:
        """The phone preview window (:mod:`studio.gui.parts.phone_preview`); nothing is served until Start."""
        from studio.gui.parts.phone_preview import PhonePreviewDialog

        if self.last_export is None:
            return
        if self.phone_dialog is not None:
            self.phone_dialog.close()
            self.phone_dialog.deleteLater()
        self.phone_dialog = PhonePreviewDialog(self.last_export["out"], self)
        self.phone_dialog.show()

    def open_folder(self) -> None:
        if self.last_export is not None:
            folder = str(self.last_export["out"])
            if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
                self._open_failed("No file manager could be started.", "The bundle is in this folder:", folder,
                                  "Copy folder")

    def shutdown(self) -> None:
        """Called when the window closes: stop the server and any child process."""
        self._on_project_changed(None)
