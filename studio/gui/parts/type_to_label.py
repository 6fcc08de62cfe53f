"""Type-to-label: a line edit with a class-name completer. Typing on the Images page (or in the preview)
lands here; Enter labels with the class named (a new name creates the class), Escape gives up."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from studio.core.project.store import ClassInfo


class TypeToLabel(QLineEdit):
    chosen = Signal(str)      # the class name typed or picked (may be a new class)
    finished = Signal()       # Enter or Escape: give the focus back

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typeToLabel")
        self.setPlaceholderText("Type a class name to label…")
        self.setToolTip("Start typing anywhere on this page: Enter labels the selected images with that class "
                        "(a new name adds the class); Escape cancels")
        self.setClearButtonEnabled(True)
        self.names: list[str] = []
        self.typing = False
        self._model = QStringListModel(self)
        completer = QCompleter(self._model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        completer.activated.connect(self._pick)
        self.returnPressed.connect(self._commit)

    def set_classes(self, classes: Sequence[ClassInfo]) -> None:
        self.names = [c.name for c in classes]
        self._model.setStringList(self.names)

    def begin(self, text: str) -> None:
        """Focus here with ``text`` typed (the key that started it); while a name is being typed, more keys
        that reach the page add to it."""
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.setText(self.text() + text if self.typing else text)
        self.typing = True
        self.completer().setCompletionPrefix(text)
        self.completer().complete()

    def resolve(self, text: str) -> str:
        """The class meant by ``text``: an exact (case-insensitive) name, else the only name containing it,
        else ``text`` itself (a new class)."""
        text = " ".join(text.split())
        exact = [n for n in self.names if n.lower() == text.lower()]
        if exact:
            return exact[0]
        containing = [n for n in self.names if text.lower() in n.lower()]
        return containing[0] if len(containing) == 1 else text

    def _pick(self, name: str) -> None:
        self.setText(name)
        self._commit()

    def _commit(self) -> None:
        text = self.text().strip()
        self.completer().popup().hide()
        self.typing = False
        self.clear()
        if text:
            self.chosen.emit(self.resolve(text))
        self.finished.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        if event.key() == Qt.Key.Key_Escape:
            self.completer().popup().hide()
            self.typing = False
            self.clear()
            self.finished.emit()
            return
        super().keyPressEvent(event)
