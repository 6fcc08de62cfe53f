"""An in-window notice for a link or folder the desktop could not open: what failed, the address (selectable)
and a Copy button, so the user can paste it into a browser or file manager themselves."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class LinkNotice(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linkNotice")
        self.setStyleSheet("#linkNotice{background:#fff4e0;border:1px solid #f0c987;border-radius:5px}")
        self.link = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)
        self.copy_button = QPushButton("Copy link")
        self.copy_button.clicked.connect(self.copy)
        layout.addWidget(self.copy_button)
        self.hide()

    def show_failure(self, what: str, how: str, link: str, copy_text: str = "Copy link") -> None:
        self.link = link
        self.text.setText(f"<b>{html.escape(what)}</b> {html.escape(how)} <code>{html.escape(link)}</code>")
        self.copy_button.setText(copy_text)
        self.show()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.link)
        self.copy_button.setText("Copied")

    def clear(self) -> None:
        self.link = ""
        self.hide()
