"""Number fields without the tiny up/down arrows: typed, wheeled or arrow-keyed, and drawn like the app's
other text fields (its style sheet gives spin boxes a text-field frame but no arrow sub-controls)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox

FIELD_STYLE = ("QAbstractSpinBox { background: #ffffff; border: 1px solid #cfd5df; border-radius: 6px; "
               "padding: 4px 8px; min-height: 20px; } QAbstractSpinBox:focus { border-color: #3b6cf6; }")


def number_field(spin: QAbstractSpinBox) -> QAbstractSpinBox:
    spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    spin.setStyleSheet(FIELD_STYLE)
    spin.setToolTip(spin.toolTip() or "Type a value, or use the mouse wheel or the arrow keys")
    return spin
