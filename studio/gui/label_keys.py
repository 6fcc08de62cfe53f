"""Which key labels which class: one rule, used by the class panel (the Key column), the Images page and the
image preview, so the key shown beside a class is always the key that labels it.

A class named with one digit ("0" .. "9") gets that digit; the other classes take the digits 1-9 left free,
in class order. "0" removes the label unless a class is called "0"; then "-" does.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from studio.core.project.store import ClassInfo

UNLABEL = None  # the class id that means "no label"


def class_keys(classes: Sequence[ClassInfo]) -> dict[str, int | None]:
    """key text -> class id (``None``: remove the label)."""
    keys: dict[str, int | None] = {}
    for info in classes:
        if len(info.name) == 1 and info.name.isdigit():
            keys[info.name] = info.id
    free = [str(d) for d in range(1, 10) if str(d) not in keys]
    for info in classes:
        if info.id in keys.values() or not free:
            continue
        keys[free.pop(0)] = info.id
    keys["0" if "0" not in keys else "-"] = UNLABEL
    return keys


def key_of(classes: Sequence[ClassInfo]) -> dict[int | None, str]:
    """class id (``None``: unlabelled) -> its key; classes without a key are left out."""
    return {cid: key for key, cid in class_keys(classes).items()}


def plain_text(event: QKeyEvent) -> str:
    """The text of a key press without Ctrl/Alt/Meta ('' otherwise): what labelling keys and typing react to."""
    if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier |
                            Qt.KeyboardModifier.MetaModifier):
        return ""
    text = event.text()
    return text if len(text) == 1 and text.isprintable() and not text.isspace() else ""


def starts_typing(text: str, classes: Sequence[ClassInfo]) -> bool:
    """A printable key that is no labelling key starts type-to-label."""
    return bool(text) and text not in class_keys(classes)
