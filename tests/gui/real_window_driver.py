"""Run the real studio window on the X display in $DISPLAY (an Xvfb screen, no window manager) and save
screenshots of the whole screen: every page and the Review view. Used by tests/gui/test_real_window.py.

    python -m tests.gui.real_window_driver PROJECT OUT_DIR TAG

Prints one JSON line: the screen's available geometry and the window's frame on first launch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication

PAGES = ("images", "augment", "train", "evaluate", "export")


def _settle(ms: int = 400) -> None:
    """Run the event loop for ``ms`` (waiting in it, not spinning: a busy loop took a core from the other test
    worker for the ~11 s each screen settles)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(project: str, out_dir: str, tag: str) -> int:
    from studio.gui.app import create_application
    from studio.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(warm_up=False)
    window.show()
    _settle(600)
    screen = QGuiApplication.primaryScreen()
    available = screen.availableGeometry()
    first = window.frameGeometry()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    assert window.open_project(project)
    _settle(1500)
    shots = []
    for row, name in enumerate(PAGES):
        window.show_page(row)
        _settle(2500 if name in ("evaluate", "export") else 900)
        path = out / f"real_{tag}_{name}.png"
        screen.grabWindow(0).save(str(path))
        shots.append(str(path))
        if name == "images":
            classes_visible = _class_names_visible(window)  # as the screenshot shows them
    window.show_page(0)
    window.images_page.show_review(True)
    _settle(1500)
    path = out / f"real_{tag}_review.png"
    screen.grabWindow(0).save(str(path))
    shots.append(str(path))
    print(json.dumps({"available": list(available.getRect()), "frame": list(first.getRect()),
                      "shots": shots, "class_names_visible": classes_visible}), flush=True)
    window.images_page.show_review(False)
    window.close()
    app.processEvents()
    return 0


def _class_names_visible(window) -> dict[str, bool]:  # noqa: ANN001
    """Whether each class name is shown in full in the Classes panel's Class column (not elided)."""
    tree = window.images_page.class_panel.tree
    out = {}
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        text = item.text(1)
        rect = tree.visualItemRect(item)
        column = tree.columnWidth(1)
        needed = tree.fontMetrics().horizontalAdvance(text) + tree.iconSize().width() + 12
        out[text] = column >= needed and rect.isValid()
    return out


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
