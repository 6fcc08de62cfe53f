"""The main window: sidebar, menus, welcome/demo, recent projects and geometry, About, the screenshot,
and the window being on screen before TensorFlow is imported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from studio.core.project.store import Project
from studio.gui.main_window import MainWindow, about_text, demo_project_dir

ROOT = Path(__file__).resolve().parents[2]


def test_sidebar_has_the_five_steps_and_switches_pages(window: MainWindow) -> None:
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert titles == ["Images", "Augment", "Train", "Evaluate", "Export"]
    window.show_page(2)
    assert window.page_stack.currentIndex() == 2
    assert window.current_page() is window.pages.train
    window.sidebar.setCurrentRow(0)
    assert window.current_page() is window.images_page


def test_menus_have_the_project_and_edit_actions(window: MainWindow) -> None:
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert {"File", "Edit", "View", "Help"} <= set(menus)
    file_items = [a.text().replace("&", "") for a in menus["File"].actions() if a.text()]
    for wanted in ("New Project…", "Open Project…", "Open Recent", "Open Demo Project", "Import Images…", "Quit"):
        assert wanted in file_items
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [s.toString() for s in window.redo_action.shortcuts()]


def test_screenshot_with_the_demo_project(window: MainWindow, qtbot, artifacts_dir: Path) -> None:  # noqa: ANN001
    page = window.images_page
    assert page.model.rowCount() == 200
    # Wait for the thumbnails of the first screenful, made on worker threads and cached on disk.
    view = page.grid.viewport().rect()
    visible = sum(1 for r in range(page.model.rowCount()) if page.grid.visualRect(page.model.index(r)).intersects(view))
    assert visible >= 12
    qtbot.waitUntil(lambda: page.cache.made >= visible, timeout=20_000)
    assert any((window.session.project.root / "thumbnails").rglob("*.png"))
    page.grid.select_ids([r.id for r in page.model.records()[3:6]])
    qtbot.waitUntil(page.grid.settled, timeout=20_000)  # tiles are made over a few frames, not all in one
    qtbot.wait(50)
    shot = window.grab()
    assert shot.width() >= 1200
    assert shot.save(str(artifacts_dir / "main_window_images.png"))


def test_first_start_offers_the_demo_and_creates_it_in_a_worker(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    win = MainWindow(warm_up=False)
    qtbot.addWidget(win)
    win.show()
    assert win.central.currentWidget() is win.welcome
    assert win.welcome.demo_button.isVisible()
    win.demo_limit = 60
    worker = win.open_demo_project()
    assert worker is not None
    with qtbot.waitSignal(win.session.project_changed, timeout=60_000):
        pass
    project = win.session.project
    assert project is not None and project.root == demo_project_dir()
    assert len(project.images()) == 60
    assert win.central.currentIndex() == 1
    assert not demo_project_dir().with_name("demo.partial").exists()
    win.close()


def test_recent_projects_and_geometry_persist(qtbot, demo_path: Path, tmp_path: Path) -> None:  # noqa: ANN001
    other = tmp_path / "other"
    Project.create(other).close()
    win = MainWindow(warm_up=False)
    qtbot.addWidget(win)
    win.show()
    win.resize(1400, 720)
    assert win.open_project(demo_path) and win.open_project(other)
    size_at_close = win.size()  # the offscreen screen may clamp the requested size; compare what it got
    win.close()
    assert not QSettings().value("window/geometry").isEmpty()
    assert QSettings().value("last_project") == str(other.resolve())

    again = MainWindow(warm_up=False)
    qtbot.addWidget(again)
    assert again.recent_projects()[:2] == [str(other.resolve()), str(demo_path.resolve())]
    again.show()
    # (the offscreen screen clamps widths to its own; the height shows the saved geometry came back)
    assert again.height() == size_at_close.height() == 720 != 800
    again._fill_recent_menu()
    assert [a.text() for a in again.recent_menu.actions()][:2] == again.recent_projects()[:2]
    again.close()


def test_about_names_versions_without_loading_tensorflow() -> None:
    had_tf = "tensorflow" in sys.modules
    text = about_text()
    assert "Qt " in text and "Python " in text and "0.1.0" in text
    assert ("tensorflow" in sys.modules) == had_tf


def test_window_is_shown_before_tensorflow_then_tensorflow_warms_up(tmp_path: Path) -> None:
    # A fresh process: the test process may already hold TensorFlow from other tests.
    script = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QSettings
        from studio.gui.app import create_application
        app = create_application()
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, {str(tmp_path)!r})
        from studio.gui.main_window import MainWindow
        w = MainWindow(warm_up=True)
        w.shown.connect(lambda: print("shown " + " ".join("%s_loaded=%s" % (m, m in sys.modules)
                                                           for m in ("tensorflow", "numpy", "cv2")), flush=True))
        w.tensorflow_ready.connect(lambda v: (print("tensorflow", v, flush=True), app.quit()))
        w.show()
        app.exec()
        from studio.gui.jobs.workers import cancel_all_and_wait
        cancel_all_and_wait()
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("STUDIO_NO_WARMUP", None)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=180)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("shown", "tensorflow"))]
    # Nothing heavy on the way to the window (issue 28): NumPy and OpenCV load with the first picture.
    assert lines[0] == "shown tensorflow_loaded=False numpy_loaded=False cv2_loaded=False", out.stdout + out.stderr
    assert lines[1].startswith("tensorflow 2."), out.stdout + out.stderr


@pytest.mark.slow
def test_opening_another_project_while_training_asks_then_does_not_wait(window: MainWindow, qtbot, tmp_path: Path,  # noqa: ANN001
                                                                        demo_template: Path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    train = window.pages.train
    first = window.session.project
    first.set_setting("preprocess", {"image_size": 16, "color": "gray"})
    train.set_arch("cnn")
    train.with_aug.setChecked(False)
    train.epochs.setValue(200)
    with qtbot.waitSignal(train.queue.batch_end, timeout=240_000):
        train.queue_button.click()
    run_id = train.queue.current_run_id
    other = tmp_path / "other"
    shutil.copytree(demo_template, other)

    # "Keep training": nothing changes.
    QTimer.singleShot(0, lambda: window.training_question.button(QMessageBox.StandardButton.No).click())
    assert not window.open_project(other)
    assert window.session.project is first and train.is_training()

    # "Cancel the run": the other project opens at once, and the old run ends cancelled on its own.
    QTimer.singleShot(0, lambda: window.training_question.button(QMessageBox.StandardButton.Yes).click())
    assert window.open_project(other)
    assert window.session.project.root == other.resolve() or window.session.project.root == other
    assert not train.is_training() and train.curves.run_ids() == []
    with Project.open(first.root) as old:
        qtbot.waitUntil(lambda: old.run(run_id).status == "cancelled", timeout=60_000)
