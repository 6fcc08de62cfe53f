"""The Train page (placeholder until it is built): says what it will hold."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.gui.session import Session


class TrainPage(QWidget):
    title = "Train"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        label = QLabel("<h2>Train</h2><p>Train Dense, CNN and CNN-with-Dropout models and watch live loss and accuracy curves.</p>")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        QVBoxLayout(self).addWidget(label)
