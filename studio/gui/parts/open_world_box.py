"""The "Not one of the classes" row of the Export page: how many pictures of the classes the page still answers
(the rest of the world it turns away), the project's "other things" pictures, and how many of those the last
export turns away. The rule itself is :func:`studio.core.evaluation.unsure.calibrate`; this only shows it.

"Other things" are added with ``edge-studio import --not-a-class`` in a child process (decoding stays off the
UI thread); they never become a class.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from studio.commands.protocol import import_argv
from studio.core.project.store import Project, ProjectError
from studio.gui.jobs.training_process import CliProcess, ProcessOutcome

SUGGESTION = "No pictures of other things yet: add a few."  # short: one row of a 1024-px-wide page
SUGGESTION_TIP = ("Add a few pictures of what the camera sees when none of the classes is there (the room, the "
                  "desk, a face): the export then says how many of them the page turns away.")


def others_text(count: int, measured: dict[str, Any] | None = None) -> str:
    """What the row says about the project's "other things" (``measured``: an export's known_threshold)."""
    if count == 0:
        return SUGGESTION
    text = f"{count} picture{'s' if count != 1 else ''} of other things."
    if measured and isinstance(measured.get("others_refused"), (int, float)) and measured.get("others"):
        n = int(measured["others"])
        refused = float(measured["others_refused"])
        text += f" The last export turns away {round(refused * n)} of {n} ({refused:.0%})."
    return text


def open_world_text(measured: dict[str, Any] | None) -> str:
    """One line of the export result: what the page turns away, in plain words."""
    if not isinstance(measured, dict) or not isinstance(measured.get("keep"), (int, float)):
        return ""
    kept = measured.get("kept_validation")
    seen = f" (it answered {kept:.0%} of the validation pictures)" if isinstance(kept, (int, float)) else ""
    return (f"<br>Answers about {measured['keep']:.0%} of pictures of the classes{seen}; says “Not one of the "
            "classes” for pictures less like them")


class OpenWorldBox(QWidget):
    """``keep_changed(float)`` when the user picks another share; ``others_added(int)`` after an import."""

    keep_changed = Signal(float)
    others_added = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._project: Project | None = None
        self._process: CliProcess | None = None
        self._measured: dict[str, Any] | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Answer"))
        self.keep_spin = QSpinBox()
        self.keep_spin.setRange(50, 100)
        self.keep_spin.setSuffix(" %")
        self.keep_spin.setToolTip("The share of pictures of your classes the page still names. Anything that looks "
                                  "less like your training pictures than the rest gets “Not one of: …” instead. "
                                  "Measured on the validation pictures, never the test pictures.")
        self.keep_spin.valueChanged.connect(self._on_keep)
        row.addWidget(self.keep_spin)
        row.addWidget(QLabel("of pictures of the classes; turn away the rest."))
        self.others_label = QLabel(SUGGESTION)
        self.others_label.setWordWrap(True)
        self.others_label.setStyleSheet("color:#555")
        self.others_label.setToolTip(SUGGESTION_TIP)
        row.addWidget(self.others_label, 1)
        self.add_button = QPushButton("Add other things…")
        self.add_button.setToolTip("A folder of pictures that are none of the classes. They never become a class; "
                                   "they show how many such pictures the page turns away.")
        self.add_button.clicked.connect(self._choose_folder)
        row.addWidget(self.add_button)

    # ----- state -------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        from studio.core.evaluation import unsure

        self._project = project
        self._measured = None
        self.keep_spin.blockSignals(True)
        self.keep_spin.setValue(round(100 * (unsure.project_keep(project) if project else unsure.DEFAULT_KEEP)))
        self.keep_spin.blockSignals(False)
        self.setEnabled(project is not None)
        self.refresh()

    def keep(self) -> float:
        return self.keep_spin.value() / 100.0

    def others_count(self) -> int:
        from studio.core.project import others

        if self._project is None:
            return 0
        try:
            return others.count(self._project)
        except ProjectError:
            return 0

    def show_measured(self, known_threshold: dict[str, Any] | None) -> None:
        """An export's ``known_threshold`` (how many "other things" it refuses)."""
        self._measured = known_threshold if isinstance(known_threshold, dict) else None
        self.refresh()

    def refresh(self) -> None:
        self.others_label.setText(others_text(self.others_count(), self._measured))

    # ----- actions -----------------------------------------------------------------------------
    def _on_keep(self, value: int) -> None:
        from studio.core.evaluation import unsure

        if self._project is not None:
            try:
                unsure.save_keep(self._project, value / 100.0)
            except ProjectError:
                pass  # a read-only project: the export still gets the value on its command line
        self._measured = None  # measured at another share
        self.refresh()
        self.keep_changed.emit(value / 100.0)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of pictures that are none of the classes")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> CliProcess | None:
        if self._project is None or self._process is not None:
            return None
        self.add_button.setEnabled(False)
        self.others_label.setText("Adding pictures of other things…")
        self._process = CliProcess([*import_argv(self._project.root, [folder]), "--not-a-class"], self)
        self._process.finished.connect(self._on_added)
        self._process.start(b"")
        return self._process

    def _on_added(self, outcome: ProcessOutcome) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        self.add_button.setEnabled(True)
        self.refresh()
        if not outcome.ok:
            self.others_label.setText(f"<span style='color:#c62828'>Could not add them: "
                                      f"{outcome.error_message()}</span>")
            return
        self.others_added.emit(int((outcome.result or {}).get("added", 0)))

    def wait(self, msecs: int = 60_000) -> bool:
        return self._process.wait(msecs) if self._process is not None else True
