"""A centred message with an icon and optional buttons, for views with nothing to show yet."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    def __init__(self, icon: QIcon | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.icon_label = QLabel()
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if icon is not None:
            self.icon_label.setPixmap(icon.pixmap(QSize(96, 96)))
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel()
        self.body.setObjectName("emptyBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setFixedWidth(480)
        self.body.setMinimumHeight(4 * self.body.fontMetrics().lineSpacing() + 8)  # style fonts apply later
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(10)
        self.buttons.addStretch(1)
        self._button_row = QWidget()
        self._button_row.setLayout(self.buttons)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.icon_label)
        layout.addSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addWidget(self._button_row)
        layout.addStretch(2)

    def add_button(self, text: str, primary: bool = False) -> QPushButton:
        button = QPushButton(text)
        if primary:
            button.setObjectName("primaryButton")
        self.buttons.addWidget(button)
        return button

    def finish_buttons(self) -> None:
        self.buttons.addStretch(1)

    def set_message(self, title: str, body: str, buttons_visible: bool = True) -> None:
        self.title.setText(title)
        self.body.setText(body)
        self._button_row.setVisible(buttons_visible)
