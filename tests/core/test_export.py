"""export_bundle: contents, metadata, quantization, zip, --force, and atomicity under real failures
(a file-size limit standing in for a full disk, a kill -9 mid-export, a missing runtime)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.core.export import web_runtime
from studio.core.export.exporter import ExportError, ExportStep, export_bundle
from studio.core.export.targets.tfjs import in_network
from studio.core.export.web_app import page_title
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.specs import ExportOptions, PreprocessSpec, TrainConfig

ROOT = Path(__file__).resolve().parents[2]
# One worker runs the whole module (make test: -n 2 --dist loadgroup), so the run is trained once.
pytestmark = pytest.mark.xdist_group("export")


@dataclass(frozen=True)
class Trained:
    project: Project
    run_id: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from studio.core.training.run import train

    project, _ = create_demo_project(tmp_path_factory.mktemp("export") / "project", limit=120)
    run = train(project, TrainConfig(arch="dense", preprocess=PreprocessSpec(image_size=16, color="gray"),
                                     epochs=1))
    assert run.status == "finished", run.error
    return Trained(project, run.id)


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".partial-" in p.name]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundle_contents_and_metadata(trained: Trained, tmp_path: Path) -> None:
    steps: list[ExportStep] = []
    result = export_bundle(trained.project, None, tmp_path / "B", ExportOptions(), reporter=steps.append)
    out = tmp_path / "B"
    assert result.out == out and result.run == trained.run_id
    assert [s.step for s in steps] == ["check", "model", "page", "runtime", "metadata", "finish"]
    # A model this small ships without the WebGL backend (issue 24).
    from studio.core.export.exporter import _parameters

    assert _parameters(out / "model" / "model.json") < web_runtime.WEBGL_MIN_PARAMETERS
    runtime = [f.name for f in web_runtime.runtime_files() if f.name != web_runtime.WEBGL_FILE]
    assert set(result.files) == {"index.html", "script.js", "style.css", "metadata.json", "model/model.json",
                                 *(f"model/{p.name}" for p in (out / "model").glob("*.bin")),
                                 *(f"vendor/{n}" for n in runtime), "manifest.webmanifest", "sw.js",
                                 "icons/icon-192.png", "icons/icon-512.png"}
    assert result.bytes == sum((out / f).stat().st_size for f in result.files)
    assert partials(tmp_path) == []

    meta = json.loads((out / "metadata.json").read_text())
    assert meta["labels"] == trained.project.class_names()
    assert meta["model"]["architecture"] == "dense" and meta["model"]["run"] == trained.run_id
    assert meta["input"]["shape"] == [1, None, None, 3]
    assert meta["preprocessing"]["image_size"] == 16 and meta["preprocessing"]["color"] == "gray"
    assert meta["preprocessing"]["in_model"] is True
    assert meta["versions"]["tfjs"] == "4.22.0" and meta["versions"]["studio"]
    assert 0 <= meta["metrics"]["test_accuracy"] <= 1 and "per_class" in meta["metrics"]
    assert isinstance(meta["training"], dict) and "test_accuracy" not in meta["training"]
    # Every other file is hashed, and the hashes are right.
    assert set(meta["files"]) == set(result.files) - {"metadata.json"}
    for name, digest in meta["files"].items():
        assert sha256(out / name) == digest, name

    # The graph takes raw RGB pixels of any size and returns one probability per label.
    model = json.loads((out / "model" / "model.json").read_text())
    assert model["format"] == "graph-model"
    dims = [int(d["size"]) for d in model["signature"]["inputs"]["pixels"]["tensorShape"]["dim"]]
    assert dims == [1, -1, -1, 3]
    ops = {n["op"] for n in model["modelTopology"]["node"]}
    assert "ResizeBilinear" in ops  # preprocessing is inside the graph

    index = (out / "index.html").read_text()
    labels = json.loads((out / "metadata.json").read_text())["labels"]
    assert "{{" not in index and f"<title>{page_title(None, labels)}</title>" in index  # default: class names
    assert "Content-Security-Policy" in index and "https://" not in index and "http://" not in index
    for f in web_runtime.runtime_files():
        if f.name not in runtime:
            continue
        assert f.name.endswith(".wasm") or f'src="vendor/{f.name}"' in index  # .wasm: fetched by the backend
        assert sha256(out / "vendor" / f.name) == sha256(f.source)
    assert web_runtime.WEBGL_FILE not in index  # only the scripts the bundle carries


def test_bundle_is_an_offline_app_with_an_unsure_threshold(trained: Trained, tmp_path: Path) -> None:
    out = export_bundle(trained.project, trained.run_id, tmp_path / "B", ExportOptions()).out
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["unsure"]["source"] == "validation" and 0 <= meta["unsure"]["threshold"] <= 1
    assert meta["unsure"]["n_validation"] == len(trained.project.labelled_split("val")[0]) > 0
    manifest = json.loads((out / "manifest.webmanifest").read_text())
    assert manifest["start_url"] == "./" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        size = int(icon["sizes"].split("x")[0])
        assert (out / icon["src"]).read_bytes()[16:24] == size.to_bytes(4, "big") * 2  # PNG width, height
    worker = (out / "sw.js").read_text()
    version = json.loads(worker.split("const VERSION = ", 1)[1].split(";", 1)[0])
    assert len(version) == 16 and "__FILES__" not in worker
    precached = json.loads(worker.split("const FILES = ", 1)[1].split(";", 1)[0])
    assert set(precached) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"sw.js"}
    index = (out / "index.html").read_text()
    assert "script-src 'self' 'wasm-unsafe-eval';" in index and 'rel="manifest"' in index

    chosen = export_bundle(trained.project, trained.run_id, tmp_path / "C", ExportOptions(unsure_threshold=0.6)).out
    meta_c = json.loads((chosen / "metadata.json").read_text())
    assert meta_c["unsure"]["threshold"] == 0.6 and meta_c["unsure"]["source"] == "user"
    assert version not in (chosen / "sw.js").read_text()  # another export, another cache


def test_quantization_shrinks_the_model(trained: Trained, tmp_path: Path) -> None:
    sizes = {q: export_bundle(trained.project, trained.run_id, tmp_path / q, ExportOptions(quantization=q)).model_bytes
             for q in ("none", "float16", "uint8")}
    assert sizes["uint8"] < 0.35 * sizes["none"]
    assert sizes["float16"] < 0.6 * sizes["none"]
    manifest = json.loads((tmp_path / "uint8" / "model" / "model.json").read_text())["weightsManifest"]
    quantized = {w["name"]: w.get("quantization") for g in manifest for w in g["weights"]}
    # Only the network's large tensors (kernels) are quantized; preprocessing constants and biases stay exact.
    shapes = {w["name"]: w["shape"] for g in manifest for w in g["weights"]}
    assert any(q for q in quantized.values())
    assert all(q is None for name, q in quantized.items() if not in_network(name))
    assert any(not in_network(name) for name in quantized)  # preprocessing's constants are there, unquantized
    assert all(q is None for name, q in quantized.items() if len(shapes[name]) < 2)

    # The estimate's way: one preparation, one conversion, every quantization written from it. Same files.
    from studio.core.export import exporter
    from studio.core.export.targets import tfjs

    conversions = []
    real_convert = tfjs.convert_function

    def counted(*args: object) -> None:
        conversions.append(args)
        real_convert(*args)

    target = tfjs.TfjsTarget()
    run = trained.project.resolve_run(trained.run_id)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tfjs, "convert_function", counted)
        with exporter.prepare_model(trained.project, run, ExportOptions(), target) as prepared:
            for q in sizes:
                export_bundle(trained.project, trained.run_id, tmp_path / f"once-{q}", ExportOptions(quantization=q),
                              target=target, prepared=prepared)
    assert len(conversions) == 1
    for q in sizes:
        separate, once = tmp_path / q / "model", tmp_path / f"once-{q}" / "model"
        assert sorted(p.name for p in separate.iterdir()) == sorted(p.name for p in once.iterdir())
        for f in separate.glob("*.bin"):
            assert f.read_bytes() == (once / f.name).read_bytes(), (q, f.name)
        assert json.loads((separate / "model.json").read_text()) == json.loads((once / "model.json").read_text())


def test_existing_folder_is_replaced_only_with_force(trained: Trained, tmp_path: Path) -> None:
    out = tmp_path / "B"
    export_bundle(trained.project, trained.run_id, out, ExportOptions(quantization="uint8"))
    first = json.loads((out / "metadata.json").read_text())["exported_at"]
    with pytest.raises(ExportError, match="--force"):
        export_bundle(trained.project, trained.run_id, out, ExportOptions())
    assert json.loads((out / "metadata.json").read_text())["model"]["quantization"] == "uint8"
    export_bundle(trained.project, trained.run_id, out, ExportOptions(force=True))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["model"]["quantization"] == "none" and meta["exported_at"] >= first
    assert partials(tmp_path) == []
    # --force never wipes a folder that is not a bundle.
    user = tmp_path / "Documents"
    user.mkdir()
    (user / "thesis.txt").write_text("precious")
    with pytest.raises(ExportError, match="not a web bundle"):
        export_bundle(trained.project, trained.run_id, user, ExportOptions(force=True))
    assert (user / "thesis.txt").read_text() == "precious"


def test_force_replaces_only_a_verifiable_bundle(trained: Trained, tmp_path: Path) -> None:
    """A web root with an index.html and a metadata.json is not ours; nor is our bundle plus a user's file;
    nor a regular file. Each is refused and left exactly as it was."""
    web_root = tmp_path / "www"
    (web_root / "blog").mkdir(parents=True)
    (web_root / "index.html").write_text("<h1>home</h1>")
    (web_root / "metadata.json").write_text('{"site": "mine"}')
    (web_root / "blog" / "post.html").write_text("post")
    before = sorted(p.relative_to(web_root).as_posix() for p in web_root.rglob("*"))
    with pytest.raises(ExportError, match="not a web bundle"):
        export_bundle(trained.project, trained.run_id, web_root, ExportOptions(force=True))
    assert sorted(p.relative_to(web_root).as_posix() for p in web_root.rglob("*")) == before

    ours = tmp_path / "ours"
    export_bundle(trained.project, trained.run_id, ours, ExportOptions())
    (ours / "notes.txt").write_text("added by the user")
    with pytest.raises(ExportError, match="not a web bundle"):
        export_bundle(trained.project, trained.run_id, ours, ExportOptions(force=True))
    assert (ours / "notes.txt").read_text() == "added by the user"

    plain = tmp_path / "file.txt"
    plain.write_text("keep me")
    done = subprocess.run([sys.executable, "-m", "studio", "export", str(trained.project.root), "--out", str(plain),
                           "--force"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "not a folder" in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert plain.read_text() == "keep me"
    assert partials(tmp_path) == []


def test_bundle_permissions_follow_the_umask(trained: Trained, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = export_bundle(trained.project, trained.run_id, tmp_path / "B", ExportOptions()).out
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    for p in out.rglob("*"):
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p


def test_estimate_measures_what_each_bundle_holds(trained: Trained, tmp_path: Path) -> None:
    from studio.core.evaluation.report import evaluate
    from studio.core.export.estimate import estimate

    rows = estimate(trained.project, trained.run_id)
    assert [r.quantization for r in rows] == ["none", "float16", "uint8"]
    assert rows[0].model_bytes > rows[1].model_bytes > rows[2].model_bytes
    # The float32 bundle is the Keras model with its preprocessing: evaluation's test accuracy.
    report = evaluate(trained.project, trained.run_id)
    assert abs(rows[0].test_accuracy - report["accuracy"]) <= 1 / report["n"] + 1e-9  # +-1 image
    assert all(0 <= r.test_accuracy <= 1 for r in rows)


def test_zip_holds_the_same_files(trained: Trained, tmp_path: Path) -> None:
    result = export_bundle(trained.project, trained.run_id, tmp_path / "B", ExportOptions(zip=True))
    assert result.zip_path == tmp_path / "B.zip"
    with zipfile.ZipFile(result.zip_path) as zf:
        assert sorted(zf.namelist()) == result.files
        assert zf.read("index.html") == (tmp_path / "B" / "index.html").read_bytes()
    with pytest.raises(ExportError, match="B.zip already exists"):
        shutil.rmtree(tmp_path / "B")
        export_bundle(trained.project, trained.run_id, tmp_path / "B", ExportOptions(zip=True))


def test_unfinished_run_is_refused(trained: Trained, tmp_path: Path) -> None:
    run = trained.project.create_run("dense", TrainConfig(arch="dense").to_dict())
    try:
        with pytest.raises(ExportError, match="only a finished run"):
            export_bundle(trained.project, run.id, tmp_path / "B", ExportOptions())
    finally:
        trained.project.update_run(run.id, status="failed", error="test")
    assert not (tmp_path / "B").exists()


def test_missing_runtime_is_a_clear_error_and_writes_nothing(trained: Trained, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    template = tmp_path / "template"
    template.mkdir()
    for name in web_runtime.PAGE_FILES:
        shutil.copy(ROOT / "web_template" / name, template / name)
    env = {**os.environ, web_runtime.TEMPLATE_ENV: str(template)}
    done = subprocess.run([sys.executable, "-m", "studio", "export", str(trained.project.root), "--out",
                           str(tmp_path / "B")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "make setup" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "B").exists() and partials(tmp_path) == []


def _export_cli(project: Path, out: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio", "export", str(project), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _limit_file_size() -> None:
    # Any file larger than 300 kB fails with EFBIG, as on a full disk (a WebGL runtime file is ~370 kB).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


@pytest.mark.slow
def test_write_failure_leaves_no_half_bundle(trained: Trained, tmp_path: Path) -> None:
    proc = _export_cli(trained.project.root, tmp_path / "B", preexec_fn=_limit_file_size)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    assert "File too large" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "B").exists() and partials(tmp_path) == []


@pytest.mark.slow
def test_killed_export_leaves_no_half_bundle(trained: Trained, tmp_path: Path) -> None:
    proc = _export_cli(trained.project.root, tmp_path / "B")
    deadline = time.monotonic() + 120
    while not partials(tmp_path):
        assert proc.poll() is None and time.monotonic() < deadline, "export ended before it could be killed"
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=30)
    assert not (tmp_path / "B").exists()
    left = partials(tmp_path)
    assert left  # the killed process's temporary folder, beside the target
    # The next export of the same target cleans up after the dead process and succeeds.
    export_bundle(trained.project, trained.run_id, tmp_path / "B", ExportOptions())
    assert partials(tmp_path) == [] and (tmp_path / "B" / "metadata.json").is_file()


def test_converter_import_skips_jax_and_decision_forests(trained: Trained, tmp_path: Path) -> None:
    export_bundle(trained.project, trained.run_id, tmp_path / "B", ExportOptions(quantization="float16"))
    assert "tensorflowjs.converters.tf_saved_model_conversion_v2" in sys.modules
    for name in ("tensorflow_decision_forests", "tensorflow_hub", "tensorflowjs.converters.jax_conversion",
                 "tensorflowjs.converters.keras_h5_conversion"):
        assert name not in sys.modules, name


_WITHOUT_OPTIONAL = """
import sys
blocked = ("jax", "jaxlib", "flax", "tensorflow_decision_forests", "ydf", "tensorflow_hub")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is blocked (as in a package built without it)")
sys.meta_path.insert(0, Block())
from studio.core.export.exporter import export_bundle
from studio.core.project.store import Project
from studio.core.specs import ExportOptions
result = export_bundle(Project.open(sys.argv[1]), None, sys.argv[2], ExportOptions(quantization="uint8"))
print(sorted(m for m in sys.modules if m.split(".")[0] in blocked), result.model_bytes)
"""


@pytest.mark.slow
def test_export_works_without_jax_decision_forests_and_hub(trained: Trained, tmp_path: Path) -> None:
    """The packaged app may leave out jax, TF-DF (native ops that crash frozen apps) and TF-Hub."""
    done = subprocess.run([sys.executable, "-c", _WITHOUT_OPTIONAL, str(trained.project.root), str(tmp_path / "B")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith("[] ")
    assert (tmp_path / "B" / "model" / "model.json").is_file()
