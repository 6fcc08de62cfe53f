"""The Export page (placeholder until it is built): says what it will hold."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.gui.session import Session


class ExportPage(QWidget):
    title = "Export"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        label = QLabel("<h2>Export</h2><p>One click writes a ready-to-host TensorFlow.js web bundle and previews it in the browser.</p>")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        QVBoxLayout(self).addWidget(label)
