"""Number fields drawn like the app's other text fields: typed, wheeled or arrow-keyed, no tiny arrows.

The app style sheet frames spin boxes like text fields but gives their arrow sub-controls no look, so Qt
draws broken arrow boxes; turning the buttons off (``NoButtons``) under that style hides the text instead.
Zero-width buttons keep Qt's layout of the text and draw nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox

FIELD_STYLE = ("QAbstractSpinBox { background: #ffffff; border: 1px solid #cfd5df; border-radius: 6px; "
               "padding: 4px 8px; min-height: 20px; } QAbstractSpinBox:focus { border-color: #3b6cf6; } "
               "QAbstractSpinBox::up-button, QAbstractSpinBox::down-button { width: 0px; border: none; }")


def number_field(spin: QAbstractSpinBox) -> QAbstractSpinBox:
    spin.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    spin.setStyleSheet(FIELD_STYLE)
    spin.setToolTip(spin.toolTip() or "Type a value, or use the mouse wheel or the arrow keys")
    return spin
