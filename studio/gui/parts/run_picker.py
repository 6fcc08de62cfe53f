"""A combo box of a project's finished runs, newest first; the Evaluate and Export pages share it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from studio.core.project.store import Project
from studio.gui.parts.run_summary import RunSummary


class RunPicker(QComboBox):
    run_selected = Signal(str)  # run id, "" when there is none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumContentsLength(12)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setPlaceholderText("no finished run yet — train one on the Train page")
        self.currentIndexChanged.connect(lambda _i: self.run_selected.emit(self.current_run_id()))
        # Until the user picks a run by hand, the newest finished run is shown (a run that just finished).
        self.user_chose = False
        self.activated.connect(lambda _i: setattr(self, "user_chose", True))

    def current_run_id(self) -> str:
        data = self.currentData()
        return str(data) if data else ""

    def reload(self, project: Project | None) -> None:
        """Refill, keeping a run the user chose while it exists; otherwise select the newest."""
        keep = self.current_run_id()
        runs = [r for r in (project.runs() if project else []) if r.status == "finished"]
        runs.reverse()
        self.blockSignals(True)
        self.clear()
        for run in runs:
            self.addItem(RunSummary.of(run).describe(), run.id)
        index = self.findData(keep) if keep and self.user_chose else -1
        self.setCurrentIndex(index if index >= 0 else (0 if runs else -1))
        self.blockSignals(False)
        if self.current_run_id() != keep:
            self.run_selected.emit(self.current_run_id())

    def select_run(self, run_id: str) -> None:
        index = self.findData(run_id)
        if index >= 0:
            self.user_chose = True
            self.setCurrentIndex(index)
