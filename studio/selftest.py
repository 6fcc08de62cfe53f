"""`EdgeAIVisionStudio --self-test` (also `python -m studio --self-test`): the whole pipeline, headless.

demo project (300 digits, temporary folder) -> train 1 epoch in a child process, exactly as the GUI does
(``sys.executable -m studio train ... --json``) -> evaluate -> export the web bundle -> start the preview
server -> fetch ``model.json`` over HTTP -> train a ``pretrained`` run (its shipped backbone weights) and export
it with its default quantization (as `edge-studio export` decides) -> the data-health check (child process:
backbone features and cleanlab's statistics). Prints one line per step; exit code 0 when every step passed,
1 at the first failure (with the step and the reason). Used on the packaged app to prove that nothing the
pipeline needs was left out of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from studio.commands.protocol import ExitCode, TrainJob, health_argv, import_argv, train_argv

DEMO_IMAGES = 300
IMPORT_IMAGES = 12
IMAGE_SIZE = 16  # small input: the check is about the pipeline, not accuracy
PRETRAINED_IMAGE_SIZE = 32
TRAIN_TIMEOUT_S = 600


class SelfTestFailure(Exception):
    """One step did not produce what it should; the message says what."""


def _say(message: str) -> None:
    print(f"self-test: {message}", flush=True)


def child_command(*args: str) -> list[str]:
    """The CLI in a child process. Frozen, ``sys.executable`` is the app, which accepts ``-m studio``."""
    return [sys.executable, "-m", "studio", *args]


def _json_child(cmd: list[str], what: str, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Run one `--json` child: every JSON object it printed; SelfTestFailure unless it exited 0 and printed
    at least one object that ``wanted`` accepts."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TRAIN_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise SelfTestFailure(f"{what} did not finish in {TRAIN_TIMEOUT_S} s") from None
    objects = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not any(map(wanted, objects)):
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise SelfTestFailure(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{tail}")
    return objects


def _train_child(cmd: list[str], what: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one `train --json` child: (its events, its run_finished events); SelfTestFailure otherwise."""
    events = _json_child(cmd, what, lambda e: e.get("event") == "run_finished")
    return events, [e for e in events if e.get("event") == "run_finished"]


def step_demo(work: Path, state: dict[str, Any]) -> str:
    from studio.core.project.demo import create_demo_project

    project, report = create_demo_project(work / "demo", limit=DEMO_IMAGES)
    project.close()
    if len(report.added) != DEMO_IMAGES:
        raise SelfTestFailure(f"expected {DEMO_IMAGES} images, imported {len(report.added)}")
    state["project"] = work / "demo"
    return f"{len(report.added)} images in {work / 'demo'}"


def step_import(work: Path, state: dict[str, Any]) -> str:
    """The window imports through this child process: paths on stdin, progress events, then the report."""
    import cv2
    import numpy as np

    folder = work / "new" / "squares"
    folder.mkdir(parents=True)
    for i in range(IMPORT_IMAGES):
        image = np.full((24, 24, 3), 40 + 8 * i, np.uint8)
        cv2.rectangle(image, (4, 4), (10 + i % 10, 10 + i % 10), (255, 255, 255), -1)
        cv2.imwrite(str(folder / f"square_{i}.png"), image)
    cmd = child_command(*import_argv(work / "imported"))
    proc = subprocess.run(cmd, input=f"{work / 'new'}\n", capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    progress = [e for e in lines if e.get("event") == "import_progress"]
    if proc.returncode != 0 or not lines or lines[-1].get("added") != IMPORT_IMAGES or not progress:
        tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise SelfTestFailure(f"`{' '.join(cmd)}` exited {proc.returncode} with {lines[-1:]}:\n{tail}")
    return f"{IMPORT_IMAGES} images through `{Path(sys.executable).name} -m studio import --paths-from -`"


def step_gui_modules(work: Path, state: dict[str, Any]) -> str:
    import pyqtgraph  # noqa: F401  (the curves import it when first shown, not with the window)

    import studio.gui.app  # noqa: F401  (PySide6 and every page must be in the app)

    return "PySide6, pyqtgraph and the studio window import"


def step_train(work: Path, state: dict[str, Any]) -> str:
    # Exactly the window's job (TrainJob's argv), at a small image size.
    cmd = child_command(*train_argv(state["project"], TrainJob("cnn", False, epochs=1,
                                                               image_size=IMAGE_SIZE)))
    events, finished = _train_child(cmd, "training")
    epochs = [e for e in events if e.get("event") == "epoch_end"]
    state["run"] = finished[-1]["run"]
    last = epochs[-1] if epochs else {}
    return (f"run {state['run']}: {len(epochs)} epoch, val accuracy {last.get('val_accuracy', float('nan')):.3f} "
            f"(child process: {Path(sys.executable).name} -m studio train)")


def step_evaluate(work: Path, state: dict[str, Any]) -> str:
    from studio.core.evaluation.report import evaluate
    from studio.core.project.store import Project

    with Project.open(state["project"]) as project:
        report = evaluate(project, state["run"])
    n_labels = len(report.get("labels", []))
    if n_labels != 10 or "accuracy" not in report:
        raise SelfTestFailure(f"unexpected report: {sorted(report)} with {n_labels} labels")
    return f"test accuracy {report['accuracy']:.3f}, macro F1 {report['macro_f1']:.3f}"


def step_export(work: Path, state: dict[str, Any]) -> str:
    from studio.core.export.exporter import export_bundle
    from studio.core.project.store import Project
    from studio.core.specs import ExportOptions

    with Project.open(state["project"]) as project:
        result = export_bundle(project, state["run"], work / "bundle", ExportOptions())
    needed = {"index.html", "metadata.json", "model/model.json"}
    missing = needed - set(result.files)
    if missing or not any(f.startswith("vendor/") for f in result.files):
        raise SelfTestFailure(f"bundle incomplete: missing {sorted(missing) or 'vendor/'}")
    state["bundle"] = result.out
    return f"{len(result.files)} files, {result.bytes / 1e6:.2f} MB in {result.out}"


def step_serve(work: Path, state: dict[str, Any]) -> str:
    from studio.core.export.serve import PreviewServer

    with PreviewServer(state["bundle"], port=0) as server:
        url = server.url + "model/model.json"
        with urllib.request.urlopen(url, timeout=10) as response:
            status, body = response.status, response.read()
    model = json.loads(body)
    if status != 200 or model.get("format") != "graph-model" or not model.get("weightsManifest"):
        raise SelfTestFailure(f"{url} gave status {status} and not a TF.js graph model")
    return f"GET {url} -> {status}, {len(body)} bytes, TF.js {model['format']}"


def step_pretrained(work: Path, state: dict[str, Any]) -> str:
    """The pretrained backbone ships in the app: a 1-epoch pretrained run (child process), then its export."""
    from studio.core.export.exporter import export_bundle
    from studio.core.project.store import Project
    from studio.core.resolve.export import ExportChoices, resolve_export

    cmd = child_command(*train_argv(state["project"], TrainJob("pretrained", False, epochs=1,
                                                               image_size=PRETRAINED_IMAGE_SIZE)))
    _, finished = _train_child(cmd, "pretrained training")
    run_id = finished[-1]["run"]
    with Project.open(state["project"]) as project:
        plan = resolve_export(project, run_id, ExportChoices())  # the defaults, as `edge-studio export` decides
        quantization = plan.quantization
        result = export_bundle(project, run_id, work / "bundle-pretrained", plan.options)
    if "model/model.json" not in result.files:
        raise SelfTestFailure("the pretrained bundle has no model/model.json")
    return (f"run {run_id}: val accuracy {finished[-1]['best_val_accuracy']:.3f}; {quantization} bundle "
            f"{result.bytes / 1e6:.2f} MB")


def step_health(work: Path, state: dict[str, Any]) -> str:
    """Data health in a child process, as the Review view runs it: features, cleanlab's statistics, the report."""
    objects = _json_child(child_command(*health_argv(state["project"])), "the health check",
                          lambda o: "event" not in o)
    reports = [o for o in objects if "event" not in o]
    report = reports[-1]
    mislabels, duplicates = len(report.get("mislabels", [])), len(report.get("duplicates", []))
    return f"{report.get('images')} images: {mislabels} likely mislabels, {duplicates} near-duplicate pairs"


STEPS: list[tuple[str, Callable[[Path, dict[str, Any]], str]]] = [
    ("demo project", step_demo),
    ("import (child process)", step_import),
    ("gui modules", step_gui_modules),
    ("train 1 epoch", step_train),
    ("evaluate", step_evaluate),
    ("export web bundle", step_export),
    ("preview server", step_serve),
    ("pretrained run + export", step_pretrained),
    ("data health (child process)", step_health),
]


KEEP_FLAG = "--keep"


def keep_folder(argv: Sequence[str]) -> Path | None:
    """``--keep DIR`` after ``--self-test``: the work (demo project, its runs, the bundles) is left in DIR, a new
    or empty folder, to look at after a failure (or to reuse); without it, a temporary folder is removed."""
    args = list(argv)
    if KEEP_FLAG not in args:
        return None
    i = args.index(KEEP_FLAG)
    if i + 1 >= len(args):
        raise SelfTestFailure(f"{KEEP_FLAG} needs a folder")
    folder = Path(args[i + 1]).expanduser().absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SelfTestFailure(f"{KEEP_FLAG} {folder}: not a new or empty folder")
    return folder


def main(argv: Sequence[str] = ()) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    frozen = "packaged app" if getattr(sys, "frozen", False) else "source"
    _say(f"Edge AI Vision Studio self-test ({frozen}: {sys.executable})")
    try:
        keep = keep_folder(argv)
    except SelfTestFailure as exc:
        _say(f"FAILED: {exc}")
        return ExitCode.USAGE
    start = time.monotonic()
    state: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edge-studio-selftest-")))
        else:
            try:
                keep.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                _say(f"FAILED: {KEEP_FLAG} {keep}: {exc.strerror or exc}")
                return ExitCode.ERROR
            work = keep
        for i, (name, step) in enumerate(STEPS, 1):
            t = time.monotonic()
            try:
                detail = step(work, state)
            except Exception as exc:  # noqa: BLE001 - any failure is reported as this step's failure
                _say(f"[{i}/{len(STEPS)}] {name}: FAILED: {type(exc).__name__}: {exc}")
                return ExitCode.ERROR
            _say(f"[{i}/{len(STEPS)}] {name}: ok ({time.monotonic() - t:.1f} s) {detail}")
    _say(f"passed ({time.monotonic() - start:.1f} s)" + (f"; the work is kept in {keep}" if keep else ""))
    return ExitCode.OK
