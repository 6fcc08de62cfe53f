"""`explain`: where the model looked, as heatmaps (JSON rows at the model's input size, overlay PNGs)."""

from __future__ import annotations

import argparse
import os
import time

from studio.commands.output import emit_json, json_stdout
from studio.commands.train_cmds import run_and_images
from studio.core.project.store import Project


def explain(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from studio.core.evaluation.explain import explain_files, load_explainer

    items = list(args.items)
    with Project.open(args.project, read_only=True) as project, json_stdout(args.json) as out:
        run, items = run_and_images(project, items)
        started = time.monotonic()
        explainer = load_explainer(project, run)
        results = explain_files(project, run, items, class_name=args.class_name, out_dir=args.out,
                                explainer=explainer)
        if args.json:
            emit_json({"run": run.id, "method": explainer.method, "method_text": explainer.method_text,
                       "image_size": explainer.spec.image_size, "explanations": results}, out)
            return 0
    print(f"run {run.id} ({run.arch}), {len(results)} images in {time.monotonic() - started:.1f}s; "
          f"heatmap: {explainer.method_text}")
    for r in results:
        where = f" -> {r['overlay']}" if "overlay" in r else ""
        print(f"{r['path']}: {r['label']} ({r['probabilities'][r['label']]:.4f}), evidence for {r['class']}{where}")
    if args.out is None:
        print("add --out DIR to write the overlays as PNG files, or --json for the heatmaps' values")
    return 0
