"""The pinned Qt binding must not corrupt Python's singletons.

PySide6 6.12.0 dropped a reference to None on every void Qt call (1,000 setText calls -> refcount of
None down by 1,000) and the app aborted with "none_dealloc" after minutes of use; 6.11.3 is pinned.
"""

import sys

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QLabel


def test_void_qt_calls_leave_none_true_false_refcounts_alone(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = [sys.getrefcount(x) for x in (None, True, False)]
    for i in range(2000):
        label.setText(str(i))
        label.setVisible(i % 2 == 0)
        QModelIndex().data()
    after = [sys.getrefcount(x) for x in (None, True, False)]
    assert all(abs(a - b) < 100 for a, b in zip(before, after)), (before, after)


def test_the_window_process_hands_the_gil_to_its_ui_thread_within_a_millisecond(qtbot) -> None:  # noqa: ANN001
    """bench/gil_handoff.py: at Python's default 5 ms a Qt call on the window's thread costs 120-240 us while a
    job thread runs Python; the application sets 1 ms."""
    from studio.gui.app import UI_SWITCH_INTERVAL_S, create_application

    old = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        create_application()
        assert sys.getswitchinterval() == UI_SWITCH_INTERVAL_S <= 0.001
    finally:
        sys.setswitchinterval(old)
