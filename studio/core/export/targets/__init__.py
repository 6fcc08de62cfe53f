"""Export targets: one module per model format, each a :class:`~studio.core.export.targets.base.ExportTarget`.

A new format is one new module here plus one line in :data:`TARGETS` (name -> "module:class"), or a
:func:`register` call with the class. The module declares, as class attributes, its ``name``, file names
(``model_dir``, ``model_entry``), ``model_format``, ``quantizations`` and ``default_quantization`` (no generic
defaults: a class missing one is refused when defined). The export orchestration
(:mod:`studio.core.export.exporter`), the estimate, the CLI's ``--format`` / ``--quantize`` choices and the
Export page use any target through the interface only. Modules are imported when a target is asked for
(TensorFlow stays lazy: a target imports it inside its methods).
"""

from __future__ import annotations

import importlib

from studio.core.export.targets.base import ExportTarget

TARGETS: dict[str, str | type[ExportTarget]] = {
    "tfjs": "studio.core.export.targets.tfjs:TfjsTarget",
    "tflite": "studio.core.export.targets.tflite:TfliteTarget",
    "keras": "studio.core.export.targets.keras_file:KerasFileTarget",
    "saved_model": "studio.core.export.targets.saved_model:SavedModelTarget",
    "arduino": "studio.core.export.targets.arduino:ArduinoTarget",
    "raspberry_pi": "studio.core.export.targets.raspberry_pi:RaspberryPiTarget",
    "onnx": "studio.core.export.targets.onnx_model:OnnxTarget",
}
DEFAULT_TARGET = "tfjs"


def register(target: type[ExportTarget]) -> type[ExportTarget]:
    """Add (or replace) a target class under its ``name``; returns it (usable as a class decorator)."""
    TARGETS[target.name] = target
    return target


def unregister(name: str) -> None:
    if name != DEFAULT_TARGET:
        TARGETS.pop(name, None)


def target_class(name: str = DEFAULT_TARGET) -> type[ExportTarget]:
    from studio.core.export.bundle_folder import ExportError

    if name not in TARGETS:
        raise ExportError(f"unknown export format {name!r}; choose one of {', '.join(TARGETS)}")
    where = TARGETS[name]
    if isinstance(where, str):
        module, cls = where.split(":")
        return getattr(importlib.import_module(module), cls)
    return where


def get_target(name: str = DEFAULT_TARGET) -> ExportTarget:
    return target_class(name)()


def all_quantizations() -> tuple[str, ...]:
    """Every quantization name any registered target writes, in registration order (the CLI's choices)."""
    return tuple(dict.fromkeys(q for name in TARGETS for q in target_class(name).quantizations))
