"""Export targets: one module per model format, each a :class:`~studio.core.export.targets.base.ExportTarget`.

A new format is one new module here plus one line in :data:`TARGETS` (name -> "module:class"); the export
orchestration (:mod:`studio.core.export.exporter`) and the estimate (:mod:`studio.core.export.estimate`) use any target
through the interface only. Modules are imported when a target is asked for (TensorFlow stays lazy).
"""

from __future__ import annotations

import importlib

from studio.core.export.targets.base import ExportTarget

TARGETS: dict[str, str] = {
    "tfjs": "studio.core.export.targets.tfjs:TfjsTarget",
    "tflite": "studio.core.export.targets.tflite:TfliteTarget",
    "keras": "studio.core.export.targets.keras_file:KerasFileTarget",
    "saved_model": "studio.core.export.targets.saved_model:SavedModelTarget",
    "arduino": "studio.core.export.targets.arduino:ArduinoTarget",
    "raspberry_pi": "studio.core.export.targets.raspberry_pi:RaspberryPiTarget",
    "onnx": "studio.core.export.targets.onnx_model:OnnxTarget",
}
DEFAULT_TARGET = "tfjs"


def get_target(name: str = DEFAULT_TARGET) -> ExportTarget:
    from studio.core.export.bundle_folder import ExportError

    if name not in TARGETS:
        raise ExportError(f"unknown export format {name!r}; choose one of {', '.join(TARGETS)}")
    module, cls = TARGETS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
