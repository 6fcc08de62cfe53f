"""Help inside the studio: the getting-started guide (one step per page, with the demo) and the shortcut sheet."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio.gui.page_list import PAGES, switch_shortcut_row


def guide_html() -> str:
    steps = "".join(f"<li><p><b>{p.title}.</b> {p.help}</p></li>\n" for p in PAGES)
    return (f"<h2>Getting started: {len(PAGES)} steps to a model that runs in a web browser</h2>\n"
            "<p>Try it first with the <b>demo project</b> (handwritten digits): press <i>Open the demo project</i> "
            f"below.</p>\n<ol>\n{steps}</ol>\n"
            "<p>Press <b>Ctrl+/</b> for every keyboard shortcut, <b>F1</b> for this guide.</p>\n")


SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("The key beside a class", "Label the selected images with that class (Images page and preview)"),
    ("Type a class name, Enter", "Label the selected images with that class (a new name adds it)"),
    ("0 (or - when a class is called 0)", "Remove the label"),
    ("Space or Enter", "Open the selected image large"),
    ("← / →", "Previous / next image in the preview"),
    ("Delete", "Move the selected images to the trash"),
    ("Ctrl+A", "Select all images"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"),
    switch_shortcut_row(),
    ("Ctrl+N / Ctrl+O", "New project / open a project"),
    ("Ctrl+I", "Import images"),
    ("F1", "Getting started"),
    ("Ctrl+/", "This list of shortcuts"),
)


class GettingStartedDialog(QDialog):
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gettingStarted")
        self.setWindowTitle("Getting started")
        text = QTextBrowser()
        text.setHtml(guide_html())
        text.setOpenExternalLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.demo_button = QPushButton("Open the demo project")
        buttons.addButton(self.demo_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.demo_button.clicked.connect(self.demo_requested)
        self.demo_button.clicked.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text, 1)
        layout.addWidget(buttons)
        self.resize(640, 520)


class ShortcutSheet(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(SHORTCUTS), 2)
        table.setHorizontalHeaderLabels(["Keys", "What they do"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for row, (keys, what) in enumerate(SHORTCUTS):
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(what))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # Descriptions wrap onto a second line instead of being cut off with "…".
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table, 1)
        layout.addWidget(buttons)
        self.resize(680, 560)  # every row (two wrap onto a second line) without scrolling
