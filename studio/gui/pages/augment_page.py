"""The Augment page: model input size and colour, the augmentations, and a live grid of what training sees.

The grid is computed off the UI thread by :func:`studio.core.training.augment.preview`, the very function the
training pipeline uses, with the training seed: cell k is what the model sees of this image in epoch k.
Settings are saved with the project (``preprocess`` and ``augment``) and read by the next training run.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.project import settings as project_settings
from studio.core.project.store import Project
from studio.core.specs import (
    AUGMENT_PRESET_TITLES,
    AUGMENT_PRESETS,
    DEFAULT_AUGMENT,
    AugmentSpec,
    PreprocessSpec,
    SpecError,
    flip_warning,
)
from studio.gui.parts.augment_controls import AugmentControls
from studio.gui.parts.augment_grid import AugmentGrid, array_to_qimage, pixmap_for
from studio.gui.session import Session
from studio.gui.widgets.page_scroll import VerticalScroll

if TYPE_CHECKING:
    import numpy as np

GRID_COUNT = 16
MAX_LISTED_IMAGES = 3000
CUSTOM = "Custom"


def compute_preview(path: str, image_id: int, pre: PreprocessSpec, spec: AugmentSpec, seed: int, n: int,
                    cache: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """On a worker thread: decode + preprocess once per (image, input spec), then augment ``n`` times."""
    from studio.core.images.imaging import load_rgb
    from studio.core.training.augment import preview

    key = (image_id, pre.to_json())
    if key not in cache:
        rgb = load_rgb(path)
        # The default AugmentSpec is the identity, so this is the plain preprocessed model input.
        model_input = preview(rgb, AugmentSpec(), 1, preprocess_spec=pre)[0]
        cache.clear()  # one image at a time is all the page shows
        cache[key] = (rgb, model_input)
    rgb, model_input = cache[key]
    variants = preview(model_input, spec, n, seed=seed, image_id=image_id)
    return {"image_id": image_id, "original": rgb, "model_input": model_input, "variants": variants}


class PreviewRunner(QObject):
    """Runs preview jobs one at a time on a Python-created thread and reports through signals.

    Not the Qt thread pool: TensorFlow eager ops (the preprocessing) called from a thread that Qt created
    hung inside the op on the second call here (``gen_array_ops.reshape``, GIL held, window frozen), while
    the same calls on a ``threading`` thread run fine. A single worker also keeps jobs in order.
    """

    finished = Signal(object)
    errored = Signal(object)
    done = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="augment-preview")
        self._closed = False

    def submit(self, fn: Any, *args: Any) -> Future[Any] | None:
        if self._closed:
            return None
        future = self._executor.submit(fn, *args)
        future.add_done_callback(self._report)  # on the worker thread; the signals queue to the UI thread
        return future

    def _report(self, future: Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        try:
            if exc is None:
                self.finished.emit(future.result())
            else:
                self.errored.emit(exc)
            self.done.emit()
        except RuntimeError:
            pass  # the page was closed while the job ran; nobody is waiting for the result

    def shutdown(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)


class AugmentPage(QWidget):
    preview_ready = Signal(float)  # milliseconds from the first unserved change to the painted grid

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.seed = 0
        self.last_latency_ms = 0.0
        self.last_result: dict[str, Any] | None = None  # what the grid shows (arrays), for checks
        self._cache: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
        self._worker: Future[Any] | None = None
        self._runner = PreviewRunner(self)
        # Queued even when emitted on this thread: a job that is already done when its callback is added
        # reports from inside submit(), before the page has recorded the job as running.
        queued = Qt.ConnectionType.QueuedConnection
        self._runner.finished.connect(self._on_preview, queued)
        self._runner.errored.connect(self._on_preview_error, queued)
        self._runner.done.connect(self._on_worker_done, queued)
        self._dirty = False
        self._change_at: float | None = None
        self._loading = False
        self._prepared_fresh = False
        self._debounce = QTimer(self, singleShot=True, interval=10)
        self._debounce.timeout.connect(self._launch)
        self._save_timer = QTimer(self, singleShot=True, interval=250)
        self._save_timer.timeout.connect(self.save_settings)
        self._build()
        session.project_changed.connect(self._on_project_changed)
        session.images_changed.connect(self._images_changed)
        self._images_stale = False
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.flush_settings)
        self._on_project_changed(session.project)

    # ----- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 12, 12, 12)
        root.setSpacing(16)

        settings = QWidget()
        left = QVBoxLayout(settings)
        left.setContentsMargins(0, 0, 8, 0)
        aug = QGroupBox("How training images are varied (training images only)")
        aug_layout = QVBoxLayout(aug)
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset"))
        self.preset = QComboBox()
        for name in AUGMENT_PRESETS:
            self.preset.addItem(AUGMENT_PRESET_TITLES.get(name, name), name)
        self.preset.addItem(CUSTOM, CUSTOM)
        self.preset.setToolTip("Ready-made settings; changing any control below makes them your own")
        self.preset.setMinimumContentsLength(14)
        self.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        preset_row.addWidget(self.preset, 1)
        aug_layout.addLayout(preset_row)
        self.flip_note = QLabel("")
        self.flip_note.setObjectName("flipWarning")
        self.flip_note.setWordWrap(True)
        self.flip_note.setStyleSheet("color:#8a4b00;background:#fff4e0;border:1px solid #f0c987;"
                                     "border-radius:5px;padding:6px")
        self.flip_note.hide()
        aug_layout.addWidget(self.flip_note)
        self.controls = AugmentControls()
        aug_layout.addWidget(self.controls)
        self.input_note = QLabel("")
        self.input_note.setObjectName("hint")
        self.input_note.setWordWrap(True)
        left.addWidget(self.input_note)
        left.addWidget(aug)
        self.saved_label = QLabel("")
        self.saved_label.setStyleSheet("color:#2e7d32")
        self.saved_label.setWordWrap(True)
        left.addWidget(self.saved_label)
        left.addStretch(1)
        scroll = VerticalScroll(settings)
        scroll.setMaximumWidth(480)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(scroll)
        right_box = QWidget()
        right = QVBoxLayout(right_box)
        right.setContentsMargins(8, 0, 0, 0)
        picker = QHBoxLayout()
        picker.addWidget(QLabel("Image"))
        self.image_combo = QComboBox()
        self.image_combo.setMinimumContentsLength(12)
        picker.addWidget(self.image_combo, 1)
        self.random_button = QPushButton("Random")
        self.reroll_button = QPushButton("Re-roll")
        self.reroll_button.setToolTip("Show another set of random draws (training itself uses seed 0)")
        picker.addWidget(self.random_button)
        picker.addWidget(self.reroll_button)
        right.addLayout(picker)

        body = QHBoxLayout()
        originals = QVBoxLayout()
        self.original = QLabel()
        self.original.setFixedSize(110, 110)
        self.original.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.original.setStyleSheet("background:#eef0f3;border:1px solid #d5d9e0;border-radius:3px")
        self.original_caption = QLabel("Original")
        self.model_input = QLabel()
        self.model_input.setFixedSize(110, 110)
        self.model_input.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_input.setStyleSheet("background:#eef0f3;border:1px solid #d5d9e0;border-radius:3px")
        self.model_caption = QLabel("Model input")
        for w in (self.original_caption, self.model_caption):
            w.setStyleSheet("color:#555")
            w.setFixedWidth(110)
            w.setWordWrap(True)
        originals.addWidget(self.original)
        originals.addWidget(self.original_caption)
        originals.addSpacing(10)
        originals.addWidget(self.model_input)
        originals.addWidget(self.model_caption)
        originals.addStretch(1)
        body.addLayout(originals)
        body.addSpacing(12)

        grid_box = QVBoxLayout()
        self.grid_title = QLabel("<b>What training sees</b>")
        self.grid_title.setWordWrap(True)
        grid_box.addWidget(self.grid_title)
        self.grid = AugmentGrid(GRID_COUNT, columns=4, cell=112)
        grid_box.addWidget(self.grid, 1)
        self.timing = QLabel("")
        self.timing.setStyleSheet("color:#777")
        self.timing.setWordWrap(True)
        grid_box.addWidget(self.timing)
        body.addLayout(grid_box, 1)
        right.addLayout(body, 1)
        splitter.addWidget(right_box)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        root.addWidget(splitter)

        self.controls.spec_changed.connect(self._on_spec_edited)
        self.preset.currentIndexChanged.connect(lambda _i: self._on_preset(self.preset_name()))
        self.image_combo.currentIndexChanged.connect(self._on_setting_changed)
        self.random_button.clicked.connect(self.pick_random_image)
        self.reroll_button.clicked.connect(self.reroll)

    # ----- state -------------------------------------------------------------------------------
    def preprocess_spec(self) -> PreprocessSpec:
        """The model input, as set on the Train page's advanced settings (saved with the project)."""
        return self._preprocess

    def _read_preprocess(self) -> bool:
        """Read the project's model input; True when it changed."""
        project = self.session.project
        try:
            pre = PreprocessSpec.from_dict(project.get_setting("preprocess") or {}) if project else PreprocessSpec()
        except (SpecError, TypeError):
            pre = PreprocessSpec()
        changed = pre != getattr(self, "_preprocess", None)
        self._preprocess = pre
        self.input_note.setText(f"The model sees {pre.image_size}×{pre.image_size} "
                                f"{'grayscale' if pre.color == 'gray' else 'colour'} images; change that in the "
                                "Train page's advanced settings.")
        return changed

    def augment_spec(self) -> AugmentSpec:
        return self.controls.spec()

    def set_preset(self, name: str) -> None:
        """Choose a preset by its name in ``AUGMENT_PRESETS`` (what scripts use) or by the title shown."""
        index = self.preset.findData(name)
        self.preset.setCurrentIndex(index if index >= 0 else self.preset.findText(name))

    def preset_name(self) -> str:
        return str(self.preset.currentData())

    def reroll(self) -> None:
        self.seed += 1
        self._on_setting_changed()

    def pick_random_image(self) -> None:
        if self.image_combo.count() > 1:
            choices = [i for i in range(self.image_combo.count()) if i != self.image_combo.currentIndex()]
            self.image_combo.setCurrentIndex(random.choice(choices))

    def _on_preset(self, name: str) -> None:
        if name in AUGMENT_PRESETS and not self._loading:
            self.controls.set_spec(AUGMENT_PRESETS[name])
            self._sync_preset(AUGMENT_PRESETS[name])  # the flip warning follows the preset
            self._on_setting_changed()

    def _on_spec_edited(self, spec: AugmentSpec) -> None:
        self._sync_preset(spec)
        self._on_setting_changed()

    def _sync_preset(self, spec: AugmentSpec) -> None:
        name = next((n for n, p in AUGMENT_PRESETS.items() if p == spec), CUSTOM)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(name))
        self.preset.blockSignals(False)
        warning = flip_warning(spec)
        self.flip_note.setText(f"⚠ {warning}" if warning else "")
        self.flip_note.setVisible(bool(warning))

    def _on_setting_changed(self, *_args: object) -> None:
        if self._loading:
            return
        if self._change_at is None:
            self._change_at = time.perf_counter()
        self._debounce.start()
        if self.session.project is not None:
            self.saved_label.setText("")
            self._save_timer.start()

    def preview_runner_shutdown(self) -> None:
        """Wait for the running preview job (if any) and stop the preview thread."""
        self._runner.shutdown()

    def flush_settings(self) -> None:
        """Save now if a change is still waiting for the debounce (page hidden, studio quitting)."""
        if self._save_timer.isActive():
            self.save_settings()

    def _images_changed(self) -> None:
        # Listing the project's images costs tens of ms on big projects: do it when the page is seen, not
        # on every import batch or relabel elsewhere (the UI thread must not stall while the user works).
        if self.isVisible():
            self._reload_images()
        else:
            self._images_stale = True

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._read_preprocess() and not self._images_stale:
            self._on_setting_changed()  # the Train page changed the model input
        if self._images_stale:
            self._images_stale = False
            self._reload_images()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self.flush_settings()
        super().hideEvent(event)

    def save_settings(self) -> None:
        project = self.session.project
        if project is None:
            return
        self._save_timer.stop()
        project_settings.save(project, project_settings.ProjectSettings(self.preprocess_spec(), self.augment_spec()))
        self.saved_label.setText("✓ Saved with the project; the next training run uses these settings.")

    # ----- project -----------------------------------------------------------------------------
    def _on_project_changed(self, project: Project | None) -> None:
        # The previous project is closed by now; a change still waiting to be saved is dropped (at most
        # the last quarter second: the page also saves when it is hidden and when the studio quits).
        self._save_timer.stop()
        self._loading = True
        aug = AugmentSpec()
        self._read_preprocess()
        if project is not None:
            try:
                aug = project_settings.load(project).augment
                if project.get_setting(project_settings.AUGMENT_KEY) is None:  # never chosen: what training uses
                    aug = AUGMENT_PRESETS[DEFAULT_AUGMENT]
            except SpecError:
                self.session.status_message.emit("The saved augmentation settings were invalid; defaults shown.")
        self.controls.set_spec(aug)
        self._sync_preset(aug)
        self.saved_label.setText("")
        self._cache.clear()
        self._loading = False
        self._reload_images()

    def _reload_images(self) -> None:
        project = self.session.project
        keep = self.image_combo.currentData()
        self._loading = True
        self.image_combo.clear()
        if project is not None:
            images = [im for im in project.images(split="train") if im.label is not None] or project.images()
            for im in images[:MAX_LISTED_IMAGES]:
                self.image_combo.addItem(f"{im.original_name} · {im.label or 'unlabelled'}", (im.id, str(
                    project.image_path(im)), im.width, im.height))
        index = next((i for i in range(self.image_combo.count())
                      if keep and self.image_combo.itemData(i)[0] == keep[0]), 0)
        self.image_combo.setCurrentIndex(index if self.image_combo.count() else -1)
        self._loading = False
        if self.image_combo.count():
            self._on_setting_changed()
        else:
            self.grid.clear("No images yet")
            self.original.clear()
            self.model_input.clear()

    # ----- preview worker ----------------------------------------------------------------------
    def _launch(self) -> None:
        data = self.image_combo.currentData()
        if data is None:
            return
        if self._worker is not None:
            self._dirty = True  # one job at a time; the newest settings run as soon as it returns
            return
        image_id, path, _w, _h = data
        self._dirty = False
        self._prepared_fresh = (image_id, self.preprocess_spec().to_json()) not in self._cache
        if self._prepared_fresh:
            self.timing.setText("Preparing the preview…")
        self._worker = self._runner.submit(compute_preview, path, image_id, self.preprocess_spec(),
                                           self.augment_spec(), self.seed, GRID_COUNT, self._cache)

    def _on_preview(self, result: dict[str, Any]) -> None:
        if self._dirty:
            return  # stale: newer settings are waiting; do not flash an outdated grid
        self.last_result = result
        self.grid.set_images(result["variants"])
        pre = self.preprocess_spec()
        self.model_input.setPixmap(pixmap_for(result["model_input"], 106))
        self.model_caption.setText(f"Model input\n{pre.image_size}×{pre.image_size} "
                                   f"{'grayscale' if pre.color == 'gray' else 'RGB'}")
        original = result["original"]
        self.original.setPixmap(pixmap_for(original, 106) if max(original.shape[:2]) <= 106 else
                                _smooth_pixmap(original, 106))
        self.original_caption.setText(f"Original\n{original.shape[1]}×{original.shape[0]} as stored")
        spec = self.augment_spec()
        what = "epochs 1–16 of training" if self.seed == 0 else f"16 random draws (re-roll {self.seed})"
        self.grid_title.setText(f"<b>What training sees</b> — {what}"
                                + ("" if spec.enabled else " · augmentation is off"))
        if self._change_at is not None:
            self.last_latency_ms = (time.perf_counter() - self._change_at) * 1000.0
            self._change_at = None
            self.timing.setText("")
            self.preview_ready.emit(self.last_latency_ms)

    def _on_preview_error(self, exc: BaseException) -> None:
        self._change_at = None
        self.grid.clear("Preview failed")
        self.session.status_message.emit(f"Augmentation preview failed: {exc}")

    def _on_worker_done(self) -> None:
        self._worker = None
        if self._dirty:
            self._launch()


def _smooth_pixmap(image: np.ndarray, size: int) -> QPixmap:
    return QPixmap.fromImage(array_to_qimage(image)).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
