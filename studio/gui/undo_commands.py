"""Undoable edits of images and classes, pushed on ``session.undo_stack``.

Each edit is applied to the project (one transaction, committed at once) *before* the command is pushed,
so a :class:`ProjectError` reaches the caller; the command's first ``redo`` (run by ``push``) is then a
no-op. Undo and later redos apply the inverse/forward change, again one transaction each.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QUndoCommand

from studio.core.project.store import ClassInfo
from studio.gui.session import Session


class _Edit(QUndoCommand):
    images_affected = True
    classes_affected = False

    def __init__(self, session: Session, text: str) -> None:
        super().__init__(text)
        self.session = session
        self._applied_once = False

    @property
    def project(self):  # noqa: ANN201 - the session's open project
        assert self.session.project is not None
        return self.session.project

    def redo(self) -> None:
        if self._applied_once:
            self.forward()
        self._applied_once = True
        self._notify()

    def undo(self) -> None:
        self.backward()
        self._notify()

    def _notify(self) -> None:
        if self.classes_affected:
            self.session.classes_changed.emit()
        if self.images_affected:
            self.session.images_changed.emit()

    def forward(self) -> None:
        raise NotImplementedError

    def backward(self) -> None:
        raise NotImplementedError


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class LabelImages(_Edit):
    def __init__(self, session: Session, image_ids: Sequence[int], class_id: int | None, class_name: str) -> None:
        what = f"Label {_plural(len(image_ids), 'image')} as {class_name}" if class_id is not None \
            else f"Unlabel {_plural(len(image_ids), 'image')}"
        super().__init__(session, what)
        self.image_ids, self.class_id = list(image_ids), class_id
        self.before = self.project.set_labels(self.image_ids, class_id)

    def forward(self) -> None:
        self.project.set_labels(self.image_ids, self.class_id)

    def backward(self) -> None:
        self.project.restore_labels(self.before)


class TrashImages(_Edit):
    def __init__(self, session: Session, image_ids: Sequence[int]) -> None:
        super().__init__(session, f"Move {_plural(len(image_ids), 'image')} to the trash")
        self.image_ids = list(image_ids)
        self.project.trash_images(self.image_ids)

    def forward(self) -> None:
        self.project.trash_images(self.image_ids)

    def backward(self) -> None:
        self.project.restore_images(self.image_ids)


class RestoreImages(_Edit):
    def __init__(self, session: Session, image_ids: Sequence[int]) -> None:
        super().__init__(session, f"Restore {_plural(len(image_ids), 'image')} from the trash")
        self.image_ids = list(image_ids)
        self.project.restore_images(self.image_ids)

    def forward(self) -> None:
        self.project.restore_images(self.image_ids)

    def backward(self) -> None:
        self.project.trash_images(self.image_ids)


class AddClass(_Edit):
    classes_affected, images_affected = True, False

    def __init__(self, session: Session, name: str, color: str | None = None) -> None:
        super().__init__(session, f"Add class {name}")
        self.info: ClassInfo = self.project.add_class(name, color)

    def forward(self) -> None:
        self.project.restore_class(self.info, [])

    def backward(self) -> None:
        self.project.delete_class(self.info.id)


class RenameClass(_Edit):
    classes_affected = True

    def __init__(self, session: Session, info: ClassInfo, new_name: str) -> None:
        super().__init__(session, f"Rename class {info.name} to {new_name}")
        self.class_id, self.old_name = info.id, info.name
        self.project.rename_class(info.id, new_name)
        self.new_name = next(c.name for c in self.project.classes() if c.id == info.id)

    def forward(self) -> None:
        self.project.rename_class(self.class_id, self.new_name)

    def backward(self) -> None:
        self.project.rename_class(self.class_id, self.old_name)


class RecolorClass(_Edit):
    classes_affected = True

    def __init__(self, session: Session, info: ClassInfo, color: str) -> None:
        super().__init__(session, f"Recolour class {info.name}")
        self.class_id, self.old_color, self.new_color = info.id, info.color, color
        self.project.recolor_class(info.id, color)

    def forward(self) -> None:
        self.project.recolor_class(self.class_id, self.new_color)

    def backward(self) -> None:
        self.project.recolor_class(self.class_id, self.old_color)


class MergeClasses(_Edit):
    classes_affected = True

    def __init__(self, session: Session, source: ClassInfo, target: ClassInfo) -> None:
        super().__init__(session, f"Merge class {source.name} into {target.name}")
        self.source, self.target = source, target
        self.moved = self.project.merge_classes(source.id, target.id)

    def forward(self) -> None:
        self.moved = self.project.merge_classes(self.source.id, self.target.id)

    def backward(self) -> None:
        self.project.restore_class(self.source, self.moved)


class DeleteClass(_Edit):
    classes_affected = True

    def __init__(self, session: Session, info: ClassInfo) -> None:
        super().__init__(session, f"Delete class {info.name}")
        self.info = info
        self.image_ids = self.project.delete_class(info.id)

    def forward(self) -> None:
        self.image_ids = self.project.delete_class(self.info.id)

    def backward(self) -> None:
        self.project.restore_class(self.info, self.image_ids)
