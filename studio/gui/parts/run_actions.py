"""Rename and delete a run from the runs table (through the run store: the row and the folder together).

Both dialogs are window-modal but not blocking (``open``), so the event loop and a training run go on.
Deleting asks first: a run's model, curves and report cannot be brought back.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from studio.core.project import runs as run_store
from studio.core.project.store import ProjectError
from studio.gui.session import Session


def ask_rename(parent: QWidget, session: Session, run_id: str) -> QInputDialog | None:
    project = session.project
    if project is None:
        return None
    run = project.run(run_id)
    dialog = QInputDialog(parent.window())
    dialog.setWindowTitle("Rename run")
    dialog.setLabelText(f"A name for run {run.number} ({run.arch}); leave it empty for none:")
    dialog.setTextValue(run.name or "")

    def rename(name: str) -> None:
        try:
            run_store.rename_run(project, run_id, name)
        except ProjectError as exc:
            session.status_message.emit(str(exc))
            return
        session.runs_changed.emit()

    dialog.textValueSelected.connect(rename)
    dialog.open()
    return dialog


def confirm_delete(parent: QWidget, session: Session, run_id: str) -> QMessageBox | None:
    project = session.project
    if project is None:
        return None
    run = project.run(run_id)
    box = QMessageBox(QMessageBox.Icon.Warning, "Delete run",
                      f"Delete run {run.number} ({run.name or run.arch})?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent.window())
    box.setInformativeText("Its model, curves and report are deleted from the project folder; this cannot be "
                           "undone. Bundles already exported are kept.")
    box.button(QMessageBox.StandardButton.Yes).setText("Delete")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def answered(button) -> None:  # noqa: ANN001
        if box.standardButton(button) != QMessageBox.StandardButton.Yes:
            return
        try:
            run_store.delete_run(project, run_id)
        except ProjectError as exc:
            session.status_message.emit(str(exc))
            return
        session.status_message.emit(f"Deleted run {run.number}")
        session.runs_changed.emit()

    box.buttonClicked.connect(answered)
    box.open()
    return box
