"""A finished run -> a self-contained web bundle (TF.js graph model + page + metadata + vendored runtime).

The exported graph takes raw RGB pixels (0..255, any size, exactly what ``tf.browser.fromPixels`` gives)
and runs the same :func:`studio.core.preprocess.preprocess` as training before the Keras model, so the
browser predicts what Python predicts. Route: a ``tf.Module`` -> SavedModel -> TF.js converter -> graph
model (Keras 3 layers-model JSON does not load in TF.js 4.22; see ../shared/FACTS.md).

The bundle is written into a temporary folder beside ``out_dir`` and renamed into place, so a failure or a
killed process never leaves a half bundle at ``out_dir``.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio import __version__
from studio.core import events, unsure, web_app, web_runtime
from studio.core.events import Reporter
from studio.core.project import Project, ProjectError, RunRecord
from studio.core.specs import ExportOptions, TrainConfig

MODEL_DIR = "model"
VENDOR_DIR = "vendor"
METADATA = "metadata.json"
INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
# Everything under this name scope is the trained network; only it is quantized, never preprocessing.
NETWORK_SCOPE = "network"
_PARTIAL_MARK = ".partial-"
QUANTIZE_MIN_ELEMENTS = 1024


class ExportError(ProjectError):
    """The export could not be written (message says why and what to do)."""


@dataclass(frozen=True)
class ExportStep(events.Event):
    step: str
    done: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {"event": "export_step", "step": self.step, "done": self.done, "total": self.total}


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

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "run": self.run, "quantization": self.quantization, "bytes": self.bytes,
                "model_bytes": self.model_bytes, "files": self.files, "seconds": round(self.seconds, 3),
                "zip": str(self.zip_path) if self.zip_path else None}


_STEPS = ("check", "model", "page", "runtime", "metadata", "finish")


def export_bundle(project: Project, run_id: str | None, out_dir: str | Path, options: ExportOptions,
                  reporter: Reporter = events.ignore) -> ExportResult:
    """Write the web bundle of ``run_id`` (None = latest finished run) to ``out_dir``."""
    start = time.monotonic()
    out = Path(out_dir).expanduser().absolute()
    step = _stepper(reporter)

    step("check")
    run = project.resolve_run(run_id)
    run_dir = project.run_dir(run.id)
    config, labels = _read_run(run, run_dir)
    page = web_runtime.page_files()
    runtime = web_runtime.runtime_files()
    icons = web_runtime.icon_files()
    sw_template = web_runtime.service_worker_template()
    if out.parent.is_dir():
        _remove_stale_partials(out)
    _check_target(out, options.force)
    if options.zip:
        _check_target(_zip_path(out), options.force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {out.parent}: {exc.strerror}") from None

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{_PARTIAL_MARK}{os.getpid()}-", dir=out.parent))
    zip_path = None
    try:
        step("model")
        _write_model(run_dir / "model.keras", config, tmp / MODEL_DIR, options.quantization)
        unsure_choice = unsure.choose(project, run, options.unsure_threshold)
        step("page")
        title = options.title or project.name
        _write_page(page, tmp, title, labels)
        web_app.write_manifest(tmp, title, icons)
        step("runtime")
        (tmp / VENDOR_DIR).mkdir()
        for f in runtime:
            shutil.copyfile(f.source, tmp / VENDOR_DIR / f.name)
        step("metadata")
        hashes = _hash_files(tmp)
        meta = _metadata(project, run, config, labels, title, options, runtime, hashes)
        meta["unsure"] = unsure_choice.to_json()
        meta["app"] = {"manifest": web_app.MANIFEST, "service_worker": web_app.SERVICE_WORKER}
        (tmp / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        web_app.write_service_worker(tmp, tmp / METADATA, sw_template)
        step("finish")
        zip_part = _write_zip(tmp, out) if options.zip else None
        _sync(tmp)
        _replace(tmp, out)
        if zip_part is not None:
            zip_path = _zip_path(out)
            os.replace(zip_part, zip_path)
    except OSError as exc:
        _discard(tmp, out)
        raise ExportError(f"cannot write the bundle to {out}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(tmp, out)
        raise

    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    total = sum((out / f).stat().st_size for f in files)
    model_bytes = sum(p.stat().st_size for p in (out / MODEL_DIR).iterdir() if p.is_file())
    return ExportResult(out=out, run=run.id, quantization=options.quantization, bytes=total,
                        model_bytes=model_bytes, files=files, seconds=time.monotonic() - start,
                        zip_path=zip_path, hashes=hashes)


# ----- steps -----------------------------------------------------------------------------------------
def _stepper(reporter: Reporter):
    def step(name: str) -> None:
        reporter(ExportStep(step=name, done=_STEPS.index(name), total=len(_STEPS)))
    return step


def _read_run(run: RunRecord, run_dir: Path) -> tuple[TrainConfig, list[str]]:
    if run.status != "finished":
        raise ExportError(f"run {run.id} is {run.status}; only a finished run can be exported")
    if not (run_dir / "model.keras").is_file():
        raise ExportError(f"run {run.id} has no saved model ({run_dir / 'model.keras'} is missing)")
    try:
        raw = json.loads((run_dir / "config.json").read_text(encoding="utf-8")) \
            if (run_dir / "config.json").is_file() else run.config
        config = TrainConfig.from_dict(raw)
        labels = [str(x) for x in json.loads((run_dir / "labels.json").read_text(encoding="utf-8"))]
    except (OSError, ValueError) as exc:
        raise ExportError(f"run {run.id} is incomplete or damaged: {exc}") from None
    if len(labels) < 2:
        raise ExportError(f"run {run.id} has fewer than two labels")
    return config, labels


def _check_target(path: Path, force: bool) -> None:
    if path.exists() or path.is_symlink():
        if not force:
            raise ExportError(f"{path} already exists; choose another folder or use --force to replace it")
        if path.is_dir() and not path.is_symlink() and any(path.iterdir()) and not _looks_like_bundle(path):
            # --force replaces an old bundle, never an unrelated folder full of the user's files.
            raise ExportError(f"{path} is not empty and is not a web bundle; refusing to replace it")


def _looks_like_bundle(path: Path) -> bool:
    return (path / METADATA).is_file() and (path / "index.html").is_file()


def _zip_path(out: Path) -> Path:
    return out.with_name(out.name + ".zip")


def _remove_stale_partials(out: Path) -> None:
    """Temporary folders left by a killed export of the same target (their process is gone).

    A process killed between moving the old bundle aside and moving the new one in leaves ``...-old``
    and no ``out``: the old bundle is put back rather than deleted.
    """
    for p in sorted(out.parent.glob(f".{out.name}{_PARTIAL_MARK}*")):
        pid = p.name[len(f".{out.name}{_PARTIAL_MARK}"):].split("-", 1)[0]
        if not pid.isdigit() or _pid_alive(int(pid)):
            continue
        if p.name.endswith("-old") and p.is_dir() and not (out.exists() or out.is_symlink()):
            os.replace(p, out)
        elif p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_model(model_file: Path, config: TrainConfig, target: Path, quantization: str) -> None:
    import keras
    import tensorflow as tf

    from studio.core.preprocess import preprocess

    try:
        model = keras.saving.load_model(model_file, compile=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ExportError(f"the run's model cannot be read ({model_file.name}: {exc})") from None
    spec = config.preprocess

    class WebClassifier(tf.Module):
        def __init__(self, network: keras.Model) -> None:
            super().__init__()
            self.network = network

        # No AutoGraph: the body has no Python control flow on tensors, and AutoGraph cannot convert a
        # method defined in a function (it warns "closure mismatch" and runs it as-is anyway).
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name=INPUT_NAME)],
                     autograph=False)
        def serve(self, pixels: tf.Tensor) -> dict[str, tf.Tensor]:
            x = preprocess(pixels, spec)
            with tf.name_scope(NETWORK_SCOPE):
                probabilities = self.network(x, training=False)
            return {OUTPUT_NAME: probabilities}

    module = WebClassifier(model)
    converter = _load_converter()
    with tempfile.TemporaryDirectory(prefix="studio-savedmodel-", dir=target.parent) as saved:
        try:
            tf.saved_model.save(module, saved, signatures={"serving_default": module.serve})

            def convert(dtype_map: dict[str, list[str]] | None) -> None:
                converter.convert_tf_saved_model(saved, str(target), signature_def="serving_default",
                                                 saved_model_tags="serve", quantization_dtype_map=dtype_map)

            convert(None)
            if quantization != "none":
                # Weight names exist only after freezing, so the first (float32) pass names them.
                names = _weights_to_quantize(target / "model.json")
                shutil.rmtree(target)
                convert({quantization: [_fnmatch_literal(n) for n in names]} if names else None)
        except tf.errors.OpError as exc:
            # TensorFlow reports I/O failures (disk full, file too large) as OpError, not OSError.
            reason = exc.message.splitlines()[0].rsplit("; ", 1)[-1]  # drop TF's op/device preamble
            raise ExportError(f"the model could not be written to {target.parent}: {reason}") from None
    if not (target / "model.json").is_file():
        raise ExportError("the TF.js converter wrote no model.json")


def _weights_to_quantize(model_json: Path) -> list[str]:
    """The network's large float32 tensors (kernels); biases, batch-norm shifts and other small tensors stay
    float32. Per-tensor uint8 on those moved whole activations (a compact CNN's top-1 agreement with Keras
    fell to 91%), while they are a small share of the bytes."""
    manifest = json.loads(model_json.read_text(encoding="utf-8"))["weightsManifest"]
    names = []
    for group in manifest:
        for w in group["weights"]:
            size = 1
            for d in w["shape"]:
                size *= int(d)
            if w["dtype"] == "float32" and f"/{NETWORK_SCOPE}/" in w["name"] and size >= QUANTIZE_MIN_ELEMENTS:
                names.append(w["name"])
    return names


def _fnmatch_literal(name: str) -> str:
    """The converter matches names as fnmatch patterns; escape the pattern characters."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def _load_converter() -> Any:
    """``tensorflowjs.converters.tf_saved_model_conversion_v2`` without what the export never uses.

    ``import tensorflowjs`` runs its package ``__init__``, which imports every converter (JAX, Keras h5, the
    wizard), and the SavedModel converter imports tensorflow_decision_forests (native ops that break frozen
    apps) and tensorflow_hub at module level, only for TF-DF and TF-Hub models. So the two packages are
    entered as bare namespaces and the two unused imports get empty placeholders for the time of the
    import; all are removed again so a later real ``import tensorflowjs`` still works.
    """
    import importlib
    import importlib.util
    import sys
    import types

    if "tensorflowjs.converters.tf_saved_model_conversion_v2" in sys.modules:
        return sys.modules["tensorflowjs.converters.tf_saved_model_conversion_v2"]
    added: list[str] = []
    for name in ("tensorflowjs", "tensorflowjs.converters"):
        if name not in sys.modules:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.submodule_search_locations is None:
                raise ExportError("the TensorFlow.js converter (Python package tensorflowjs) is not installed")
            package = types.ModuleType(name)
            package.__path__ = list(spec.submodule_search_locations)
            package.__spec__ = spec
            sys.modules[name] = package
            added.append(name)
    for name in ("tensorflow_decision_forests", "tensorflow_hub"):
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            added.append(name)
    try:
        return importlib.import_module("tensorflowjs.converters.tf_saved_model_conversion_v2")
    finally:
        for name in added:
            sys.modules.pop(name, None)


def _write_page(page: list[Path], tmp: Path, title: str, labels: list[str]) -> None:
    for src in page:
        text = src.read_text(encoding="utf-8")
        if src.name == "index.html":
            # Static title and labels, so the page reads right before (and without) JavaScript.
            text = text.replace("{{TITLE}}", html.escape(title)).replace(
                "{{LABELS}}", html.escape(", ".join(labels)))
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
              hashes: dict[str, str]) -> dict[str, Any]:
    spec = config.preprocess
    report = _read_json(project.run_dir(run.id) / "report.json")
    training = {k: v for k, v in run.metrics.items() if isinstance(v, (int, float, str))}
    return {
        "format": "edge-studio-web-bundle/1",
        "title": title,
        "project": project.name,
        "labels": labels,
        "model": {"path": f"{MODEL_DIR}/model.json", "format": "tfjs-graph-model", "run": run.id,
                  "architecture": config.arch, "quantization": options.quantization,
                  "created_at": run.created_at, "finished_at": run.finished_at},
        "input": {"name": INPUT_NAME, "dtype": "float32", "shape": [1, None, None, 3],
                  "description": "RGB pixels 0..255 of any size (e.g. tf.browser.fromPixels(...).toFloat())"},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": [1, len(labels)],
                   "description": "softmax probabilities in the order of labels"},
        "preprocessing": {**spec.to_dict(), "in_model": True,
                          "steps": [f"bilinear resize to {spec.image_size}x{spec.image_size} "
                                    "(half-pixel centres, no antialiasing)",
                                    "ITU-R 601 luma" if spec.color == "gray" else "keep RGB",
                                    "divide by 255"]},
        "metrics": _test_metrics(training, report),
        "training": {k: v for k, v in training.items() if k not in _TEST_KEYS},
        "versions": {"studio": __version__, "tfjs": runtime[0].version,
                     "tfjs_packages": {f.package: f.version for f in runtime}},
        "runtime": [f"{VENDOR_DIR}/{f.name}" for f in runtime],
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": hashes,
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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


def _zip_part(out: Path) -> Path:
    return out.with_name(f".{out.name}{_PARTIAL_MARK}{os.getpid()}-zip")


def _write_zip(folder: Path, out: Path) -> Path:
    """The zip, written beside the bundle under a temporary name; files at the zip's root (static hosts)."""
    part = _zip_part(out)
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return part


def _discard(tmp: Path, out: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    _zip_part(out).unlink(missing_ok=True)


def _sync(folder: Path) -> None:
    """Flush every file before the rename, so a crash right after it cannot leave empty files in place."""
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished bundle into place; an old bundle is moved aside first and removed last."""
    old = None
    if out.exists() or out.is_symlink():
        old = out.with_name(f".{out.name}{_PARTIAL_MARK}{os.getpid()}-old")
        if out.is_symlink() or not out.is_dir():
            out.unlink()
            old = None
        else:
            os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
