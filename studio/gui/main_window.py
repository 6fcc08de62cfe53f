"""The main window: assembles the sidebar, the five pages and the welcome view; owns the menus, the status
bar, the About box, recent projects and the window geometry. Pages do the work; this file only wires.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from pathlib import Path
from typing import NamedTuple

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio import APP_NAME, __version__
from studio.core.project.store import Project, ProjectError
from studio.gui.icons import app_icon, icon
from studio.gui.jobs.workers import Worker, start_worker
from studio.gui.page_list import PAGES, PageSpec
from studio.gui.session import Session
from studio.gui.widgets.page_scroll import scrollable
from studio.gui.widgets.welcome import WelcomeView

MAX_RECENT = 8


def demo_project_dir() -> Path:
    """Where "Open demo project" keeps the demo: the user data folder (STUDIO_DATA_DIR overrides it)."""
    override = os.environ.get("STUDIO_DATA_DIR")
    if override:
        return Path(override) / "demo"
    from platformdirs import user_data_dir

    return Path(user_data_dir("EdgeAIVisionStudio", appauthor=False)) / "demo"


def about_text() -> str:
    tf = sys.modules.get("tensorflow")  # only if already loaded: the About box must not load TensorFlow
    tf_line = f"<br>TensorFlow {tf.__version__}" if tf is not None and hasattr(tf, "__version__") else \
        "<br>TensorFlow not loaded yet"
    return (f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>From a pile of images to an image classifier that runs entirely in a web browser.</p>"
            f"<p>Qt {qVersion()} · PySide6 {pyside_version}<br>Python {sys.version.split()[0]}{tf_line}</p>")


def _create_demo(path: Path, limit: int | None, progress, cancel) -> Path | None:  # noqa: ANN001
    """Build the demo next to its final place and move it there only when complete, so a cancelled or
    crashed first start never leaves a half demo behind that would be opened next time."""
    import shutil

    from studio.core.project.demo import create_demo_project

    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    project, report = create_demo_project(partial, reporter=progress, cancel=cancel, limit=limit)
    project.close()
    if report.cancelled:
        shutil.rmtree(partial, ignore_errors=True)
        return None
    os.replace(partial, path)
    return path


def _import_tensorflow(progress, cancel) -> str:  # noqa: ANN001
    import tensorflow as tf

    return str(tf.__version__)


def _build_page(spec: PageSpec, session: Session) -> QWidget:
    # Pages are written by different people; one that fails to build must not stop the studio opening.
    try:
        return spec.page_class()(session)
    except Exception:
        traceback.print_exc()
        label = QLabel(f"<h3>{spec.title} could not be opened</h3>"
                       f"<pre>{traceback.format_exc(limit=3)}</pre>")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label


# The pages in sidebar order, found by name (``window.pages.train``), never by index; declared in page_list.
Pages = NamedTuple("Pages", [(p.name, QWidget) for p in PAGES])  # type: ignore[misc]


class MainWindow(QMainWindow):
    shown = Signal()            # the first time the window is on screen
    tensorflow_ready = Signal(str)

    def __init__(self, session: Session | None = None, *, warm_up: bool | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.session = session or Session(self)
        self.settings = QSettings()
        self.warm_up = warm_up if warm_up is not None else os.environ.get("STUDIO_NO_WARMUP") != "1"
        self.demo_worker: Worker | None = None
        self.tf_worker: Worker | None = None
        self.demo_limit: int | None = None  # tests make a smaller demo
        self._shown_once = False
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)

        self.page_stack = QStackedWidget()
        self.page_stack.setObjectName("pageStack")
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setMinimumWidth(120)

        self.welcome = WelcomeView()
        self.welcome.demo_requested.connect(self.open_demo_project)
        self.welcome.new_requested.connect(self.ask_new_project)
        self.welcome.open_requested.connect(self.ask_open_project)
        self.welcome.recent_chosen.connect(self.open_project)
        self.welcome.guide_requested.connect(self.show_guide)
        self.central = QStackedWidget()
        self.central.addWidget(self.welcome)
        self.central.addWidget(self._workspace())
        self.setCentralWidget(self.central)
        # Pages go into a stack that is already in the window: each page's widgets are reparented (and
        # restyled by the style sheet) once, not once per level of the assembly (measured: ~0.2 s at launch).
        self.pages = Pages(*(_build_page(spec, self.session) for spec in PAGES))
        self.images_page = self.pages.images
        for page, spec in zip(self.pages, PAGES, strict=True):
            self.page_stack.addWidget(scrollable(page, self.page_stack))
            QListWidgetItem(icon(spec.name), spec.title, self.sidebar)
        self.sidebar.currentRowChanged.connect(self.page_stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)

        self._build_menus()
        self.project_label = QLabel()
        self.project_label.setObjectName("statusProject")
        self.tf_label = QLabel("")
        self.tf_label.setObjectName("hint")
        self.statusBar().addPermanentWidget(self.tf_label)
        self.statusBar().addPermanentWidget(self.project_label)
        self.session.status_message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.session.project_changed.connect(self._project_changed)
        self.session.images_changed.connect(self._update_project_label)
        self._project_changed(self.session.project)
        self._restore_geometry()

    # ----- assembly ---------------------------------------------------------------------------
    def _workspace(self) -> QWidget:
        side = QFrame()
        side.setObjectName("sidePanel")
        side.setMinimumWidth(150)
        side.setMaximumWidth(280)
        brand = QLabel()
        brand.setObjectName("brand")
        brand.setText("Vision Studio")
        brand_icon = QLabel()
        brand_icon.setPixmap(app_icon().pixmap(QSize(28, 28)))
        top = QHBoxLayout()
        top.setContentsMargins(16, 16, 16, 12)
        top.addWidget(brand_icon)
        top.addWidget(brand, 1)
        self.side_project = QLabel()
        self.side_project.setObjectName("sideProject")
        self.side_project.setWordWrap(True)
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 12)
        col.setSpacing(4)
        col.addLayout(top)
        col.addWidget(self.sidebar, 1)
        col.addWidget(self.side_project)
        workspace = QSplitter(Qt.Orientation.Horizontal)
        workspace.setObjectName("workspace")
        workspace.setHandleWidth(1)
        workspace.setChildrenCollapsible(False)
        workspace.addWidget(side)
        workspace.addWidget(self.page_stack)
        workspace.setStretchFactor(1, 1)
        workspace.setSizes([188, 1000])
        return workspace

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:  # noqa: ANN001
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&New Project…", self.ask_new_project, QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open Project…", self.ask_open_project, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(file_menu, "Open &Demo Project", self.open_demo_project)
        file_menu.addSeparator()
        self.import_action = self._action(file_menu, "&Import Images…", self.images_page.ask_import_files, "Ctrl+I")
        self._action(file_menu, "Capture from &Camera…", lambda: self.images_page.open_camera())
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.session.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.session.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        self._action(edit_menu, "Select &All Images", self._select_all)

        view_menu = bar.addMenu("&View")
        for i, spec in enumerate(PAGES):
            self._action(view_menu, spec.title, lambda _=False, row=i: self.show_page(row), spec.shortcut)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Getting Started", self.show_guide, "F1")
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        help_menu.addSeparator()
        self._action(help_menu, f"&About {APP_NAME}", self.show_about)

    def show_page(self, row: int) -> None:
        self.sidebar.setCurrentRow(row)

    def _select_all(self) -> None:
        self.show_page(0)
        self.images_page.grid.selectAll()

    def current_page(self) -> QWidget:
        """The page on show (each sits in a scroll area that only scrolls when the window is too small)."""
        area = self.page_stack.currentWidget()
        return area.widget() if hasattr(area, "widget") else area

    def show_guide(self) -> None:
        from studio.gui.widgets.help_views import GettingStartedDialog

        self.guide = GettingStartedDialog(self)
        self.guide.demo_requested.connect(self.open_demo_project)
        self.guide.open()

    def show_shortcuts(self) -> None:
        from studio.gui.widgets.help_views import ShortcutSheet

        self.shortcut_sheet = ShortcutSheet(self)
        self.shortcut_sheet.open()

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", about_text())

    # ----- projects ---------------------------------------------------------------------------
    def _training_may_stop(self, doing: str) -> bool:
        """Ask before an action that cancels the run now training (opening another project, quitting)."""
        train_page = self.pages.train
        if not getattr(train_page, "is_training", lambda: False)():
            return True
        box = QMessageBox(QMessageBox.Icon.Question, "A model is training",
                          f"{doing} cancels the run that is training now.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setInformativeText("The run is kept in its project as cancelled, with its curves so far.")
        box.button(QMessageBox.StandardButton.Yes).setText("Cancel the run")
        box.button(QMessageBox.StandardButton.No).setText("Keep training")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        self.training_question = box
        return box.exec() == QMessageBox.StandardButton.Yes

    def open_project(self, path: str | Path, create: bool = False) -> bool:
        current = self.session.project
        if current is not None and Path(path).resolve() != current.root.resolve() and \
                not self._training_may_stop("Opening another project"):
            return False
        try:
            project = Project.open_or_create(path) if create else Project.open(path)
        except ProjectError as exc:
            QMessageBox.warning(self, "Cannot open project", str(exc))
            self._forget_recent(str(path))
            return False
        self.session.set_project(project)
        self._remember_recent(str(Path(path).resolve()))
        return True

    def ask_open_project(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open project folder")
        if path:
            self.open_project(path)

    def ask_new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project: choose a name and place",
                                              str(Path.home() / "My vision project"))
        if not path:
            return
        try:
            Project.create(path).close()
        except ProjectError as exc:
            QMessageBox.warning(self, "Cannot create project", str(exc))
            return
        self.open_project(path)

    def open_demo_project(self) -> Worker | None:
        path = demo_project_dir()
        if (path / Project.DB_NAME).is_file():
            self.open_project(path)
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.demo_worker is not None:
            return self.demo_worker
        self.central.setCurrentWidget(self.welcome)
        self.welcome.set_busy(True)
        self.welcome.progress.begin("Creating the demo project…")
        self.welcome.progress.cancel_requested.connect(self._cancel_demo)

        def progress(event: object) -> None:
            done, total = getattr(event, "done", None), getattr(event, "total", None)
            if done is not None and total:
                self.welcome.progress.update_progress(done, total, f"Creating the demo project: {done:,} of {total:,}")

        def finished(result: Path | None) -> None:
            self._demo_ended()
            if result is not None:
                self.open_project(result)

        def failed(exc: BaseException) -> None:
            self._demo_ended()
            QMessageBox.warning(self, "Demo project", f"Could not create the demo project: {exc}")

        self.demo_worker = start_worker(_create_demo, path, self.demo_limit, on_progress=progress, on_finished=finished,
                                        on_errored=failed)
        return self.demo_worker

    def _cancel_demo(self) -> None:
        if self.demo_worker is not None:
            self.demo_worker.cancel()

    def _demo_ended(self) -> None:
        self.demo_worker = None
        self.welcome.set_busy(False)
        self.welcome.progress.end()
        self.welcome.progress.cancel_requested.disconnect(self._cancel_demo)

    def _project_changed(self, project: Project | None) -> None:
        self.central.setCurrentIndex(0 if project is None else 1)
        self.welcome.set_recent(self.recent_projects())
        if project is not None:
            self.settings.setValue("last_project", str(project.root.resolve()))
            self.setWindowTitle(f"{project.name} — {APP_NAME}")
        else:
            self.setWindowTitle(APP_NAME)
        self._update_project_label()

    def _update_project_label(self) -> None:
        project = self.session.project
        if project is None:
            self.project_label.setText("No project")
            self.side_project.setText("")
            return
        n = sum(sum(v.values()) for v in project.counts().values())
        self.project_label.setText(f"{project.name} · {n:,} images")
        width = max(80, self.side_project.width() - 16)
        folder = self.side_project.fontMetrics().elidedText(str(project.root), Qt.TextElideMode.ElideMiddle, width)
        self.side_project.setText(f"<b>{project.name}</b><br>{folder}")
        self.side_project.setToolTip(str(project.root))

    # ----- recent projects (QSettings) --------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent_projects", [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [p for p in paths if (Path(p) / Project.DB_NAME).is_file()]

    def _remember_recent(self, path: str) -> None:
        paths = [path] + [p for p in self.recent_projects() if p != path]
        self.settings.setValue("recent_projects", paths[:MAX_RECENT])

    def _forget_recent(self, path: str) -> None:
        self.settings.setValue("recent_projects", [p for p in self.recent_projects() if p != path])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_projects():
            self.recent_menu.addAction(path, lambda p=path: self.open_project(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # ----- drops anywhere on the window -------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self.images_page.set_drop_highlight(self.session.project is not None)  # "drop here" shows
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: ANN001
        self.images_page.set_drop_highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.images_page.set_drop_highlight(False)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        if self.session.project is None:
            self.session.status_message.emit("Open or create a project first, then drop your images")
            return
        self.show_page(0)
        self.images_page.import_paths(paths)

    # ----- life cycle -------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: ANN001
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.shown.emit()
            if self.warm_up:
                # Load TensorFlow while the user looks at their images, so Train opens fast.
                QTimer.singleShot(300, self._start_warm_up)

    def _start_warm_up(self) -> None:
        # Even when another page has begun importing TensorFlow, this import waits for it to finish, so
        # "ready" (and the gc.freeze) always follow a complete import.
        if self.tf_worker is not None:
            return
        self.tf_label.setText("Loading TensorFlow…")

        def ready(version: str) -> None:
            # TensorFlow leaves about a million long-lived objects; without freezing them every full
            # garbage collection walks them all and stalls the UI for 150-500 ms (measured while scrolling).
            gc.freeze()
            self.tf_label.setText(f"TensorFlow {version}")
            self.tensorflow_ready.emit(version)

        self.tf_worker = start_worker(_import_tensorflow, on_finished=ready,
                                      on_errored=lambda exc: self.tf_label.setText("TensorFlow failed to load"))

    def _restore_geometry(self) -> None:
        from studio.gui.window_geometry import place_window

        place_window(self, self.settings.value("window/geometry"))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._training_may_stop("Quitting"):
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        self.images_page.shutdown()
        getattr(self.pages.train, "shutdown", lambda: None)()  # a cancelled run is marked before the app ends
        if self.demo_worker is not None:
            self.demo_worker.cancel()
        super().closeEvent(event)
