"""The class panel: every class with its key, colour and counts per split.

Labelling is always deliberate: the class's key (or typing its name) on the Images page, the "Label selected"
button or a double-click on a class, or dropping thumbnails on it (the row under the drop lights up). A single
click only picks the class. Class edits go through undo commands on the session's stack.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QMouseEvent,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.project.store import SPLITS, ClassInfo, ProjectError
from studio.gui import undo_commands as cmd
from studio.gui.label_keys import key_of
from studio.gui.session import Session
from studio.gui.widgets.thumbnail_grid import IMAGE_IDS_MIME, ids_from_mime

UNLABELLED = -1  # the item data of the "Unlabelled" row (class_id None)
ClassIdRole = Qt.ItemDataRole.UserRole + 1


def swatch(color: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(color))
    p.setPen(QColor(color).darker(130))
    p.drawRoundedRect(1, 1, size - 2, size - 2, 4, 4)
    p.end()
    return QIcon(pm)


class ClassTree(QTreeWidget):
    """Emits ``class_activated(class_id | None)`` on a double-click and ``ids_dropped`` for thumbnail drops."""

    class_activated = Signal(object)
    ids_dropped = Signal(object, list)  # class_id (None = unlabel), image ids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classTree")
        self.setColumnCount(4)
        self.setHeaderLabels(["Key", "Class", "Images", "Train·Val·Test"])
        self.headerItem().setToolTip(3, "How many of the class's images are in the training, validation and "
                                        "test split (the split counts hide when the panel is narrow; hover a "
                                        "class to see them)")
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # labelling keys stay with the page
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(False)
        self.setMouseTracking(True)
        self.drop_row: QTreeWidgetItem | None = None
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)

    def _name_width(self) -> int:
        """The width the Class column needs to show the longest class name in full (with its colour dot)."""
        names = [self.topLevelItem(i).text(1) for i in range(self.topLevelItemCount())]
        text = max((self.fontMetrics().horizontalAdvance(n) for n in names), default=0)
        return text + self.iconSize().width() + 24

    def fit_columns(self) -> None:
        """Class names are never cut: when they need the room, the split counts column hides (the counts stay
        in each row's tooltip)."""
        def need(column: int) -> int:  # measured from the texts: Qt's size hints are -1 for a hidden column
            texts = [self.topLevelItem(i).text(column) for i in range(self.topLevelItemCount())]
            cells = max((self.fontMetrics().horizontalAdvance(t) for t in texts), default=0) + 16
            title = self.header().fontMetrics().horizontalAdvance(self.headerItem().text(column)) + 24
            return max(cells, title)

        room = self.viewport().width() - need(0) - need(2)
        self.setColumnHidden(3, room - need(3) < self._name_width())

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt name)
        super().resizeEvent(event)
        self.fit_columns()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt name)
        super().showEvent(event)
        QTimer.singleShot(0, self.fit_columns)  # after the layout has given the panel its width

    def class_id_at(self, pos: QPoint) -> tuple[bool, int | None]:
        item = self.itemAt(pos)
        if item is None:
            return False, None
        cid = item.data(0, ClassIdRole)
        return True, (None if cid == UNLABELLED else int(cid))

    def current_class(self) -> tuple[bool, int | None]:
        item = self.currentItem()
        if item is None or not item.isSelected():
            return False, None
        cid = item.data(0, ClassIdRole)
        return True, (None if cid == UNLABELLED else int(cid))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        super().mouseDoubleClickEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            hit, cid = self.class_id_at(event.position().toPoint())
            if hit:
                self.class_activated.emit(cid)

    def _highlight(self, item: QTreeWidgetItem | None) -> None:
        if item is self.drop_row:
            return
        for row, brush in ((self.drop_row, QBrush()), (item, QBrush(QColor("#cfe3fb")))):
            if row is not None:
                for col in range(self.columnCount()):
                    row.setBackground(col, brush)
        self.drop_row = item

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 (Qt name)
        self._highlight(None)
        super().dragLeaveEvent(event)

    # Only our own thumbnail drags are accepted here; file drops fall through to the main window.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(IMAGE_IDS_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        pos = event.position().toPoint()
        hit, _ = self.class_id_at(pos)
        if event.mimeData().hasFormat(IMAGE_IDS_MIME) and hit:
            self._highlight(self.itemAt(pos))
            event.acceptProposedAction()
        else:
            self._highlight(None)
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        self._highlight(None)
        hit, cid = self.class_id_at(event.position().toPoint())
        ids = ids_from_mime(event.mimeData())
        if hit and ids:
            event.acceptProposedAction()
            self.ids_dropped.emit(cid, ids)
        else:
            event.ignore()


class ClassPanel(QWidget):
    """Lists the classes with counts; add / rename / recolour / merge / delete; emits label requests."""

    label_requested = Signal(object)        # class_id or None: label the current selection
    label_ids_requested = Signal(object, list)  # class_id or None, image ids (a drop)
    dialog_closed = Signal()                # a class dialog closed: the page takes the keyboard back

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classPanel")
        self.session = session
        self.problem_counts: dict[str, int] = {}  # class name -> open data-health problems (Review view)
        self.tree = ClassTree(self)
        self.tree.class_activated.connect(self.label_requested)
        self.tree.itemSelectionChanged.connect(self._update_label_button)
        self.tree.ids_dropped.connect(self.label_ids_requested)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        title = QLabel("Classes")
        title.setObjectName("panelTitle")
        self.hint = hint = QLabel("Select images, then press a class's key, type its name, or drag them onto a "
                                  "class. Double-click a class (or pick it and press Label) to label them too.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.add_button = QPushButton("Add class")
        self.add_button.setObjectName("addClassButton")
        self.add_button.setIcon(QIcon.fromTheme("list-add"))
        self.add_button.clicked.connect(self._ask_add)
        self.more_button = QToolButton()
        self.more_button.setText("Edit class")
        self.more_button.setToolTip("Rename, recolour, merge or delete a class (or right-click it)")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_button.setMenu(QMenu(self.more_button))
        self.more_button.menu().aboutToShow.connect(self._fill_edit_menu)

        self.label_button = QPushButton("Label")
        self.label_button.setObjectName("labelSelectedButton")
        self.label_button.setToolTip("Label the selected images with the class picked in the list")
        self.label_button.clicked.connect(self._label_with_current)
        self.label_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.more_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.label_button)
        layout.addLayout(buttons)

        # Change signals often come in pairs (images + classes): one rebuild, on the next loop turn.
        self._refresh_timer = QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self.refresh)
        session.project_changed.connect(self.refresh)
        session.classes_changed.connect(self._refresh_timer.start)
        session.images_changed.connect(self._refresh_timer.start)
        self.refresh()

    # ----- view -------------------------------------------------------------------------------
    def classes(self) -> list[ClassInfo]:
        return self.session.project.classes() if self.session.project is not None else []

    def _update_label_button(self) -> None:
        hit, cid = self.tree.current_class()
        self.label_button.setEnabled(hit)
        name = next((c.name for c in self.classes() if c.id == cid), "unlabelled") if hit else ""
        self.label_button.setText(f"Label as {name}" if hit else "Label")

    def _label_with_current(self) -> None:
        hit, cid = self.tree.current_class()
        if hit:
            self.label_requested.emit(cid)

    def refresh(self) -> None:
        self.tree.drop_row = None
        self.tree.clear()
        project = self.session.project
        if project is None:
            return
        counts = project.counts()
        classes = project.classes()
        keys = key_of(classes)
        rows: list[tuple[str, str, int, str | None]] = []
        for info in classes:
            rows.append((keys.get(info.id, ""), info.name, info.id, info.color))
        rows.append((keys.get(None, ""), "Unlabelled", UNLABELLED, None))
        for key, name, cid, color in rows:
            per = counts.get(None if cid == UNLABELLED else name, {s: 0 for s in SPLITS})
            splits = " · ".join(str(per.get(s, 0)) for s in SPLITS)
            item = QTreeWidgetItem([key, name, str(sum(per.values())), splits])
            item.setData(0, ClassIdRole, cid)
            if color:
                item.setIcon(1, swatch(color))
            else:
                item.setForeground(1, self.palette().placeholderText())
            for col in (0, 2, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignCenter)
            tip = (f"Key {key} labels the selected images" if key else "Type its name to label the selected images")
            problems = self.problem_counts.get(name, 0) if cid != UNLABELLED else 0
            if problems:
                item.setText(2, f"{item.text(2)} ⚠{problems}")  # beside the count: the name is never elided
                tip += f"\n{problems} image{'s' if problems != 1 else ''} to review (Images › Review)"
            tip += "\n" + ", ".join(f"{per.get(s, 0)} {s}" for s in SPLITS)
            for col in range(self.tree.columnCount()):
                item.setToolTip(col, tip)
            self.tree.addTopLevelItem(item)
        self.more_button.setEnabled(bool(rows[:-1]))
        self.tree.fit_columns()
        QTimer.singleShot(0, self.tree.fit_columns)  # again once the rows' sizes are laid out
        self._update_label_button()

    def set_problem_counts(self, counts: dict[str, int]) -> None:
        if counts != self.problem_counts:
            self.problem_counts = dict(counts)
            self.refresh()

    # ----- edits (public so tests and menus share them) ----------------------------------------
    def add_class(self, name: str, color: str | None = None) -> ClassInfo:
        command = cmd.AddClass(self.session, name, color)
        self.session.undo_stack.push(command)
        return command.info

    def rename_class(self, info: ClassInfo, new_name: str) -> None:
        self.session.undo_stack.push(cmd.RenameClass(self.session, info, new_name))

    def recolor_class(self, info: ClassInfo, color: str) -> None:
        self.session.undo_stack.push(cmd.RecolorClass(self.session, info, color))

    def merge_classes(self, source: ClassInfo, target: ClassInfo) -> None:
        self.session.undo_stack.push(cmd.MergeClasses(self.session, source, target))

    def delete_class(self, info: ClassInfo, *, confirm: bool = True) -> bool:
        if confirm:
            n = sum(self.session.project.counts().get(info.name, {}).values()) if self.session.project else 0
            answer = QMessageBox.question(
                self, "Delete class",
                f"Delete the class “{info.name}”? Its {n} image{'s' if n != 1 else ''} will become unlabelled "
                "(no image is deleted). You can undo this with Ctrl+Z.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.session.undo_stack.push(cmd.DeleteClass(self.session, info))
        return True

    # ----- dialogs ----------------------------------------------------------------------------
    def _guard(self, action, *args) -> None:  # noqa: ANN001
        try:
            action(*args)
        except ProjectError as exc:
            QMessageBox.warning(self, "Classes", str(exc))

    def _ask_name(self, title: str, prompt: str, text: str, apply,  # noqa: ANN001
                  original: str | None = None) -> QInputDialog:
        """A name dialog that keeps what was typed when the name cannot be used, and says why in plain words."""
        dialog = QInputDialog(self.window())
        dialog.setWindowTitle(title)
        dialog.setLabelText(prompt)
        dialog.setTextValue(text)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.name_dialog = dialog

        def accepted(name: str) -> None:
            name = " ".join(name.split())
            problem = self._name_problem(name, original)
            if problem is None:
                try:
                    apply(name)
                except ProjectError as exc:
                    problem = str(exc).capitalize() + "."
            if problem is not None:  # ask again, with the text as typed
                self._ask_name(title, problem + "\n" + prompt.splitlines()[-1], name, apply, original)

        dialog.textValueSelected.connect(accepted)
        dialog.finished.connect(lambda _r: self.dialog_closed.emit())
        dialog.open()
        return dialog

    def _name_problem(self, name: str, original: str | None) -> str | None:
        if not name:
            return "A class needs a name."
        clash = next((c.name for c in self.classes() if c.name.lower() == name.lower()), None)
        if clash is not None and clash != original:
            return f"There is already a class called “{clash}”. Choose another name."
        return None

    def _ask_add(self) -> QInputDialog:
        return self._ask_name("Add class", "Name of the new class:", "", self.add_class)

    def _ask_rename(self, info: ClassInfo) -> QInputDialog:
        return self._ask_name("Rename class", f"New name for “{info.name}”:", info.name,
                              lambda name: name != info.name and self.rename_class(info, name), info.name)

    def _ask_recolor(self, info: ClassInfo) -> None:
        color = QColorDialog.getColor(QColor(info.color), self, f"Colour of “{info.name}”")
        if color.isValid():
            self._guard(self.recolor_class, info, color.name())

    def _class_menu(self, menu: QMenu, info: ClassInfo) -> None:
        menu.addAction("Rename…", lambda: self._ask_rename(info))
        menu.addAction("Change colour…", lambda: self._ask_recolor(info))
        merge = menu.addMenu("Merge into")
        for other in self.classes():
            if other.id != info.id:
                act = QAction(swatch(other.color), other.name, merge)
                act.triggered.connect(lambda _=False, o=other: self._guard(self.merge_classes, info, o))
                merge.addAction(act)
        merge.setEnabled(len(self.classes()) > 1)
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self._guard(self.delete_class, info))

    def _fill_edit_menu(self) -> None:
        menu = self.more_button.menu()
        menu.clear()
        for info in self.classes():
            self._class_menu(menu.addMenu(swatch(info.color), info.name), info)

    def _context_menu(self, pos: QPoint) -> None:
        hit, cid = self.tree.class_id_at(pos)
        info = next((c for c in self.classes() if c.id == cid), None) if hit else None
        menu = QMenu(self)
        if info is not None:
            self._class_menu(menu, info)
            menu.addSeparator()
        menu.addAction("Add class…", self._ask_add)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
