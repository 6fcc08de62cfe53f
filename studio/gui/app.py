"""Start the desktop studio: `edge-studio` (no subcommand) and `edge-studio gui [PROJECT]`.

TensorFlow is not imported here: the window is on screen first, then TensorFlow loads on a worker thread.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio import APP_NAME, __version__

ORGANIZATION = "EdgeAIVisionStudio"
APPLICATION = "studio"


def guard_none_refcount() -> None:
    """Work around PySide6 6.12.0 on Python 3.11: every call of a void Qt method from Python (setText,
    update, repaint, setValue, ...) drops one reference to ``None`` that it never took. After some
    tens of thousands of calls (minutes of scrolling) Python aborts with "none_dealloc: deallocating
    None". Measured here: 1,000 ``QLabel.setText`` calls lower ``sys.getrefcount(None)`` by exactly 1,000.
    True/False go the same way ("bool_dealloc", seen in bench/ui_latency.py). PySide6 6.11.3 does not
    have the bug (same measurement: 0). Python 3.12 makes these objects immortal; on 3.11 we give them
    a huge reference count once, which is what immortality amounts to. Harmless where the bug is absent
    (these singletons are never freed anyway).
    """
    import ctypes

    if sys.version_info < (3, 12) and sys.implementation.name == "cpython" and not _GUARDED:
        for singleton in (None, True, False):
            ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40  # ob_refcnt: PyObject's first field
        _GUARDED.append(True)


_GUARDED: list[bool] = []


def configure_application(app: QCoreApplication) -> None:
    """Names (QSettings location), style and icon; shared by the app, the tests and the benchmark."""
    guard_none_refcount()
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    if isinstance(app, QApplication):
        from studio.gui.icons import app_icon, style_sheet

        app.setApplicationDisplayName(APP_NAME)
        app.setDesktopFileName("edge-ai-vision-studio")
        app.setStyle("Fusion")
        app.setStyleSheet(style_sheet())
        app.setWindowIcon(app_icon())


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    configure_application(app)
    return app  # type: ignore[return-value]


def initial_project(project_path: str | None) -> tuple[str | None, bool]:
    """(path, create) to open at start: the given one (created when missing), else the last one used."""
    if project_path:
        return str(Path(project_path).expanduser()), True
    last = QSettings().value("last_project")
    if isinstance(last, str) and (Path(last) / "project.db").is_file():
        return last, False
    return None, False


def _close_on_sigint(window) -> None:  # noqa: ANN001
    """Ctrl+C in the terminal closes the window normally (geometry saved, workers stopped). Python only
    sees signals while it runs bytecode, so a slow timer gives it the chance during Qt's event loop."""
    import signal

    signal.signal(signal.SIGINT, lambda *_args: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def run_gui(project_path: str | None) -> int:
    app = create_application()
    from studio.gui.main_window import MainWindow
    from studio.gui.workers import cancel_all_and_wait

    window = MainWindow()
    window.show()
    path, create = initial_project(project_path)
    if path is not None:
        # After the first paint: the window appears at once, the grid fills a moment later.
        QTimer.singleShot(0, lambda: window.open_project(path, create=create))
    _close_on_sigint(window)
    code = app.exec()
    cancel_all_and_wait()
    return int(code)
