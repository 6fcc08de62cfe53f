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
# How often the window's process hands the GIL between threads (bench/gil_handoff.py; see create_application).
UI_SWITCH_INTERVAL_S = 0.001


def configure_application(app: QCoreApplication) -> None:
    """Names (QSettings location), style and icon; shared by the app, the tests and the benchmark."""
    # Import and thumbnail threads release and retake the GIL around every decode; with Python's default
    # 5 ms switch interval the UI thread then waits up to ~80 ms for it (measured by bench/ui_latency.py).
    # 1 ms gives the UI thread the GIL back promptly: 5,000-image import stall 72-86 ms -> 51 ms.
    sys.setswitchinterval(0.001)
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
    # The window's thread hands the GIL back and forth with the jobs' threads (thumbnails, analyses, heatmaps)
    # at every Qt call. At Python's default interval (5 ms) a Qt call on the window's thread took 120-240 us
    # while one job thread ran Python, at 1 ms 15-45 us (0.5 us with no job); a paint makes hundreds of them.
    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    configure_application(app)
    return app  # type: ignore[return-value]


def initial_project(project_path: str | None) -> tuple[str | None, bool]:
    """(path, create) to open at start: the given one (created when missing), else the last one used."""
    if project_path:
        return str(Path(project_path).expanduser()), True
    from studio.core.project.db import DB_NAME

    last = QSettings().value("last_project")
    if isinstance(last, str) and (Path(last) / DB_NAME).is_file():
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
    from studio.gui.jobs.workers import cancel_all_and_wait
    from studio.gui.main_window import MainWindow

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
