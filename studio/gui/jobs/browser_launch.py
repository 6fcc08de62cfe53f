"""Open a link in the user's web browser and find out when no browser could start.

On a Linux desktop Qt hands the link to ``xdg-open`` and reports success as soon as that helper started, even
when it then finds no browser it can run (its complaint goes to the terminal only). There we run ``xdg-open``
ourselves and watch it: a start failure or a non-zero exit within :data:`WATCH_MS` means no browser opened.
Elsewhere (and under the offscreen test platform) Qt's own ``QDesktopServices.openUrl`` answers directly.
"""

from __future__ import annotations

import shutil
import sys

from PySide6.QtCore import QObject, QProcess, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication

WATCH_MS = 20_000  # a browser still starting (or running) after this long counts as opened


def xdg_open_applies() -> bool:
    return sys.platform.startswith("linux") and QGuiApplication.platformName() in ("xcb", "wayland") and \
        shutil.which("xdg-open") is not None


class BrowserLauncher(QObject):
    """``open(url)``; emits ``failed(url)`` when no browser could be started for it."""

    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.use_xdg_open = xdg_open_applies()
        self.process: QProcess | None = None

    def open(self, url: str) -> None:
        if not self.use_xdg_open:
            if not QDesktopServices.openUrl(QUrl(url)):
                self.failed.emit(url)
            return
        self._forget()
        process = self.process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedChannels)
        process.errorOccurred.connect(lambda error, p=process: self._error(p, url, error))
        process.finished.connect(lambda code, status, p=process: self._finished(p, url, code, status))
        QTimer.singleShot(WATCH_MS, lambda p=process: self._stop_watching(p))
        process.start("xdg-open", [url])

    def _error(self, process: QProcess, url: str, error: QProcess.ProcessError) -> None:
        if process is self.process and error == QProcess.ProcessError.FailedToStart:
            self._forget()
            self.failed.emit(url)

    def _finished(self, process: QProcess, url: str, code: int, status: QProcess.ExitStatus) -> None:
        if process is not self.process:
            return
        self._forget()
        if code != 0 or status != QProcess.ExitStatus.NormalExit:
            self.failed.emit(url)

    def _stop_watching(self, process: QProcess) -> None:
        if process is self.process:  # still running: a browser in the foreground; leave it be
            self.process = None

    def _forget(self) -> None:
        if self.process is not None:
            self.process.deleteLater()
            self.process = None
