"""One row per augmentation (on/off switch, slider, number field) that together edit an AugmentSpec.

A switched-off row keeps its magnitude on screen (so switching it back on restores it) but contributes
nothing to the spec: rotation 0, zoom (1, 1), flip False.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QLabel, QSlider, QWidget

from studio.core.specs import AUGMENT_PRESETS, AUGMENT_RANGES, AugmentSpec
from studio.gui.widgets.spin_box import number_field
from studio.gui.widgets.toggle_switch import ToggleSwitch

SLIDER_STEPS = 1000


@dataclass(frozen=True)
class _Param:
    key: str            # AugmentSpec field, or "zoom_min" / "zoom_max"
    label: str
    low: float
    high: float
    decimals: int
    suffix: str
    default_on: float   # magnitude shown when the spec has it off (the original pipeline's value)


def _param(key: str, label: str, decimals: int, suffix: str) -> _Param:
    """A row whose limits are the spec's declared range and whose "on" magnitude is a preset's value."""
    field = "zoom" if key.startswith("zoom") else key
    allowed = AUGMENT_RANGES[field]
    return _Param(key, label, allowed.widget_low, allowed.widget_high, decimals, suffix, _on_value(key))


def _on_value(key: str) -> float:
    """The magnitude a switched-on row starts at: the original pipeline's, else the Light preset's."""
    for preset in ("Original pipeline", "Light"):
        spec = AUGMENT_PRESETS[preset]
        value = spec.zoom[0] if key == "zoom_min" else spec.zoom[1] if key == "zoom_max" else getattr(spec, key)
        if value != getattr(AugmentSpec(), key, 1.0):
            return float(value)
    return 0.0


PARAMS = (
    _param("rotation", "Rotation", 0, "°"),
    _param("width_shift", "Horizontal shift", 2, ""),
    _param("height_shift", "Vertical shift", 2, ""),
    _param("shear", "Shear", 0, "°"),
    _param("zoom_min", "Zoom, min", 2, "×"),
    _param("zoom_max", "Zoom, max", 2, "×"),
    _param("brightness", "Brightness", 2, ""),
    _param("contrast", "Contrast", 2, ""),
)
FLIPS = (("horizontal_flip", "Horizontal flip"), ("vertical_flip", "Vertical flip"))


class _ValueRow:
    """Slider and number field kept in step; both hold the same magnitude."""

    def __init__(self, param: _Param, on_change: object) -> None:
        self.param = param
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setMinimumWidth(70)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(param.low, param.high)
        self.spin.setDecimals(param.decimals)
        self.spin.setSingleStep(1.0 if param.decimals == 0 else 0.05)
        self.spin.setSuffix(param.suffix)
        self.spin.setFixedWidth(84)
        number_field(self.spin)
        self.spin.setAccessibleName(param.label)
        tip = f"{param.label}: {param.low:g} to {param.high:g}{param.suffix} (random, up to this much either way)"
        self.spin.setToolTip(tip)
        self.slider.setToolTip(tip)
        self._on_change = on_change
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)

    def value(self) -> float:
        return round(float(self.spin.value()), self.param.decimals)

    def set_value(self, value: float) -> None:
        self.spin.blockSignals(True)
        self.slider.blockSignals(True)
        self.spin.setValue(value)
        self.slider.setValue(self._to_slider(value))
        self.spin.blockSignals(False)
        self.slider.blockSignals(False)

    def _to_slider(self, value: float) -> int:
        p = self.param
        return int(round((value - p.low) / (p.high - p.low) * SLIDER_STEPS))

    def _slider_moved(self, position: int) -> None:
        p = self.param
        self.spin.blockSignals(True)
        self.spin.setValue(p.low + (p.high - p.low) * position / SLIDER_STEPS)
        self.spin.blockSignals(False)
        self._on_change(self)  # type: ignore[operator]

    def _spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self._on_change(self)  # type: ignore[operator]


class AugmentControls(QWidget):
    spec_changed = Signal(object)  # AugmentSpec

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(6)
        self.switches: dict[str, ToggleSwitch] = {}
        self.rows: dict[str, _ValueRow] = {}
        row = 0
        for param in PARAMS:
            switch_key = "zoom" if param.key.startswith("zoom") else param.key
            if switch_key not in self.switches:
                switch = ToggleSwitch()
                switch.setAccessibleName(f"{'Zoom' if switch_key == 'zoom' else param.label} on/off")
                switch.toggled.connect(self._emit)
                self.switches[switch_key] = switch
                grid.addWidget(switch, row, 0)
            value_row = _ValueRow(param, self._value_changed)
            self.rows[param.key] = value_row
            grid.addWidget(QLabel(param.label), row, 1)
            grid.addWidget(value_row.slider, row, 2)
            grid.addWidget(value_row.spin, row, 3)
            row += 1
        for key, label in FLIPS:
            switch = ToggleSwitch()
            switch.setAccessibleName(label)
            switch.toggled.connect(self._emit)
            self.switches[key] = switch
            grid.addWidget(switch, row, 0)
            grid.addWidget(QLabel(label), row, 1, 1, 3)
            row += 1
        grid.setColumnStretch(2, 1)
        self.set_spec(AugmentSpec())

    # ----- spec <-> widgets ---------------------------------------------------------------------
    def spec(self) -> AugmentSpec:
        on = {k: s.isChecked() for k, s in self.switches.items()}
        v = {k: r.value() for k, r in self.rows.items()}
        lo, hi = sorted((v["zoom_min"], v["zoom_max"]))
        return AugmentSpec(
            rotation=v["rotation"] if on["rotation"] else 0.0,
            width_shift=v["width_shift"] if on["width_shift"] else 0.0,
            height_shift=v["height_shift"] if on["height_shift"] else 0.0,
            shear=v["shear"] if on["shear"] else 0.0,
            zoom=(lo, hi) if on["zoom"] else (1.0, 1.0),
            horizontal_flip=on["horizontal_flip"],
            vertical_flip=on["vertical_flip"],
            brightness=v["brightness"] if on["brightness"] else 0.0,
            contrast=v["contrast"] if on["contrast"] else 0.0,
        )

    def set_spec(self, spec: AugmentSpec) -> None:
        """Show ``spec``: a zero magnitude switches its row off and shows the original pipeline's value."""
        original = AUGMENT_PRESETS["Original pipeline"]
        values = {"rotation": spec.rotation, "width_shift": spec.width_shift, "height_shift": spec.height_shift,
                  "shear": spec.shear, "brightness": spec.brightness, "contrast": spec.contrast}
        for w in [*self.switches.values(), *[r.spin for r in self.rows.values()],
                  *[r.slider for r in self.rows.values()]]:
            w.blockSignals(True)
        for key, value in values.items():
            self.switches[key].setChecked(value > 0)
            self.rows[key].set_value(value if value > 0 else self.rows[key].param.default_on)
        zoom_on = tuple(spec.zoom) != (1.0, 1.0)
        self.switches["zoom"].setChecked(zoom_on)
        lo, hi = spec.zoom if zoom_on else original.zoom
        self.rows["zoom_min"].set_value(lo)
        self.rows["zoom_max"].set_value(hi)
        self.switches["horizontal_flip"].setChecked(spec.horizontal_flip)
        self.switches["vertical_flip"].setChecked(spec.vertical_flip)
        for w in [*self.switches.values(), *[r.spin for r in self.rows.values()],
                  *[r.slider for r in self.rows.values()]]:
            w.blockSignals(False)
        for switch in self.switches.values():
            switch.update()

    def _value_changed(self, row: _ValueRow) -> None:
        # Moving a slider means "I want this": switch its row on.
        key = "zoom" if row.param.key.startswith("zoom") else row.param.key
        switch = self.switches[key]
        if not switch.isChecked():
            switch.blockSignals(True)
            switch.setChecked(True)
            switch.blockSignals(False)
            switch.update()
        self._emit()

    def _emit(self, *_args: object) -> None:
        self.spec_changed.emit(self.spec())
