"""A finished run -> a self-contained web bundle (model + page + metadata + vendored runtime): orchestration.

The steps are here; the model format is a target (:mod:`studio.core.export.targets`, TF.js by default) and the
folder on disk (staging, the atomic swap, what ``--force`` may replace, permissions) is
:mod:`studio.core.export.bundle_folder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio import __version__
from studio.core import events
from studio.core.errors import ProjectError
from studio.core.evaluation import open_world, unsure, why_graph
from studio.core.evaluation.known_score import SCORE_OUTPUT
from studio.core.events import ExportStep, Reporter
from studio.core.export import bundle_folder, web_app, web_runtime
from studio.core.export.bundle_folder import BUNDLE_FORMAT, METADATA, ExportError
from studio.core.export.targets import ExportTarget, get_target, pixels
from studio.core.export.targets.tfjs import INPUT_NAME, OUTPUT_NAME
from studio.core.project.runs import RunStatus, train_config
from studio.core.project.store import Project, RunRecord
from studio.core.specs import ExportOptions, TrainConfig

if TYPE_CHECKING:
    import keras

VENDOR_DIR = "vendor"
__all__ = ["METADATA", "ExportError", "ExportResult", "ExportStep", "PreparedModel", "export_bundle", "prepare_model",
           "read_run"]


@dataclass(frozen=True)
class ExportResult:
    out: Path
    run: str
    quantization: str
    bytes: int
    model_bytes: int
    files: list[str]
    seconds: float
    zip_path: Path | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    format: str = "tfjs"
    unsure_threshold: float | None = None
    notes: tuple[str, ...] = ()  # the target's remarks on what it wrote
    known_threshold: unsure.KnownThreshold | None = None

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "run": self.run, "quantization": self.quantization, "bytes": self.bytes,
                "model_bytes": self.model_bytes, "files": self.files, "seconds": round(self.seconds, 3),
                "zip": str(self.zip_path) if self.zip_path else None, "format": self.format,
                "unsure_threshold": self.unsure_threshold, "notes": list(self.notes),
                "known_threshold": self.known_threshold.to_json() if self.known_threshold else None}


_STEPS = ("check", "model", "page", "runtime", "metadata", "finish")


def export_bundle(project: Project, run_id: str | None, out_dir: str | Path, options: ExportOptions,
                  reporter: Reporter = events.ignore, target: ExportTarget | None = None,
                  prepared: PreparedModel | None = None) -> ExportResult:
    """Write the web bundle of ``run_id`` (None = latest finished run) to ``out_dir``. ``prepared``: the run's
    model from :func:`prepare_model` for the same run, target and options (the estimate writes one run in
    each quantization from one preparation); None prepares it here."""
    start = time.monotonic()
    out = Path(out_dir).expanduser().absolute()
    target = target or get_target()
    step = _stepper(reporter)

    step("check")
    run = project.resolve_run(run_id)
    config, labels = read_run(project, run)
    if options.quantization not in target.quantizations:
        raise ExportError(f"{target.name} quantization must be one of {', '.join(target.quantizations)} "
                          f"(got {options.quantization})")
    web = target.web_page  # the page, runtime and app files; other formats are the model + metadata
    page = web_runtime.page_files() if web else []
    runtime = web_runtime.runtime_files() if web else []
    icons = web_runtime.icon_files() if web else []
    sw_template = web_runtime.service_worker_template() if web else None
    bundle_folder.remove_stale_partials(out)
    bundle_folder.check_target(out, options.force)
    if options.zip:
        bundle_folder.check_target(bundle_folder.zip_path(out), options.force, zip_file=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = bundle_folder.stage(out)
    except OSError as exc:
        raise ExportError(f"cannot write the bundle beside {out}: {exc.strerror or exc}") from None

    zip_path = None
    try:
        step("model")
        with contextlib.ExitStack() as stack:
            model = prepared or stack.enter_context(prepare_model(project, run, options, target))
            target.write_model(model.file, config, tmp / target.model_dir, options.quantization)
        rule = model.rule
        step("page")
        title = web_app.page_title(options.title, labels)
        if web:
            runtime = web_runtime.for_model(runtime, _parameters(tmp / target.model_dir / target.model_entry))
            _write_page(page, tmp, title, labels, {f.name for f in runtime})
            web_app.write_manifest(tmp, title, icons)
        step("runtime")
        if web:
            (tmp / VENDOR_DIR).mkdir()
            for f in runtime:
                shutil.copyfile(f.source, tmp / VENDOR_DIR / f.name)
        step("metadata")
        hashes = _hash_files(tmp)
        meta = _metadata(project, run, config, labels, title, options, runtime, hashes, target)
        meta["unsure"] = rule.to_json()
        meta["why"] = why_graph.export_info(getattr(target, "why_method", None), config, labels)
        if web:
            meta["app"] = {"manifest": web_app.MANIFEST, "service_worker": web_app.SERVICE_WORKER}
            # sw.js carries the version of everything else, then is hashed like every other file.
            web_app.write_service_worker(tmp, meta, sw_template)
            meta["files"] = hashes = _hash_files(tmp)
        (tmp / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        step("finish")
        zip_part = bundle_folder.write_zip(tmp, out) if options.zip else None
        bundle_folder.sync(tmp)
        bundle_folder.replace(tmp, out)
        if zip_part is not None:
            zip_path = bundle_folder.finish_zip(zip_part, out)
    except OSError as exc:
        bundle_folder.discard(tmp, out)
        raise ExportError(f"cannot write the bundle to {out}: {exc.strerror or exc}") from None
    except BaseException:
        bundle_folder.discard(tmp, out)
        raise

    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    total = sum((out / f).stat().st_size for f in files)
    model_bytes = target.model_bytes(out / target.model_dir)
    return ExportResult(out=out, run=run.id, quantization=options.quantization, bytes=total,
                        model_bytes=model_bytes, files=files, seconds=time.monotonic() - start,
                        zip_path=zip_path, hashes=hashes, format=target.name,
                        unsure_threshold=rule.probability.threshold, known_threshold=rule.known,
                        notes=tuple(target.notes()))


@dataclass(frozen=True)
class PreparedModel:
    """What every quantization of one run's export starts from: the run's network with its known-vs-unknown
    score as a second named output (constants in the graph), saved as the file the target converts (and held in
    memory while prepared, :func:`pixels.held_in_memory`), and the unsure rule calibrated with it."""

    file: Path
    rule: unsure.UnsureRule


@contextlib.contextmanager
def prepare_model(project: Project, run: RunRecord, options: ExportOptions,
                  target: ExportTarget) -> Iterator[PreparedModel]:
    """The run's :class:`PreparedModel` for ``options`` (its unsure settings; the quantization is not used); the
    saved file is removed on exit. The model is loaded once, for the file and for the rule."""
    network = check_run_model(project, run)
    target.prepare(project, run)
    scored = open_world.scored_model(project, run, network)
    with tempfile.TemporaryDirectory(prefix="studio-scored-") as scored_dir:
        scored_file = open_world.write_scored_model(scored, Path(scored_dir))
        rule = unsure.calibrate(project, run, options.keep_known, options.unsure_threshold, model=scored)
        with pixels.held_in_memory(scored_file, scored):  # the targets convert it without loading it again
            yield PreparedModel(scored_file, rule)


# ----- steps -----------------------------------------------------------------------------------------
def _stepper(reporter: Reporter):
    def step(name: str) -> None:
        reporter(ExportStep(step=name, done=_STEPS.index(name), total=len(_STEPS)))
    return step


def check_run_model(project: Project, run: RunRecord) -> keras.Model:
    """The run's model, checked: it loads in safe mode and has one output per label (a received run folder may
    not)."""
    try:
        return project.run_folder(run).load_model()
    except ProjectError as exc:
        raise ExportError(str(exc)) from None


def read_run(project: Project, run: RunRecord) -> tuple[TrainConfig, list[str]]:
    """The config and labels of a run that can be exported (finished, with its model)."""
    if run.status != RunStatus.FINISHED:
        raise ExportError(f"run {run.id} is {run.status}; only a finished run can be exported")
    folder = project.run_folder(run)
    if not folder.has_model():
        raise ExportError(f"run {run.id} has no saved model ({folder.model_path} is missing)")
    config = train_config(run)
    try:
        labels = folder.labels()
    except ProjectError as exc:
        raise ExportError(str(exc)) from None
    if len(labels) < 2:
        raise ExportError(f"run {run.id} has fewer than two labels")
    return config, labels


def _parameters(model_json: Path) -> int:
    """The number of weights in a graph model's manifest."""
    manifest = json.loads(model_json.read_text(encoding="utf-8")).get("weightsManifest", [])
    return sum(math.prod(int(d) for d in w["shape"]) for group in manifest for w in group["weights"])


def _write_page(page: list[Path], tmp: Path, title: str, labels: list[str], runtime: set[str]) -> None:
    for src in page:
        text = src.read_text(encoding="utf-8")
        if src.name == "index.html":
            # Static title and labels, so the page reads right before (and without) JavaScript.
            text = text.replace("{{TITLE}}", html.escape(title)).replace(
                "{{LABELS}}", html.escape(", ".join(labels)))
            # Only the runtime scripts the bundle carries.
            text = "".join(line for line in text.splitlines(keepends=True)
                           if not ((m := re.search(r'<script src="vendor/([^"]+)"', line)) and m[1] not in runtime))
        (tmp / src.name).write_text(text, encoding="utf-8")


def _hash_files(root: Path) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            hashes[p.relative_to(root).as_posix()] = h.hexdigest()
    return hashes


def _metadata(project: Project, run: RunRecord, config: TrainConfig, labels: list[str], title: str,
              options: ExportOptions, runtime: list[web_runtime.RuntimeFile],
              hashes: dict[str, str], target: ExportTarget) -> dict[str, Any]:
    spec = config.preprocess
    report = project.run_folder(run).report()
    training = {k: v for k, v in run.metrics.items() if isinstance(v, (int, float, str))}
    return {
        "format": BUNDLE_FORMAT,
        "title": title,
        "project": project.name,
        "labels": labels,
        "model": {"path": f"{target.model_dir}/{target.model_entry}", "format": target.model_format, "run": run.id,
                  "architecture": config.arch, "quantization": options.quantization,
                  "created_at": run.created_at, "finished_at": run.finished_at},
        "input": {"name": INPUT_NAME, "dtype": "float32", "shape": [1, None, None, 3],
                  "description": "RGB pixels 0..255 of any size (e.g. tf.browser.fromPixels(...).toFloat())"},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": [1, len(labels)],
                   "description": "softmax probabilities in the order of labels"},
        # Every named output; read them by name (more may be added), never by position.
        "outputs": {OUTPUT_NAME: {"dtype": "float32", "shape": [1, len(labels)],
                                  "description": "softmax probabilities in the order of labels"},
                    SCORE_OUTPUT: {"dtype": "float32", "shape": [1, 1],
                                   "description": "how much the image looks like the training images (cosine, "
                                                  "-1..1); below unsure.known_score.threshold it is none of "
                                                  "the labels"}},
        "preprocessing": {**spec.to_dict(), "in_model": True,
                          "steps": [f"bilinear resize to {spec.image_size}x{spec.image_size} "
                                    "(half-pixel centres, no antialiasing)",
                                    "ITU-R 601 luma" if spec.color == "gray" else "keep RGB",
                                    "divide by 255"]},
        "metrics": _test_metrics(training, report),
        "training": {k: v for k, v in training.items() if k not in _TEST_KEYS},
        "versions": {"studio": __version__, **({"tfjs": runtime[0].version,
                                                 "tfjs_packages": {f.package: f.version for f in runtime}}
                                                if runtime else {})},
        "runtime": [f"{VENDOR_DIR}/{f.name}" for f in runtime],
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": hashes,
    }


_TEST_KEYS = ("test_accuracy", "macro_f1", "n_test")


def _test_metrics(run_metrics: dict[str, Any], report: Any) -> dict[str, Any]:
    """Test-split metrics: the run's summary numbers plus, when evaluation wrote one, the report's details."""
    metrics = {k: run_metrics[k] for k in _TEST_KEYS if k in run_metrics}
    if isinstance(report, dict):
        if "accuracy" in report:
            metrics.setdefault("test_accuracy", report["accuracy"])
        for key in ("macro_f1", "per_class", "confusion_matrix", "labels"):
            if key in report:
                metrics.setdefault(key, report[key])
    return metrics
