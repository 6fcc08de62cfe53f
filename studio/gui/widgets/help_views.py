"""Help inside the studio: the getting-started guide (the five steps, with the demo) and the shortcut sheet."""

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

GUIDE = """
<h2>Getting started: five steps to a model that runs in a web browser</h2>
<p>Try it first with the <b>demo project</b> (handwritten digits): press <i>Open the demo project</i> below.</p>
<ol>
<li><p><b>Images.</b> Drop a folder onto the window (a folder with one subfolder per class is labelled by
folder name), or use <i>Import</i> or the <i>Camera</i>. To label, select images and press the key shown beside
a class, or just type the class name and press Enter (a new name adds the class). Drag images onto a class
works too. Aim for 30 or more images per class.</p></li>
<li><p><b>Augment</b> (optional). See how the training images are varied (small shifts, zoom, lighting) so the
model copes with new pictures. The recommended preset is already chosen; the Train page uses it when its
<i>Vary the training images</i> box is ticked (it is, when your classes are small).</p></li>
<li><p><b>Train.</b> Press <i>Train</i>. The model and settings are chosen from your images, and training stops
by itself when it stops improving. Warnings tell you when there are too few images.</p></li>
<li><p><b>Evaluate.</b> See how well the model does on test images it never trained on, which classes it
confuses, and the images behind each mistake (fix a wrong label right there).</p></li>
<li><p><b>Export.</b> Write the web bundle and press <i>Preview in browser</i>: the page classifies your
webcam or pictures, entirely in the browser, offline.</p></li>
</ol>
<p>Press <b>Ctrl+/</b> for every keyboard shortcut, <b>F1</b> for this guide.</p>
"""

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("The key beside a class", "Label the selected images with that class (Images page and preview)"),
    ("Type a class name, Enter", "Label the selected images with that class (a new name adds it)"),
    ("0 (or - when a class is called 0)", "Remove the label"),
    ("Space or Enter", "Open the selected image large"),
    ("← / →", "Previous / next image in the preview"),
    ("Delete", "Move the selected images to the trash"),
    ("Ctrl+A", "Select all images"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"),
    ("Ctrl+1 … Ctrl+5", "Images, Augment, Train, Evaluate, Export"),
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
        text.setHtml(GUIDE)
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
