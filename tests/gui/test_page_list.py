"""Pages are declared once (studio/gui/page_list.py): the sidebar, the View menu's shortcuts, the Getting Started
guide and the shortcut sheet all follow that list."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from studio.gui.page_list import PAGES
from studio.gui.widgets.help_views import SHORTCUTS, guide_html


def test_window_help_and_shortcuts_follow_the_page_list(window) -> None:  # noqa: ANN001
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == [p.title for p in PAGES]
    assert list(type(window.pages)._fields) == [p.name for p in PAGES]
    for i, spec in enumerate(PAGES):
        assert type(getattr(window.pages, spec.name)).__name__ == spec.page.split(":")[1]
        actions = [a for a in window.findChildren(type(window.import_action)) if a.text() == spec.title]
        assert actions and actions[0].shortcut() == QKeySequence(f"Ctrl+{i + 1}")
        actions[0].trigger()
        assert window.sidebar.currentRow() == i
    guide = guide_html()
    assert all(f"<b>{p.title}.</b>" in guide for p in PAGES) and f"{len(PAGES)} steps" in guide
    assert (f"Ctrl+1 … Ctrl+{len(PAGES)}", ", ".join(p.title for p in PAGES)) in SHORTCUTS
