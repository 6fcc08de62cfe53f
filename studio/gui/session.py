"""The open project and what every page shares: the undo stack and change notifications.

Pages receive the one :class:`Session` in their constructor, read ``session.project`` and listen to its
signals; any page that changes images, classes or runs emits the matching signal so the others refresh.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from studio.core.project.store import Project


class Session(QObject):
    project_changed = Signal(object)   # the new Project, or None when closed
    images_changed = Signal()          # images added, relabelled, trashed or restored
    classes_changed = Signal()         # classes added, renamed, recoloured, merged or deleted
    runs_changed = Signal()            # a run was queued, started, finished or deleted
    status_message = Signal(str)       # a short message for the status bar

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.undo_stack = QUndoStack(self)

    def set_project(self, project: Project | None) -> None:
        if self.project is not None and self.project is not project:
            self.project.close()
        self.project = project
        self.undo_stack.clear()
        self.project_changed.emit(project)
