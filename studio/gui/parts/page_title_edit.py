"""The web page's title, named by the user: empty means the default (the class names, shown as the
placeholder). Kept per project (a project setting), passed to the export as ``--title``."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QWidget

from studio.core.export.web_app import page_title
from studio.core.project.store import Project, ProjectError

TITLE_SETTING = "page_title"


class PageTitleEdit(QLineEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageTitleEdit")
        self.setMaxLength(80)
        self.setToolTip("The title the exported page shows (and the name it gets when installed as an app). "
                        "Leave it empty for the class names.")
        self.project: Project | None = None
        self.editingFinished.connect(self._save)

    def set_project(self, project: Project | None) -> None:
        self.project = project
        saved = project.get_setting(TITLE_SETTING, "") if project is not None else ""
        self.setText(saved if isinstance(saved, str) else "")
        labels = project.class_names() if project is not None else []
        self.setPlaceholderText(page_title(None, labels) if labels else "Page title")

    def title(self) -> str | None:
        """The user's title, or None for the default."""
        text = " ".join(self.text().split())
        return text or None

    def _save(self) -> None:
        if self.project is not None:
            try:
                self.project.set_setting(TITLE_SETTING, self.title() or "")
            except ProjectError:
                pass  # a closed or read-only project: the title still goes to this export
