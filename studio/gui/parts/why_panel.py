"""The "Why?" panel: an image with the heatmap of the model's evidence laid over it, and a strength slider.

The heatmap comes from :mod:`studio.gui.jobs.why_job` (a worker thread); this panel only paints: the photo,
then the heat in colour with transparency ``strength x heat``, the same blend as the CLI's overlay PNGs
(:func:`studio.core.evaluation.explain.overlay`), so places the model ignored keep their own colours.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from studio.core.evaluation.why_graph import DEFAULT_OPACITY
from studio.gui.jobs.why_job import WhyJob, WhyRequest, WhyResult
from studio.gui.parts.augment_grid import array_to_qimage

if TYPE_CHECKING:
    import numpy as np

IDLE_TEXT = "Pick an image to see where the model looked."


def heat_image(heat: np.ndarray) -> QImage:
    """``[H, W]`` 0..1 -> an RGBA image: the heat colour, as opaque as the heat is strong."""
    import numpy as np

    from studio.core.evaluation.explain import colorize

    rgba = np.dstack([colorize(heat), (np.clip(heat, 0, 1) * 255).round().astype(np.uint8)])
    rgba = np.ascontiguousarray(rgba)
    h, w = heat.shape
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class WhyPanel(QWidget):
    """``shown`` is emitted with each :class:`WhyResult` once it is on screen."""

    shown = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, compact: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("whyPanel")
        self.job = WhyJob(self)
        self.job.ready.connect(self._on_ready)
        self.job.failed.connect(self._on_failed)
        self.result: WhyResult | None = None
        self._wanted: WhyRequest | None = None
        self._photo: QImage | None = None
        self._heat: QImage | None = None
        self.caption = QLabel(IDLE_TEXT)
        self.caption.setObjectName("whyCaption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.picture = QLabel()
        self.picture.setObjectName("whyPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(QSize(120, 72) if compact else QSize(200, 160))
        self.compact = compact
        # Ignored: the painted pixmap follows the label's size, never the other way round.
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("whyOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(DEFAULT_OPACITY * 100))
        self.opacity.setToolTip("How strongly the heatmap is laid over the picture (0: the picture alone)")
        self.opacity.valueChanged.connect(lambda _v: self._paint())
        self.method = QLabel("")
        self.method.setObjectName("whyMethod")
        self.method.setWordWrap(True)
        self.method.setStyleSheet("color:#666")
        strength = QHBoxLayout()
        strength.addWidget(QLabel("Heatmap strength"))
        strength.addWidget(self.opacity, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.picture, 1)
        layout.addLayout(strength)
        layout.addWidget(self.method)
        self.method.setVisible(not compact)  # compact: the method is the picture's tooltip

    # ----- requests ----------------------------------------------------------------------------
    def explain(self, project_root: Path, run_id: str, image_path: Path, tag: object = None,
                class_name: str | None = None) -> None:
        """Show the heatmap of ``image_path`` under the run's model (computed on a worker thread)."""
        self._wanted = WhyRequest(Path(project_root), run_id, Path(image_path), class_name, tag)
        if self.result is None:
            self.caption.setText("Looking at where the model looked… (the first one loads the model)")
        self.job.request(self._wanted)

    def clear(self, text: str = IDLE_TEXT) -> None:
        self._wanted, self.result, self._photo, self._heat = None, None, None, None
        self.picture.clear()
        self.caption.setText(text)
        self.method.setText("")

    def _on_ready(self, result: WhyResult) -> None:
        if self._wanted is None or result.request != self._wanted:
            return  # an older selection's answer
        self.result = result
        self._photo = array_to_qimage(result.rgb)
        self._heat = heat_image(result.heat)
        labels, p = result.labels, result.probabilities
        predicted, shown = labels[result.predicted], labels[result.shown_class]
        text = f"The model says <b>{predicted}</b> ({p[result.predicted] * 100:.0f}% sure)."
        text += (" Red marks what it saw as evidence for that." if shown == predicted
                 else f" Showing the evidence for <b>{shown}</b>.")
        if self.compact:
            text = f"Says <b>{predicted}</b> ({p[result.predicted] * 100:.0f}%)" + (
                "; red: its evidence." if shown == predicted else f"; evidence for <b>{shown}</b>.")
        if not float(result.heat.max()) > 0:  # the map is of one class against the others: it can be empty
            text += f" Nothing in this picture speaks for <b>{shown}</b> more than for the other classes."
        self.caption.setText(text)
        self.method.setText(f"Heatmap: {result.method_text}.")
        self.picture.setToolTip(f"Heatmap: {result.method_text}.")
        self._paint()
        self.shown.emit(result)

    def _on_failed(self, request: WhyRequest, message: str) -> None:
        if request == self._wanted:
            self.caption.setText(f"Cannot show why: {message}")

    # ----- painting ----------------------------------------------------------------------------
    def composed(self, size: QSize) -> QPixmap | None:
        """The picture with the heat over it, fitted into ``size`` (aspect kept)."""
        if self._photo is None or self._heat is None:
            return None
        target = self._photo.size().scaled(size, Qt.AspectRatioMode.KeepAspectRatio)
        if target.isEmpty():
            return None
        small = self._photo.width() < target.width() / 2  # tiny images stay crisp pixels
        mode = Qt.TransformationMode.FastTransformation if small else Qt.TransformationMode.SmoothTransformation
        pixmap = QPixmap.fromImage(self._photo.scaled(target, Qt.AspectRatioMode.IgnoreAspectRatio, mode))
        painter = QPainter(pixmap)
        painter.setOpacity(self.opacity.value() / 100)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(pixmap.rect(), self._heat)
        painter.end()
        return pixmap

    def _paint(self) -> None:
        pixmap = self.composed(self.picture.size())
        if pixmap is not None:
            self.picture.setPixmap(pixmap)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._paint()
