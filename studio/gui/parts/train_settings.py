"""The Train page's settings: the recommended model as a plain-language card, augmentation on or off (with a
warning when it flips images), what the data says (warnings), one Train button, and the advanced settings
(model input size and colour, epochs, batch size, learning rate, early stopping) folded away.

Every value the form shows is what the resolver (:func:`studio.core.resolve.train.resolve_train`) decided
for the chosen model and augmentation: picking a model or turning augmentation on or off fills epochs, early
stopping, input size and colour from it, and the run the page starts is that resolved spec (a value edited by
hand is sent as the user's choice). The form is saved with the project (``train_form``; an input size or colour
set by hand also in ``preprocess``, which the Augment page previews).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.commands.protocol import TrainJob
from studio.core.project import settings as project_settings
from studio.core.project.data_warnings import DataWarning
from studio.core.project.store import Project
from studio.core.resolve.recommend import Recommendation
from studio.core.resolve.train import TrainChoices, TrainPlan, resolve_train
from studio.core.specs import (
    AUGMENT_PRESET_TITLES,
    AUGMENT_PRESETS,
    PREPROCESS_RANGES,
    TRAIN_RANGES,
    AugmentSpec,
    PreprocessSpec,
    SpecError,
    TrainConfig,
    flip_warning,
)
from studio.core.training import architectures
from studio.gui.widgets.spin_box import number_field

FORM_KEY = "train_form"
COLOR_LABELS = {"gray": "Grayscale", "rgb": "Colour (RGB)"}
WARN_STYLE = "color:#8a4b00;background:#fff4e0;border:1px solid #f0c987;border-radius:5px;padding:6px"


class TrainSettings(QWidget):
    train_requested = Signal()
    compare_requested = Signal()
    benchmark_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainSettings")
        self.project: Project | None = None
        self.recommendation: Recommendation | None = None
        self.user_chose = False  # the user changed the form (else it follows the recommendation)
        self.input_edited = False  # the user set the input size or colour by hand (saved as the project's)
        self._loading = False
        self._save_timer = QTimer(self, singleShot=True, interval=200)
        self._save_timer.timeout.connect(self.save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        self.classes_line = QLabel("")  # what the model will learn to tell apart, in the user's own names
        self.classes_line.setObjectName("trainClasses")
        self.classes_line.setWordWrap(True)
        layout.addWidget(self.classes_line)
        layout.addWidget(self._build_model_box())
        self.warnings = QLabel("")
        self.warnings.setObjectName("dataWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet(WARN_STYLE)
        self.warnings.hide()
        layout.addWidget(self.warnings)
        layout.addLayout(self._build_buttons())
        self.blocked = QLabel("")
        self.blocked.setObjectName("trainBlocked")
        self.blocked.setWordWrap(True)
        self.blocked.setStyleSheet("color:#b3261e")
        self.blocked.hide()
        layout.addWidget(self.blocked)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setStyleSheet("QToolButton{border:none}")
        self.advanced_toggle.toggled.connect(self._show_advanced)
        layout.addWidget(self.advanced_toggle)
        self.advanced = self._build_advanced()
        self.advanced.hide()
        layout.addWidget(self.advanced)
        for signal in (self.model_combo.currentIndexChanged, self.with_aug.toggled, self.epochs.valueChanged,
                       self.batch_size.valueChanged, self.learning_rate.valueChanged, self.patience.valueChanged,
                       self.image_size.valueChanged, self.color.currentIndexChanged):
            signal.connect(self._changed)
        self.with_aug.toggled.connect(self._augment_toggled)
        self.model_combo.currentIndexChanged.connect(self._arch_changed)
        for signal in (self.image_size.valueChanged, self.color.currentIndexChanged):
            signal.connect(self._input_changed)

    # ----- layout ------------------------------------------------------------------------------
    def _build_model_box(self) -> QWidget:
        box = QGroupBox("Model")
        layout = QVBoxLayout(box)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Which network to train; the recommended one is chosen from your data")
        for arch in architectures.all_architectures():
            self.model_combo.addItem(arch.title, arch.name)
        layout.addWidget(self.model_combo)
        self.card_text = QLabel("")
        self.card_text.setObjectName("archCard")
        self.card_text.setWordWrap(True)
        self.card_text.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.card_text)
        self.with_aug = QCheckBox("Vary the training images (augmentation)")
        self.with_aug.setToolTip("Each epoch sees slightly moved, zoomed and relit copies of the training images "
                                 "(the Augment page shows them). Helps most when classes have few images.")
        layout.addWidget(self.with_aug)
        self.aug_note = QLabel("")
        self.aug_note.setObjectName("hint")
        self.aug_note.setWordWrap(True)
        layout.addWidget(self.aug_note)
        self.reasons = QLabel("")
        self.reasons.setObjectName("hint")
        self.reasons.setWordWrap(True)
        layout.addWidget(self.reasons)
        return box

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("primaryButton")
        self.train_button.setDefault(True)
        self.train_button.setMinimumHeight(34)
        self.train_button.setToolTip("Train the model above with these settings")
        self.train_button.clicked.connect(self.train_requested)
        self.more_button = QToolButton()
        self.more_button.setText("More")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_button.setMinimumHeight(34)
        menu = QMenu(self.more_button)
        self.compare_action = menu.addAction("Train every model once, to compare them")
        self.compare_action.triggered.connect(self.compare_requested)
        self.benchmark_action = menu.addAction("Original benchmark (6 runs: dense, CNN, CNN with dropout, "
                                               "each with and without augmentation)")
        self.benchmark_action.triggered.connect(self.benchmark_requested)
        self.more_button.setMenu(menu)
        row.addWidget(self.train_button, 1)
        row.addWidget(self.more_button)
        return row

    def _build_advanced(self) -> QWidget:
        box = QFrame()
        form = QFormLayout(box)
        form.setContentsMargins(4, 0, 0, 0)
        self.image_size = QSpinBox()
        self.image_size.setRange(*_int_range(PREPROCESS_RANGES["image_size"]))
        self.image_size.setSuffix(" px")
        size = PREPROCESS_RANGES["image_size"]
        self.image_size.setToolTip(f"Every image is resized to this square size before it reaches the model "
                                   f"({size.widget_low:g}-{size.widget_high:g} px). Larger sees more detail but "
                                   f"trains slower.")
        self.color = QComboBox()
        for key, text in COLOR_LABELS.items():
            self.color.addItem(text, key)
        self.color.setToolTip("Grayscale ignores colour (smaller, often enough); colour keeps it")
        self.epochs = QSpinBox()
        self.epochs.setRange(*_int_range(TRAIN_RANGES["epochs"]))
        epochs = TRAIN_RANGES["epochs"]
        self.epochs.setToolTip(f"The most passes over the training images ({epochs.widget_low:g}-"
                               f"{epochs.widget_high:,.0f}); early stopping may end sooner")
        self.batch_size = QSpinBox()
        self.batch_size.setRange(*_int_range(TRAIN_RANGES["batch_size"]))
        self.batch_size.setValue(TrainConfig().batch_size)
        batch = TRAIN_RANGES["batch_size"]
        self.batch_size.setToolTip(f"Images per training step ({batch.widget_low:g}-{batch.widget_high:,.0f}); "
                                   f"smaller uses less memory")
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        lr = TRAIN_RANGES["learning_rate"]
        self.learning_rate.setRange(lr.widget_low, lr.widget_high)
        self.learning_rate.setSingleStep(0.0005)
        self.learning_rate.setValue(TrainConfig().learning_rate)
        self.learning_rate.setToolTip(f"How big each learning step is ({lr.widget_low:g}-{lr.widget_high:g}); "
                                      f"{TrainConfig().learning_rate:g} suits most projects")
        self.patience = QSpinBox()
        self.patience.setRange(*_int_range(TRAIN_RANGES["early_stopping_patience"]))
        self.patience.setSpecialValueText("off")
        self.patience.setSuffix(" epochs")
        self.patience.setToolTip("Stop when the validation score has not improved for this many epochs "
                                 "(0 = off); the best epoch's model is kept")
        for spin in (self.image_size, self.epochs, self.batch_size, self.learning_rate, self.patience):
            number_field(spin)
        form.addRow("Image size", self.image_size)
        form.addRow("Colour", self.color)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Early stopping", self.patience)
        return box

    def _show_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    # ----- state -------------------------------------------------------------------------------
    def arch(self) -> str:
        return str(self.model_combo.currentData())

    def set_arch(self, name: str) -> None:
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(name)))

    def hyper(self) -> dict[str, Any]:
        return {"epochs": self.epochs.value(), "batch_size": self.batch_size.value(),
                "learning_rate": self.learning_rate.value(), "patience": self.patience.value()}

    def preprocess_spec(self) -> PreprocessSpec:
        return PreprocessSpec(image_size=self.image_size.value(), color=str(self.color.currentData()))

    def follows_recommendation(self) -> bool:
        return not self.user_chose

    def form(self) -> dict[str, Any]:
        return {"arch": self.arch(), "augment": self.with_aug.isChecked(), **self.hyper(),
                **self.preprocess_spec().to_dict()}

    def choices(self) -> TrainChoices:
        """The form as the user's explicit choices (every value it shows)."""
        pre = self.preprocess_spec()
        return TrainChoices(arch=self.arch(), augment=self.with_aug.isChecked(), epochs=self.epochs.value(),
                            batch_size=self.batch_size.value(), learning_rate=self.learning_rate.value(),
                            patience=self.patience.value(), image_size=pre.image_size, color=pre.color)

    def plan(self, arch: str | None = None, augment: bool | None = None) -> TrainPlan:
        """What the resolver decides for ``arch`` / ``augment`` (default: the form's) with the form's batch size
        and learning rate (and an input size or colour set by hand) as choices: what `edge-studio train --arch A
        [--augment]` with those flags would train."""
        assert self.project is not None
        pre = self.preprocess_spec() if self.input_edited else None
        return resolve_train(self.project, TrainChoices(
            arch=arch or self.arch(), augment=self.with_aug.isChecked() if augment is None else augment,
            batch_size=self.batch_size.value(), learning_rate=self.learning_rate.value(),
            image_size=pre.image_size if pre else None, color=pre.color if pre else None))

    def job(self) -> TrainJob:
        """The run the Train button starts: the form, resolved, spelled out in full."""
        assert self.project is not None
        return TrainJob.from_config(resolve_train(self.project, self.choices()).config)

    def _arch_changed(self) -> None:
        self._show_card()
        if not self._loading:  # a model brings its own budget, input size and colour: show them
            self._apply_plan()

    def _augment_toggled(self, on: bool) -> None:
        if not self._loading:  # the budget grows with augmentation; early stopping ends the run
            self._apply_plan()
        self._show_augment_note()

    def _input_changed(self, *_args: object) -> None:
        if not self._loading:
            self.input_edited = True

    def _apply_plan(self, plan: TrainPlan | None = None) -> None:
        """Show what the resolver decided for the chosen model and augmentation."""
        if self.project is None:
            return
        try:
            plan = plan or self.plan()
        except SpecError as exc:
            self.reasons.setText(f"⚠ {exc}")
            return
        loading, self._loading = self._loading, True
        config = plan.config
        self.epochs.setValue(config.epochs)
        self.patience.setValue(config.early_stopping_patience)
        self.image_size.setValue(config.preprocess.image_size)
        self.color.setCurrentIndex(max(0, self.color.findData(config.preprocess.color)))
        self.reasons.setText(" ".join(plan.reasons))
        self._loading = loading

    def _show_augment_note(self) -> None:
        spec = self.augment_spec()
        if not self.with_aug.isChecked():
            self.aug_note.setText("")
            return
        name = next((n for n, p in AUGMENT_PRESETS.items() if p == spec), None)
        title = AUGMENT_PRESET_TITLES.get(name, "your own settings") if name else "your own settings"
        warning = flip_warning(spec)
        self.aug_note.setText(f"Preset: {title} (see the Augment page)."
                              + (f"<br><b style='color:#8a4b00'>⚠ {warning}</b>" if warning else ""))

    def augment_spec(self) -> AugmentSpec:
        """What "with augmentation" trains with: the project's saved settings, else the default preset."""
        try:
            saved = project_settings.load(self.project) if self.project is not None else None
        except SpecError:
            saved = None
        return project_settings.training_augment(saved or project_settings.ProjectSettings())[0]

    def _show_card(self) -> None:
        c = architectures.get(self.arch())
        recommended = self.recommendation is not None and self.recommendation.arch == c.name
        lines = [c.summary]
        if c.good_for:
            lines.append(f"<b>Good for:</b> {c.good_for}.")
        if c.speed:
            lines.append(f"<b>Speed:</b> {c.speed}.")
        self.card_text.setText(("<b style='color:#2e7d32'>Recommended for your data.</b> " if recommended else "")
                               + "<br>".join(lines))

    def _changed(self, *_args: object) -> None:
        if not self._loading and self.project is not None:
            self.user_chose = True  # from now on the form is the user's, not the recommendation
            self._save_timer.start()

    def save(self) -> None:
        self._save_timer.stop()
        if self.project is None:
            return
        self.project.set_setting(FORM_KEY, {**self.form(), "user": True, "input_edited": self.input_edited}
                                 if self.user_chose else {"user": False})
        saved = self.project.get_setting(project_settings.PREPROCESS_KEY) or {}
        if self.input_edited and saved != self.preprocess_spec().to_dict():
            self.project.set_setting(project_settings.PREPROCESS_KEY, self.preprocess_spec().to_dict())

    # ----- project -----------------------------------------------------------------------------
    def load(self, project: Project | None, recommendation: Recommendation | None) -> None:
        """Show the project's saved form; a project without one gets the recommendation, resolved."""
        if self._save_timer.isActive():
            self.save()
        self.project, self.recommendation = project, recommendation
        self._loading = True
        stored = project.get_setting(FORM_KEY) if project is not None else None
        stored = stored if isinstance(stored, dict) else {}
        saved = stored if stored.get("user") else None
        self.user_chose = saved is not None
        self.input_edited = bool(saved and saved.get("input_edited"))
        defaults = TrainConfig()
        if saved is not None:
            self.set_arch(str(saved.get("arch", "")))
            self.with_aug.setChecked(bool(saved.get("augment")))
        elif recommendation is not None:
            self.set_arch(recommendation.arch)
            self.with_aug.setChecked(recommendation.augment)
        self.batch_size.setValue(int(saved.get("batch_size", defaults.batch_size)) if saved else defaults.batch_size)
        self.learning_rate.setValue(float(saved.get("learning_rate", defaults.learning_rate)) if saved
                                    else defaults.learning_rate)
        self._apply_plan(recommendation.plan if recommendation is not None and saved is None else None)
        if saved is not None:
            self.epochs.setValue(int(saved.get("epochs", self.epochs.value())))
            self.patience.setValue(int(saved.get("patience", self.patience.value())))
            if self.input_edited:
                self.image_size.setValue(int(saved.get("image_size", self.image_size.value())))
                self.color.setCurrentIndex(max(0, self.color.findData(saved.get("color"))))
            self.reasons.setText("")
        elif recommendation is not None:
            self.reasons.setText(" ".join(recommendation.reasons[1:]))
        self._loading = False
        self._show_card()
        self._show_augment_note()

    def show_classes(self, counts: dict[str | None, dict[str, int]]) -> None:
        named = [(name, sum(per.values())) for name, per in counts.items() if name is not None and sum(per.values())]
        self.classes_line.setText("Learns to tell apart: " + ", ".join(f"<b>{html.escape(n)}</b> ({k})"
                                                                     for n, k in named) if named else "")

    def set_blocked(self, reason: str | None) -> None:
        """Train (and the More menu's runs) disabled with ``reason`` shown under the button, or enabled again."""
        for widget in (self.train_button, self.compare_action, self.benchmark_action):
            widget.setEnabled(reason is None)
        self.blocked.setText(reason or "")
        self.blocked.setVisible(reason is not None)

    def show_warnings(self, warnings: list[DataWarning]) -> None:
        self.warnings.setText("<br>".join(f"⚠ {w.text}" for w in warnings))
        self.warnings.setVisible(bool(warnings))


def _int_range(allowed) -> tuple[int, int]:  # noqa: ANN001
    return int(allowed.widget_low), int(allowed.widget_high)
