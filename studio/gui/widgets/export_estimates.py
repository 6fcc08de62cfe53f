"""Bundle size and test accuracy of each quantization of a run, measured before the user exports.

Run as a child process by the Export page (TensorFlow stays out of the window's process):
``python -m studio.gui.widgets.export_estimates PROJECT RUN`` prints one JSON line per quantization:
``{"event": "quantization", "quantization", "bytes", "model_bytes", "test_accuracy", "macro_f1"}``.

Sizes are real: each quantization is exported with :func:`studio.core.export.export_bundle` into a
temporary folder. Accuracy: the run's Keras model gets its weights quantized and de-quantized with the TF.js
converter's own ``quantize_weights``/``dequantize_weights`` (what the browser reconstructs from the shards)
and is evaluated on the test split by :func:`studio.core.evaluation.evaluate_model`. The browser's numerics
are not part of this estimate. Imports no Qt.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from studio.core.specs import QUANTIZATIONS


def _tfjs_quantization() -> Any:
    """The converter's ``quantization`` module, loaded alone: ``import tensorflowjs`` would pull in every
    converter (and TF-DF), which this estimate does not need."""
    spec = importlib.util.find_spec("tensorflowjs")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the TensorFlow.js converter (Python package tensorflowjs) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "quantization.py"
    module_spec = importlib.util.spec_from_file_location("_studio_tfjs_quantization", path)
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def round_trip(weights: list[Any], quantization: str) -> list[Any]:
    """Float weights as the browser gets them back from ``quantization`` shards; other dtypes unchanged."""
    import numpy as np

    if quantization == "none":
        return weights
    q = _tfjs_quantization()
    dtype = {"float16": np.float16, "uint8": np.uint8}[quantization]
    out = []
    for w in weights:
        w = np.asarray(w)
        if w.dtype == np.float32:
            data, meta = q.quantize_weights(w, dtype)
            w = q.dequantize_weights(data, meta, np.float32)
        out.append(w)
    return out


def measure(project_root: str, run_id: str, emit: Any = print) -> list[dict[str, Any]]:
    from studio.core.evaluation import evaluate_model
    from studio.core.export import export_bundle
    from studio.core.predict import load_run_model, run_labels
    from studio.core.project import Project
    from studio.core.specs import ExportOptions, TrainConfig

    results = []
    with Project.open(project_root) as project:
        run = project.resolve_run(run_id or None)
        config = TrainConfig.from_dict(run.config)
        labels = run_labels(project, run)
        model = load_run_model(project, run)
        original = model.get_weights()
        with tempfile.TemporaryDirectory(prefix="studio-quant-") as tmp:
            for quantization in QUANTIZATIONS:
                bundle = export_bundle(project, run.id, Path(tmp) / quantization,
                                       ExportOptions(quantization=quantization, force=True))
                model.set_weights(round_trip(original, quantization))
                report = evaluate_model(model, project, labels, config)
                row = {"event": "quantization", "run": run.id, "quantization": quantization,
                       "bytes": bundle.bytes, "model_bytes": bundle.model_bytes,
                       "test_accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
                results.append(row)
                emit(json.dumps(row))
                sys.stdout.flush()
    return results


def main(argv: list[str] | None = None) -> int:
    from studio.cli import lower_priority_if_asked

    lower_priority_if_asked()
    parser = argparse.ArgumentParser(prog="export_estimates")
    parser.add_argument("project")
    parser.add_argument("run", nargs="?", default="")
    args = parser.parse_args(argv)
    try:
        measure(args.project, args.run)
    except Exception as exc:  # one line for the page, like the CLI's own errors
        print(f"export_estimates: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
