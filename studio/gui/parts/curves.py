"""Live training curves: loss and accuracy of every run overlaid, one colour per run, runs togglable.

Solid lines are the training metrics, dashed lines the validation metrics of the same run. Points come
either from a finished run's saved history or, while a run trains, one ``epoch_end`` event at a time.

Drawing is deferred and split (issue 28: no stall of the window over one frame): a change is kept at once
(:meth:`CurvesWidget.values`, :meth:`CurvesWidget.view_ranges`) and reaches the screen one plot per turn of
the event loop, so a new epoch or run never paints both plots and their axes in the same turn.

pyqtgraph (about 0.4 s to import, most of it copying Qt's names) is imported when the plots are first shown,
not when the window is built: the points are kept here and drawn then.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.core.events import EpochEnd
from studio.core.project.runs import HISTORY_METRICS

if TYPE_CHECKING:
    import pyqtgraph as pg

# Drawing order (training then validation of each quantity); the set is the run store's.
METRICS = ("loss", "val_loss", "accuracy", "val_accuracy")
assert set(METRICS) == set(HISTORY_METRICS)
PLOT_MIN_HEIGHT = 140
PLOTS = ("loss", "accuracy")  # the plot of a metric is the one whose key it contains


def plot_of(metric: str) -> str:
    return "loss" if "loss" in metric else "accuracy"

# Distinguishable on white, in the order runs appear (the original benchmark's six runs get six hues).
RUN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


class _RunCurves:
    def __init__(self, label: str, color: str) -> None:
        self.label = label
        self.color = color
        self.values: dict[str, list[float]] = {m: [] for m in METRICS}
        self.items: dict[str, pg.PlotDataItem] = {}
        self.visible = True
        self.planned_epochs = 0  # the x axis spans this many epochs from the start, when known

    def epochs(self) -> int:
        return max([self.planned_epochs, *(len(v) for v in self.values.values())])


class CurvesWidget(QWidget):
    """Two plots (loss, accuracy) side by side; call :meth:`add_run`, then :meth:`append_epoch`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[str, _RunCurves] = {}
        self._plots: dict[str, pg.PlotWidget] = {}
        self._view: dict[str, tuple[float, float]] = {}  # the x and loss ranges wanted, by key
        self._shown_view: dict[str, dict[str, tuple[float, float]]] = {key: {} for key in PLOTS}
        self._stale: dict[str, set[str]] = {key: set() for key in PLOTS}  # run ids to draw again, by plot
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(1)  # a real timer: the turns between two plots serve input and paint
        self._flush_timer.timeout.connect(self._flush_one_plot)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        # One legend for both plots, above them: pyqtgraph's in-plot legends cover the curves.
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.legend)
        self._plot_row = QHBoxLayout()
        self._plot_row.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._plot_row, 1)
        self.setMinimumHeight(PLOT_MIN_HEIGHT + 40)  # a plot and the legend's line or two
        self._update_legend()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self._ensure_plots()
        super().showEvent(event)

    def draw_now(self) -> None:
        """Build the plots and draw every kept change at once: for a picture of a widget never shown (the
        saved report), where neither the first show nor the next turns of the event loop come."""
        self._ensure_plots()
        self._draw_all()

    def _draw_all(self) -> None:
        while self._flush_one_plot():
            pass

    def _ensure_plots(self) -> None:
        """Build the two plots (first import of pyqtgraph) and draw every run kept so far."""
        if self._plots:
            return
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True)
        for key, title, ylabel in (("loss", "Loss", "loss"), ("accuracy", "Accuracy", "accuracy")):
            plot = pg.PlotWidget(background="w")
            plot.setTitle(f"<span style='color:#222;font-size:11pt'>{title}</span>")
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", ylabel)
            # No axis grid: pyqtgraph draws it from the axes and replays it on every repaint, which cost
            # ~35 of the ~45 ms each new epoch took to draw (measured offscreen). A tinted plot area
            # (one Qt rectangle, no Python paint) keeps the curves readable at ~12 ms.
            plot.getViewBox().setBackgroundColor("#f5f7fa")
            # Ranges are set by _fit_view, not pyqtgraph's auto-range: that one runs inside the paint, and a
            # changed range then asks for a second paint of the plot and its axes each epoch.
            plot.disableAutoRange()
            if key == "accuracy":
                plot.setYRange(0, 1, padding=0.02)
            # Below the widget's own minimum with the legend above: a plot taller than the room it gets is cut
            # off at the bottom (its epoch axis) instead of drawn smaller.
            plot.setMinimumHeight(PLOT_MIN_HEIGHT)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen("#333")
                plot.getAxis(axis).setPen("#888")
                plot.getAxis(axis).enableAutoSIPrefix(False)  # no re-layout when the range changes scale
            plot.getAxis("left").setWidth(48)  # fixed: a new tick label never re-lays out the plot
            self._plots[key] = plot
            self._plot_row.addWidget(plot)
        self._shown_view = {key: {} for key in PLOTS}
        for run_id in self._runs:
            self._redraw(run_id)
        self._fit_view()
        self._draw_all()  # the first show draws everything at once: the plots are new anyway

    def _make_items(self, run: _RunCurves, key: str) -> None:
        import pyqtgraph as pg

        for metric in (m for m in METRICS if plot_of(m) == key):
            plot = self._plots[key]
            dashed = metric.startswith("val_")
            pen = pg.mkPen(QColor(run.color), width=2.2 if not dashed else 1.8,
                           style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            # dynamicRangeLimit=None: otherwise every change of the y range (the loss plot rescales each
            # epoch) makes pyqtgraph rebuild each item's points and symbols again at paint time (~6 ms).
            item = plot.plot([], [], pen=pen, symbol="o", symbolSize=6, symbolBrush=QColor(run.color),
                             symbolPen=None, dynamicRangeLimit=None)
            item.setVisible(run.visible)
            run.items[metric] = item

    # ----- runs -------------------------------------------------------------------------------
    def run_ids(self) -> list[str]:
        return list(self._runs)

    def has_run(self, run_id: str) -> bool:
        return run_id in self._runs

    def color_of(self, run_id: str) -> str:
        return self._runs[run_id].color

    def add_run(self, run_id: str, label: str, history: dict[str, list[float]] | None = None,
                epochs: int = 0) -> None:
        """Add (or replace the points of) a run; ``history`` holds its epochs so far, ``epochs`` the number it
        will train (the x axis spans them from the first epoch on)."""
        new = run_id not in self._runs
        if new:
            self._runs[run_id] = _RunCurves(label, RUN_COLORS[len(self._runs) % len(RUN_COLORS)])
            self._redraw(run_id)  # its plot items are made when each plot is next drawn
        run = self._runs[run_id]
        run.planned_epochs = max(run.planned_epochs, int(epochs))
        values = {metric: list((history or {}).get(metric, [])) for metric in METRICS}
        if values != run.values:  # a finished run's saved history usually equals its live points: no redraw
            run.values = values
            self._redraw(run_id)
        self._fit_view()
        if new or label != run.label:
            run.label = label
            self._update_legend()

    def append_epoch(self, run_id: str, event: EpochEnd | dict[str, Any]) -> None:
        """One finished epoch of a training run (an ``epoch_end`` event)."""
        values = event if isinstance(event, dict) else event.to_dict()
        run = self._runs[run_id]
        for metric in METRICS:
            if values.get(metric) is not None:
                run.values[metric].append(float(values[metric]))
        self._redraw(run_id)
        self._fit_view()

    def remove_run(self, run_id: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        for metric, item in run.items.items():
            self._plots[plot_of(metric)].removeItem(item)
        self._fit_view()
        self._update_legend()

    def clear(self) -> None:
        for run_id in list(self._runs):
            self.remove_run(run_id)

    def set_run_visible(self, run_id: str, visible: bool) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        run.visible = visible
        for item in run.items.values():
            item.setVisible(visible)
        self._fit_view()
        self._update_legend()

    def is_run_visible(self, run_id: str) -> bool:
        return self._runs[run_id].visible

    def values(self, run_id: str, metric: str) -> list[float]:
        """The points shown for one run and metric (what tests compare with history.json)."""
        run = self._runs.get(run_id)
        return list(run.values[metric]) if run else []

    def legend_text(self) -> str:
        return self.legend.text()

    def _update_legend(self) -> None:
        if not self._runs:
            self.legend.setText("<span style='color:#777'>Curves appear here as runs train.</span>")
            return
        parts = []
        for run in self._runs.values():
            style = "" if run.visible else "text-decoration:line-through;color:#999"
            parts.append(f"<span style='color:{run.color};font-size:13pt'>&#9632;</span>"
                         f"&nbsp;<span style='{style}'>{html.escape(run.label)}</span>")
        self.legend.setText("&nbsp;&nbsp;&nbsp; ".join(parts) +
                            "&nbsp;&nbsp;&nbsp; <span style='color:#777'>— training, - - validation</span>")

    def _redraw(self, run_id: str) -> None:
        """Draw this run's points again, in a later turn of the event loop."""
        for key in PLOTS:
            self._stale[key].add(run_id)
        self._schedule()

    def _schedule(self) -> None:
        if self._plots and not self._flush_timer.isActive():
            self._flush_timer.start()

    def view_ranges(self) -> dict[str, tuple[float, float]]:
        """The x (epochs) and loss ranges wanted (set on the plots within a few turns of the event loop)."""
        return dict(self._view)

    def _fit_view(self) -> None:
        """Epochs 1..planned on x (so a new epoch moves no axis), loss 0..a rounded maximum of the shown runs
        (it moves only when a loss rises above it)."""
        shown = [run for run in self._runs.values() if run.visible] or list(self._runs.values())
        epochs = max([1, *(run.epochs() for run in shown)])
        losses = [v for run in shown for m in METRICS if plot_of(m) == "loss" for v in run.values[m]
                  if math.isfinite(v)]
        self._view = {"x": (0.5, epochs + 0.5), "loss": (0.0, nice_ceiling(max(losses, default=1.0)))}
        self._schedule()

    def _flush_one_plot(self) -> bool:
        """Bring one plot up to date (its runs' points, then its ranges, each range set only when it changed);
        schedule the other for the next turn. False when both were up to date."""
        key = next((k for k in PLOTS if self._behind(k)), None)
        if key is None or not self._plots:
            return False
        plot = self._plots[key]
        for run_id in [r for r in self._runs if r in self._stale[key]]:  # in the order runs were added
            run = self._runs[run_id]
            if not any(plot_of(m) == key for m in run.items):
                self._make_items(run, key)
            for metric in (m for m in METRICS if plot_of(m) == key):
                ys = run.values[metric]
                run.items[metric].setData(list(range(1, len(ys) + 1)), ys)
        self._stale[key].clear()
        wanted, shown = self._wanted_view(key), self._shown_view[key]
        if wanted.get("x") != shown.get("x"):
            plot.setXRange(*wanted["x"], padding=0)
            # Whole epochs only on the x axis while there are few of them; automatic ticks after that.
            axis = plot.getAxis("bottom")
            if wanted["x"][1] <= 15.5:
                axis.setTickSpacing(major=1, minor=1)
            else:
                axis.setTickSpacing()
        if "y" in wanted and wanted["y"] != shown.get("y"):
            plot.setYRange(*wanted["y"], padding=0.02)
        self._shown_view[key] = wanted
        if not self.is_drawn():
            self._schedule()
        return True

    def is_drawn(self) -> bool:
        """Whether every kept change is on the plots (or there are no plots yet to draw on)."""
        return not self._plots or not any(map(self._behind, PLOTS))

    def _behind(self, key: str) -> bool:
        """The plot ``key`` lacks a kept change: points of a run, or a range."""
        return bool(self._stale[key]) or self._wanted_view(key) != self._shown_view[key]

    def _wanted_view(self, key: str) -> dict[str, tuple[float, float]]:
        if not self._view:
            return {}
        return {"x": self._view["x"], **({"y": self._view["loss"]} if key == "loss" else {})}


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10 * power
