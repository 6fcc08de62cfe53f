"""`edge-studio export --estimate`: the size and the test accuracy of each quantization of a run, measured on
what would ship.

The run's model is prepared once (:func:`~studio.core.export.exporter.prepare_model`: loaded, scored, saved and
its unsure rule calibrated) and the target converts it once (TF.js: one conversion, written again per
quantization). For each quantization the run is exported (the real bundle, into a temporary folder that is
removed), then the target loads **the weights the bundle holds** (dequantized from its own weight files) and
classifies the test split (:func:`studio.core.export.targets.base.measure`). The bundles are not kept; the
numbers are stored with the run (``estimates.json``, :meth:`RunFolder.write_estimates`) so they are not measured
again.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from studio.core import events
from studio.core.events import QuantizationEstimate, Reporter
from studio.core.export.exporter import export_bundle, prepare_model, read_run
from studio.core.export.targets import ExportTarget, get_target
from studio.core.export.targets.base import measure
from studio.core.project.runs import RunFolder
from studio.core.project.store import Project
from studio.core.specs import ExportOptions


def estimate(project: Project, run_id: str | None, reporter: Reporter = events.ignore,
             target: ExportTarget | None = None) -> list[QuantizationEstimate]:
    """One :class:`QuantizationEstimate` per quantization of the target, each reported as it is measured."""
    target = target or get_target()
    run = project.resolve_run(run_id)
    _config, labels = read_run(project, run)
    rows = []
    # A fixed "not sure" threshold: the estimate is about size and accuracy, not the page's threshold.
    options = ExportOptions(unsure_threshold=0.0)
    with tempfile.TemporaryDirectory(prefix="studio-estimate-") as tmp, \
            prepare_model(project, run, options, target) as prepared:
        for quantization in target.quantizations:
            bundle = export_bundle(project, run.id, Path(tmp) / quantization,
                                   replace(options, quantization=quantization), target=target, prepared=prepared)
            measured = measure(target, bundle.out / target.model_dir, project, labels)
            row = QuantizationEstimate(run=run.id, quantization=quantization, bytes=bundle.bytes,
                                       model_bytes=bundle.model_bytes, test_accuracy=measured["accuracy"],
                                       macro_f1=measured["macro_f1"])
            rows.append(row)
            reporter(row)
    RunFolder(project.root, run.id).write_estimates(target.name, {r.quantization: r.to_dict() for r in rows})
    return rows
