"""The view shown when no project is open: the demo project, a new one, or a recent one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from studio import APP_NAME
from studio.gui.icons import app_icon
from studio.gui.widgets.progress_strip import ProgressStrip


class WelcomeView(QWidget):
    demo_requested = Signal()
    new_requested = Signal()
    open_requested = Signal()
    recent_chosen = Signal(str)
    guide_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(96, 96)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(f"Welcome to {APP_NAME}")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body = QLabel("Turn a pile of images into an image classifier that runs in any web browser, "
                      "offline. Start with the handwritten-digits demo to see every step, or make a "
                      "project of your own.")
        body.setObjectName("emptyBody")
        body.setWordWrap(True)
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body.setFixedWidth(540)
        # Style-sheet fonts apply after construction, so heightForWidth() here would be too small.
        body.setMinimumHeight(4 * body.fontMetrics().lineSpacing() + 8)
        self.demo_button = QPushButton("Open the demo project")
        self.demo_button.setObjectName("primaryButton")
        self.new_button = QPushButton("New project…")
        self.open_button = QPushButton("Open project…")
        self.demo_button.clicked.connect(self.demo_requested)
        self.new_button.clicked.connect(self.new_requested)
        self.open_button.clicked.connect(self.open_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.demo_button, self.new_button, self.open_button):
            b.setMinimumWidth(150)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.recent_title = QLabel("Recent projects")
        self.recent_title.setObjectName("panelTitle")
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.setFixedWidth(560)
        self.recent.setFixedHeight(150)
        self.recent.itemActivated.connect(lambda item: self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.recent.itemClicked.connect(lambda item: self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.guide_link = QPushButton("New here? Read the five steps (F1)")
        self.guide_link.setFlat(True)
        self.guide_link.setObjectName("guideLink")
        self.guide_link.setCursor(Qt.CursorShape.PointingHandCursor)
        self.guide_link.clicked.connect(self.guide_requested)
        self.progress = ProgressStrip(self)
        self.progress.setFixedWidth(560)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(logo)
        layout.addSpacing(8)
        layout.addWidget(title)
        layout.addWidget(body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(16)
        layout.addLayout(buttons)
        layout.addWidget(self.guide_link, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(20)
        layout.addWidget(self.recent_title, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.recent, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{Path(p).name}    —    {p}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.recent_title.setVisible(bool(paths))

    def set_busy(self, busy: bool) -> None:
        for b in (self.demo_button, self.new_button, self.open_button):
            b.setEnabled(not busy)
