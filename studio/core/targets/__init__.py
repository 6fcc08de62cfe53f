"""Export targets: one module per model format, each a :class:`~studio.core.targets.base.ExportTarget`.

A new format is one new module here plus one line in :data:`TARGETS` (name -> "module:class"); the export
orchestration (:mod:`studio.core.export`) and the estimate (:mod:`studio.core.estimate`) use any target
through the interface only. Modules are imported when a target is asked for (TensorFlow stays lazy).
"""

from __future__ import annotations

import importlib

from studio.core.targets.base import ExportTarget

TARGETS: dict[str, str] = {
    "tfjs": "studio.core.targets.tfjs:TfjsTarget",
    "tflite": "studio.core.targets.tflite:TfliteTarget",
    "keras": "studio.core.targets.keras_file:KerasFileTarget",
    "saved_model": "studio.core.targets.saved_model:SavedModelTarget",
}
DEFAULT_TARGET = "tfjs"


def get_target(name: str = DEFAULT_TARGET) -> ExportTarget:
    from studio.core.bundle_folder import ExportError

    if name not in TARGETS:
        raise ExportError(f"unknown export format {name!r}; choose one of {', '.join(TARGETS)}")
    module, cls = TARGETS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
