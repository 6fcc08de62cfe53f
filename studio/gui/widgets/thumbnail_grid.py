"""The virtualised thumbnail grid: a list model over image records, a painting delegate and the view.

Only the visible rows are ever painted, so the model asks the :class:`ThumbnailCache` for those alone;
the label is drawn as a coloured badge on the tile.
"""

from __future__ import annotations

import json
import operator
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from studio.core.project.store import ClassInfo, ImageRecord
from studio.gui.thumbnails import ThumbnailCache

IMAGE_IDS_MIME = "application/x-edge-studio-image-ids"
RecordRole = Qt.ItemDataRole.UserRole + 1
ImageIdRole = Qt.ItemDataRole.UserRole + 2
ThumbRole = Qt.ItemDataRole.UserRole + 3

TILE = QSize(148, 168)
PIXMAP_ITEMS = 1500  # tile pixmaps kept (about 64 kB each)
TILE_BUDGET_S = 0.006  # making tiles, per frame (the rest wait for the next frame); 10 ms left 18 ms frames
THUMB_BOX = 128


def ids_from_mime(mime: QMimeData) -> list[int]:
    if not mime.hasFormat(IMAGE_IDS_MIME):
        return []
    return [int(i) for i in json.loads(bytes(mime.data(IMAGE_IDS_MIME).data()).decode())]


def _same_prefix(longer: Sequence[ImageRecord], shorter: list[ImageRecord]) -> bool:
    """Does ``longer`` start with the images of ``shorter``? The same objects (an incremental load reuses
    them) are recognised at C speed; otherwise ids are compared one by one."""
    head = longer[:len(shorter)]
    return all(map(operator.is_, head, shorter)) or all(a.id == b.id for a, b in zip(head, shorter))


class ImageListModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self._row_of: dict[int, int] = {}
        self._classes: dict[int, ClassInfo] = {}
        self.cache: ThumbnailCache | None = None

    # ----- content ----------------------------------------------------------------------------
    def set_cache(self, cache: ThumbnailCache | None) -> None:
        if self.cache is not None:
            self.cache.ready.disconnect(self._thumbnail_ready)
        self.cache = cache
        if cache is not None:
            cache.ready.connect(self._thumbnail_ready)

    def set_records(self, records: Sequence[ImageRecord], classes: Iterable[ClassInfo]) -> bool:
        """Show these records. Returns True after a reset (the view's selection is lost), False after an
        in-place update (same images: labels or classes changed) or an append (an import)."""
        self._classes = {c.id: c for c in classes}
        same = len(records) == len(self._records) and all(
            a.id == b.id for a, b in zip(records, self._records))
        if same:
            self._records = list(records)
            if self._records:
                self.dataChanged.emit(self.index(0), self.index(len(self._records) - 1))
            return False
        n_old = len(self._records)
        if n_old and len(records) > n_old and _same_prefix(records, self._records):
            # New images arrived at the end (an import): insert rows, so scroll position and selection stay.
            self.beginInsertRows(QModelIndex(), n_old, len(records) - 1)
            self._records = list(records)
            self._row_of.update((r.id, i) for i, r in enumerate(self._records[n_old:], n_old))
            self.endInsertRows()
            self.dataChanged.emit(self.index(0), self.index(n_old - 1))
            return False
        self.beginResetModel()
        self._records = list(records)
        self._row_of = {r.id: i for i, r in enumerate(self._records)}
        self.endResetModel()
        return True

    def records(self) -> list[ImageRecord]:
        return list(self._records)

    def records_view(self) -> list[ImageRecord]:
        """The shown records themselves (not a copy): read-only, for building the next list cheaply."""
        return self._records

    def last_id(self) -> int | None:
        """The id of the last row (rows are in id order), or None when the grid is empty."""
        return self._records[-1].id if self._records else None

    def record(self, row: int) -> ImageRecord:
        return self._records[row]

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def thumbnail(self, record: ImageRecord) -> QImage | None:
        """The thumbnail, already scaled to the grid's box by the cache's worker thread (or None: it is
        requested, and ``ready`` follows)."""
        image = self.cache.get(record) if self.cache is not None else None
        return None if image is None or image.isNull() else image

    def class_info(self, class_id: int | None) -> ClassInfo | None:
        return self._classes.get(class_id) if class_id is not None else None

    def _thumbnail_ready(self, image_id: int) -> None:
        row = self._row_of.get(image_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [ThumbRole])

    # ----- Qt model API -----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if not index.isValid():
            return None
        rec = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.original_name
        if role == Qt.ItemDataRole.ToolTipRole:
            label = rec.label or "unlabelled"
            return f"{rec.original_name}\n{rec.width} x {rec.height} · {label} · {rec.split}"
        if role == RecordRole:
            return rec
        if role == ImageIdRole:
            return rec.id
        if role == ThumbRole:
            return self.cache.get(rec) if self.cache is not None else None
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [IMAGE_IDS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = sorted({self._records[i.row()].id for i in indexes if i.isValid()})
        mime.setData(IMAGE_IDS_MIME, QByteArray(json.dumps(ids).encode()))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a tile: the thumbnail (or a placeholder), the file name and the label badge."""

    def __init__(self, model: ImageListModel, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._model = model
        self._badge_font = QFont()
        self._badge_font.setPointSizeF(8.0)
        self._badge_font.setBold(True)
        self._name_font = QFont()
        self._name_font.setPointSizeF(8.5)
        self._tiles: OrderedDict[int, tuple[tuple, QPixmap]] = OrderedDict()
        self._frame_open = False
        self._spent = 0.0
        self._deferred = False
        self._backgrounds: dict[tuple, QPixmap] = {}

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return TILE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        # Read the model directly, not through index.data(): in PySide6 6.12 a QModelIndex.data() call that
        # yields None drops a reference to None each time, and after enough paints Python aborts
        # ("none_dealloc"). Measured: 10,000 such calls took None's refcount down by ~9,600.
        if not index.isValid():
            return
        row = index.row()
        if row >= self._model.rowCount():
            return
        rec = self._model.record(row)
        # Plain ints and cached pixmaps only: with a worker thread running Python, every Qt value object
        # made here (a QRect, a QColor, a QPoint) costs ~40 us instead of ~1 us (measured), and a frame
        # paints ~40 tiles. A tile is two blits: its background (shared by all tiles) and its content.
        r = option.rect
        x, y, w, h = r.x() + 3, r.y() + 3, r.width() - 6, r.height() - 6
        if w <= 0 or h <= 0:
            return  # not laid out yet
        state = option.state
        look = 2 if state & QStyle.StateFlag.State_Selected else 1 if state & QStyle.StateFlag.State_MouseOver else 0
        dpr = painter.device().devicePixelRatioF()
        palette = option.palette
        painter.drawPixmap(x, y, self._background(look, w, h, dpr, palette))
        tile = self._tile(rec, w, h, palette, dpr)
        if tile is not None:
            painter.drawPixmap(x, y, tile)

    def _background(self, look: int, w: int, h: int, dpr: float, palette) -> QPixmap:  # noqa: ANN001
        """The rounded tile background: 0 plain, 1 hovered, 2 selected (with the accent frame)."""
        key = (look, w, h, dpr, palette.cacheKey())
        pm = self._backgrounds.get(key)
        if pm is not None:
            return pm
        pm = QPixmap(round(w * dpr), round(h * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = palette.highlight().color()
        if look == 2:
            bg = QColor(accent)
            bg.setAlpha(40)
            painter.setPen(QPen(accent, 2))
        else:
            bg = palette.base().color().darker(104) if look == 1 else palette.base().color()
            painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(QRectF(1, 1, w - 2, h - 2), 8, 8)
        painter.end()
        if len(self._backgrounds) > 32:  # palettes or sizes changed many times: start over
            self._backgrounds.clear()
        self._backgrounds[key] = pm
        return pm

    # ----- a time budget per frame for making tiles ---------------------------------------------
    # When many thumbnails arrive at once (an import, a jump in the grid) every visible tile needs making
    # (~2 ms each). Past a budget per frame, the rest keep their old look (or stay blank) and are made in
    # the next frames, so one paint never holds the event loop for long.
    def _budget_left(self) -> bool:
        if not self._frame_open:
            self._frame_open = True
            self._spent = 0.0
            self._deferred = False
            QTimer.singleShot(0, self._end_frame)
        return self._spent < TILE_BUDGET_S

    def _charge(self, started: float) -> None:
        self._spent += time.perf_counter() - started

    def settled(self) -> bool:
        """No tile is waiting for a later frame."""
        return not self._deferred and not self._frame_open

    def _end_frame(self) -> None:
        self._frame_open = False
        if self._deferred:  # stays set until the next frame starts
            view = self.parent()
            if view is not None:
                view.viewport().update()  # the tiles left over are made in the next paint

    def _tile(self, rec: ImageRecord, w: int, h: int, palette, dpr: float) -> QPixmap | None:  # noqa: ANN001
        """The tile's content (thumbnail, badge, name) drawn once and reused: a scroll frame then costs two
        draw calls per tile instead of twenty Python-to-Qt calls."""
        info = self._model.class_info(rec.class_id)
        started = time.perf_counter()
        within = self._budget_left()
        image = self._model.thumbnail(rec)
        cache = self._model.cache
        failed = image is None and cache is not None and cache.failed(rec.id)
        key = (rec.id, rec.original_name, info, image is not None, failed, bool(rec.trashed_at), w, h, dpr)
        tile = self._tiles.get(key[0])
        if tile is not None and tile[0] == key:
            return tile[1]
        if not within:
            self._deferred = True
            return tile[1] if tile is not None else None  # the old look for one more frame
        pm = QPixmap(round(w * dpr), round(h * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(0, 0, w, h)
        box = QRectF(r.center().x() - THUMB_BOX / 2, r.top() + 6, THUMB_BOX, THUMB_BOX)
        if image is not None:
            painter.drawImage(int(box.center().x() - image.width() / 2),
                              int(box.center().y() - image.height() / 2), image)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.alternateBase())
            painter.drawRoundedRect(box, 6, 6)
            if failed:
                painter.setPen(palette.placeholderText().color())
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "cannot read\nimage")
        if info is not None:  # the label badge
            painter.setFont(self._badge_font)
            fm = QFontMetrics(self._badge_font)
            text = fm.elidedText(info.name, Qt.TextElideMode.ElideRight, int(box.width() - 16))
            bw, bh = fm.horizontalAdvance(text) + 12, fm.height() + 4
            badge = QRectF(box.left() + 4, box.top() + 4, bw, bh)
            color = QColor(info.color)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(badge, bh / 2, bh / 2)
            painter.setPen(QColor("#ffffff") if color.lightnessF() < 0.62 else QColor("#111111"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.setFont(self._name_font)
        painter.setPen(palette.text().color() if not rec.trashed_at else palette.placeholderText().color())
        name_rect = QRectF(r.left() + 4, box.bottom() + 4, r.width() - 8, r.bottom() - box.bottom() - 6)
        fm = QFontMetrics(self._name_font)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         fm.elidedText(rec.original_name, Qt.TextElideMode.ElideMiddle, int(name_rect.width())))
        painter.end()
        self._tiles[key[0]] = (key, pm)
        self._tiles.move_to_end(key[0])
        while len(self._tiles) > PIXMAP_ITEMS:
            self._tiles.popitem(last=False)
        self._charge(started)
        return pm


class ThumbnailView(QListView):
    """A wrapping grid of tiles: click/Shift/Ctrl/rubber-band selection, Ctrl+A, drag of the selection's ids."""

    def __init__(self, model: ImageListModel, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setObjectName("thumbnailGrid")
        self.setModel(model)
        self.setItemDelegate(ThumbnailDelegate(model, self))
        # IconMode: a wrapping ListMode lays out twice as fast (~28 vs ~56 ms for 20,000 tiles) but scrolled
        # slower (frame median ~17 vs ~10 ms in bench/ui_latency.py), and scrolling happens far more often.
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(TILE.width() + 6, TILE.height() + 6))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAcceptDrops(False)  # file drops go to the main window
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setWordWrap(False)

    def settled(self) -> bool:
        """Every visible tile shows its current thumbnail: nothing requested, nothing left for a later
        frame (what a screenshot waits for)."""
        model: ImageListModel = self.model()  # type: ignore[assignment]
        delegate: ThumbnailDelegate = self.itemDelegate()  # type: ignore[assignment]
        return (model.cache is None or model.cache.pending() == 0) and delegate.settled()

    def selected_ids(self) -> list[int]:
        model: ImageListModel = self.model()  # type: ignore[assignment]
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [model.record(r).id for r in rows]

    def select_ids(self, ids: Iterable[int]) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        model: ImageListModel = self.model()  # type: ignore[assignment]
        selection = QItemSelection()
        for image_id in ids:
            row = model.row_of(image_id)
            if row is not None:
                selection.select(model.index(row), model.index(row))
        self.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
