"""The "Try it on your phone" window: asks first (one sentence on what it does), then serves the bundle over
https on the local network and shows the QR code of the one-time address, the certificate's fingerprint and
what the phone's browser will say about it, how many devices opened it and how long it has left.

It stops when the person presses Stop, closes the window, or the time runs out. The server
(:class:`studio.core.export.phone.PhoneServer`) runs on daemon threads; this window reads its state on a timer
(the server calls back from its own threads, where Qt widgets must not be touched).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.core.export.phone import CONSENT_TEXT, DEFAULT_TIMEOUT_MIN, PhoneServer, default_host
from studio.core.project.store import ProjectError

QR_PIXELS = 232


def qr_pixmap(url: str, pixels: int = QR_PIXELS) -> QPixmap:
    import io

    import segno

    qr = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, pixels // qr.symbol_size(border=4)[0]), border=4)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


class PhonePreviewDialog(QDialog):
    def __init__(self, bundle: str | Path, parent: QWidget | None = None, host: str | None = None,
                 cert_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Try it on your phone")
        self.bundle = Path(bundle)
        self.cert_dir = cert_dir
        self.server: PhoneServer | None = None
        self._shown_url = ""
        self._build(host)
        self._poll = QTimer(self)
        self._poll.setInterval(400)
        self._poll.timeout.connect(self.refresh)

    # ----- layout ------------------------------------------------------------------------------
    def _build(self, host: str | None) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(16, 16, 16, 16)
        root.setSpacing(16)
        self.qr = QLabel()
        self.qr.setFixedSize(QR_PIXELS, QR_PIXELS)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setStyleSheet("background:#f4f6fa;border:1px solid #dde2ea;border-radius:6px;color:#6b7385")
        self.qr.setText("The QR code\nappears here")
        root.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignTop)

        side = QVBoxLayout()
        side.setSpacing(8)
        self.consent = QLabel(CONSENT_TEXT)
        self.consent.setWordWrap(True)
        side.addWidget(self.consent)
        form = QHBoxLayout()
        form.addWidget(QLabel("Address"))
        self.host_edit = QLineEdit(host or self._default_host())
        self.host_edit.setToolTip("This computer's address on the network the phone is on")
        self.host_edit.setMaximumWidth(150)
        form.addWidget(self.host_edit)
        form.addSpacing(8)
        form.addWidget(QLabel("Stop after"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setDecimals(0)
        self.minutes.setValue(DEFAULT_TIMEOUT_MIN)
        self.minutes.setSuffix(" min")
        form.addWidget(self.minutes)
        form.addStretch(1)
        side.addLayout(form)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side.addWidget(self.status)
        self.warning = QLabel("")
        self.warning.setObjectName("hint")
        self.warning.setWordWrap(True)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side.addWidget(self.warning)
        for label in (self.status, self.warning):
            # Wrapped text grows into the free height (a stretch would take it and leave them one line high).
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primaryButton")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        for b in (self.start_button, self.stop_button, self.close_button):
            buttons.addWidget(b)
        side.addLayout(buttons)
        root.addLayout(side, 1)
        self.resize(780, QR_PIXELS + 230)

    @staticmethod
    def _default_host() -> str:
        try:
            return default_host()
        except ProjectError:
            return ""

    # ----- serving -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.server is not None:
            return
        try:
            self.server = PhoneServer(self.bundle, host=self.host_edit.text().strip() or None,
                                      timeout_s=self.minutes.value() * 60, cert_dir=self.cert_dir).start()
        except ProjectError as exc:
            self.server = None
            self.status.setText(f"<span style='color:#c62828'>{exc}</span>")
            return
        self._shown_url = ""
        for w in (self.host_edit, self.minutes, self.start_button):
            w.setEnabled(False)
        self.stop_button.setEnabled(True)
        cert = self.server.certificate
        pairs = cert.fingerprint.split(":") if cert else ["?"]
        # 32 bytes do not wrap: two lines of 16, as a person compares them with the phone's screen.
        lines = "<br>".join(":".join(pairs[i:i + 16]) for i in range(0, len(pairs), 16))
        self.warning.setText(f"{self.server.warning_text()}<br>Certificate fingerprint (SHA-256):<br>"
                             f"<span style='font-family:monospace'>{lines}</span>")
        self._poll.start()
        self.refresh()

    def refresh(self) -> None:
        server = self.server
        if server is None:
            return
        if not server.running:
            self._stopped(server)
            return
        url = server.url
        if url != self._shown_url:  # a device used the last code (or it expired): show the next one
            self._shown_url = url
            self.qr.setPixmap(qr_pixmap(url))
        devices = server.devices
        opened = "No device has opened it yet" if devices == 0 else \
            f"Opened on {devices} device{'s' if devices != 1 else ''}"
        left = int(server.remaining_s)
        self.status.setText(f"<b>Scan the code with the phone's camera</b> (same Wi-Fi as this computer).<br>"
                            f"<span style='color:#555'>{url}</span><br>{opened}; each code opens once. "
                            f"Stops in {left // 60}:{left % 60:02d}.")

    def stop(self) -> None:
        server = self.server
        if server is not None:
            server.stop()
            self._stopped(server)

    def _stopped(self, server: PhoneServer) -> None:
        self._poll.stop()
        self.server = None
        self.qr.clear()
        self.qr.setText("Stopped")
        why = "the time ran out" if server.stop_reason == "timeout" else "you stopped it"
        self.status.setText(f"Stopped ({why}); it was opened on {server.devices} device(s). Nothing is served now.")
        for w in (self.host_edit, self.minutes, self.start_button):
            w.setEnabled(True)
        self.stop_button.setEnabled(False)

    def done(self, result: int) -> None:  # close(), Escape, the window's close button
        self.stop()
        super().done(result)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self.stop()
        super().closeEvent(event)
