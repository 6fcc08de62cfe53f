"""Arduino (TensorFlow Lite Micro), Raspberry Pi (LiteRT) and ONNX targets, each checked by its own runtime on
the demo's test split against what `predict` says; labels inside every .tflite; the board-size refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from studio.core.export.exporter import ExportError, export_bundle
from studio.core.export.targets import get_target
from studio.core.images.imaging import load_rgb
from studio.core.project.store import Project
from studio.core.specs import ExportOptions
from tests.core.helpers import make_class_folder

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("targets_edge")]

AGREEMENT = 0.99  # top-1 agreement with the reference on the test split
TFLM_STUB = Path(__file__).with_name("tflm_stub")


@dataclass(frozen=True)
class Demo:
    project: Project
    run_id: str
    labels: list[str]
    test_paths: list[Path]
    predict_probs: np.ndarray  # what `predict` says, one row per test image


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The whole demo (1,797 digits, 360 in the test split), the compact architecture at 16x16 gray, 4 epochs."""
    from studio.core.evaluation.predict import predict_files, run_labels
    from studio.core.project.demo import create_demo_project
    from studio.core.specs import PreprocessSpec, TrainConfig
    from studio.core.training.run import train

    project, _ = create_demo_project(tmp_path_factory.mktemp("edge") / "demo")
    run = train(project, TrainConfig(arch="compact", preprocess=PreprocessSpec(image_size=16, color="gray"),
                                     epochs=4, seed=0))
    assert run.status == "finished", run.error
    labels = run_labels(project, run)
    paths = [Path(p) for p in project.labelled_split("test")[0]]
    probs = np.array([[p["probabilities"][n] for n in labels] for p in predict_files(project, run, paths)])
    return Demo(project, run.id, labels, paths, probs)


def _export(demo: Demo, fmt: str, out: Path, quantization: str | None = None):
    target = get_target(fmt)
    options = ExportOptions(quantization=quantization or target.default_quantization)
    return target, export_bundle(demo.project, demo.run_id, out, options, target=target)


def _probs(classify, paths: list[Path]) -> np.ndarray:
    return np.array([classify(load_rgb(p).astype(np.float32)) for p in paths])


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))


def _zip_names(path: Path) -> list[str]:
    listing = subprocess.run(["unzip", "-l", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in listing.splitlines() if line.strip().endswith(".txt")]


# ----- Arduino -------------------------------------------------------------------------------------------
def test_arduino_c_array_in_tflite_micro_agrees_with_int8_tflite(demo: Demo, tmp_path: Path) -> None:
    from studio.core.export.targets.c_sources import array_bytes
    from studio.core.export.targets.tflite import interpreter_classifier

    target, result = _export(demo, "arduino", tmp_path / "arduino")
    sketch = result.out / "edge_classifier"
    names = {p.name for p in sketch.iterdir()}
    assert {"edge_classifier.ino", "model_data.cc", "model_data.h", "model_settings.h", "sample_frame.h",
            "model.tflite", "BOARDS.md"} <= names
    model = (sketch / "model.tflite").read_bytes()
    assert array_bytes((sketch / "model_data.cc").read_text()) == model  # the C array is the raw .tflite
    assert _zip_names(sketch / "model.tflite") == ["labels.txt"]
    assert result.model_bytes == len(model)
    for header in ("model_data.cc", "model_settings.h", "sample_frame.h"):
        compiled = subprocess.run(["g++", "-std=c++11", "-fsyntax-only", "-x", "c++", header], cwd=sketch,
                                  capture_output=True, text=True)
        assert compiled.returncode == 0, compiled.stderr
    settings = (sketch / "model_settings.h").read_text()
    assert "constexpr int kInputWidth = 16;" in settings and "constexpr int kCategoryCount = 10;" in settings
    assert all(f'"{label}"' in settings for label in demo.labels)
    sketch_text = (sketch / "edge_classifier.ino").read_text()
    assert "resolver.AddConv2D();" in sketch_text or "resolver.AddDepthwiseConv2D();" in sketch_text
    assert "AddResizeBilinear" not in sketch_text  # a fixed input at the model's size: no resize op
    # Our own C++ in the sketch, against stand-ins of the Arduino core and the TFLM API it calls (the real
    # library needs a board's toolchain): every resolver method named exists, and the code is well-formed.
    compiled = subprocess.run(["g++", "-std=c++11", "-Wall", "-Werror", "-fsyntax-only", f"-I{TFLM_STUB}", "-x", "c++",
                               "edge_classifier.ino"], cwd=sketch, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr

    # The board's runtime on the C array's bytes vs the full-integer TFLite model the tflite target writes.
    board = _probs(target.load_written(sketch), demo.test_paths)
    _tfl, tflite = _export(demo, "tflite", tmp_path / "tflite", "int8")
    assert _zip_names(tflite.out / "model" / "model.tflite") == ["labels.txt"]
    int8 = _probs(interpreter_classifier(tflite.out / "model" / "model.tflite"), demo.test_paths)
    agree_int8, agree_predict = _agreement(board, int8), _agreement(board, demo.predict_probs)
    print(f"arduino: top-1 agreement with int8 TFLite {agree_int8:.4f}, with predict {agree_predict:.4f}; "
          f"model {len(model)} bytes")
    assert agree_int8 >= AGREEMENT


def test_arduino_refuses_what_no_board_holds_and_warns_what_the_smallest_cannot(tmp_path: Path) -> None:
    from studio.core.images.importer import import_paths
    from studio.core.specs import PreprocessSpec, TrainConfig
    from studio.core.training.run import train

    project = Project.create(tmp_path / "big")
    make_class_folder(tmp_path / "src", {"cat": 12, "dog": 12})
    import_paths(project, [tmp_path / "src"])
    # Dense at 256x256: 65,536 inputs x 150 units, about 9.8 MB of int8 weights, more than any board's flash.
    run = train(project, TrainConfig(arch="dense", preprocess=PreprocessSpec(image_size=256, color="gray"),
                                     epochs=1, seed=0))
    assert run.status == "finished", run.error
    with pytest.raises(ExportError) as refused:
        export_bundle(project, run.id, tmp_path / "out", ExportOptions(quantization="int8"),
                      target=get_target("arduino"))
    message = str(refused.value)
    print(message)
    assert "\n" not in message
    assert "256x256" in message and "more than any board" in message
    assert "would fit the Arduino Nano 33 BLE Sense" in message and "--image-size" in message
    assert not (tmp_path / "out").exists()

    # Dense at 96x96 (1.4 MB of weights) fits the bigger boards: written, with a one-line note naming the rest.
    run = train(project, TrainConfig(arch="dense", preprocess=PreprocessSpec(image_size=96, color="gray"),
                                     epochs=1, seed=0))
    result = export_bundle(project, run.id, tmp_path / "mid", ExportOptions(quantization="int8"),
                           target=get_target("arduino"))
    (note,) = result.notes
    print(note)
    assert "too big for the Arduino Nano 33 BLE Sense" in note and "it fits Raspberry Pi Pico" in note
    assert "would fit the Arduino Nano 33 BLE Sense" in note and "\n" not in note
    assert "| Arduino Nano 33 BLE Sense (nRF52840) |" in (result.out / "edge_classifier" / "BOARDS.md").read_text()


# ----- labels inside every .tflite -----------------------------------------------------------------------
def test_tflite_carries_its_labels_and_still_loads(demo: Demo, tmp_path: Path) -> None:
    """float32 here; the int8 .tflite (and the arduino one) in the arduino test."""
    from ai_edge_litert.interpreter import Interpreter

    _target, result = _export(demo, "tflite", tmp_path / "tflite", "none")
    model = result.out / "model" / "model.tflite"
    assert _zip_names(model) == ["labels.txt"]
    with zipfile.ZipFile(model) as archive:
        assert archive.read("labels.txt").decode().splitlines() == demo.labels
    interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    assert interpreter.get_output_details()[0]["shape"][-1] == len(demo.labels)


# ----- Raspberry Pi --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only `pip install ai-edge-litert numpy pillow` (from the local mirror)."""
    venv = tmp_path_factory.mktemp("pi") / "venv"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "ai-edge-litert", "numpy", "pillow"], check=True)
    print(f"fresh venv with ai-edge-litert, numpy, pillow: {time.monotonic() - start:.1f} s")
    assert subprocess.run([str(python), "-c", "import tensorflow"], capture_output=True).returncode != 0
    return python


def test_raspberry_pi_classify_script_agrees_with_predict(demo: Demo, fresh_venv: Path, tmp_path: Path) -> None:
    _target, result = _export(demo, "raspberry_pi", tmp_path / "pi")
    folder = result.out / "raspberry_pi"
    assert (folder / "labels.txt").read_text().splitlines() == demo.labels
    assert _zip_names(folder / "model.tflite") == ["labels.txt"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    ran = subprocess.run([str(fresh_venv), "classify.py", *map(str, demo.test_paths)], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.strip().splitlines()
    assert len(lines) == len(demo.test_paths)
    got = [line.rsplit(" ", 1) for line in lines]
    expected = [demo.labels[i] for i in demo.predict_probs.argmax(axis=1)]
    agree = float(np.mean([label == e for (label, _c), e in zip(got, expected, strict=True)]))
    conf = np.array([float(c) for _label, c in got])
    print(f"raspberry_pi classify.py: top-1 agreement with predict {agree:.4f}; "
          f"max |confidence diff| {np.max(np.abs(conf - demo.predict_probs.max(axis=1))):.2e}")
    assert agree >= AGREEMENT
    one = subprocess.run([str(fresh_venv), str(folder / "classify.py"), str(demo.test_paths[0])], env=env,
                         capture_output=True, text=True, timeout=120)
    label, confidence = one.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert label == expected[0] and 0 <= float(confidence) <= 1


# ----- ONNX ----------------------------------------------------------------------------------------------
def test_onnx_in_onnxruntime_matches_predict(demo: Demo, tmp_path: Path) -> None:
    import onnx
    import onnxruntime

    target, result = _export(demo, "onnx", tmp_path / "onnx")
    path = result.out / "model" / "model.onnx"
    got = _probs(target.load_written(path.parent), demo.test_paths)
    diff = float(np.max(np.abs(got - demo.predict_probs)))
    agree = _agreement(got, demo.predict_probs)
    print(f"onnx: top-1 agreement with predict {agree:.4f}, max |p diff| {diff:.2e}")
    assert agree >= AGREEMENT and diff <= 1e-4
    proto = onnx.load(str(path))
    assert json.loads({p.key: p.value for p in proto.metadata_props}["labels"]) == demo.labels
    assert [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [
        "batch", "height", "width", 3]
    # A batch of two images of another size: the same contract as the other targets.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    import cv2

    batch = np.stack([cv2.resize(load_rgb(p), (40, 30)) for p in demo.test_paths[:2]]).astype(np.float32)
    both = session.run(["probabilities"], {"pixels": batch})[0]
    singles = np.stack([session.run(["probabilities"], {"pixels": b[None]})[0][0] for b in batch])
    assert both.shape == (2, len(demo.labels)) and np.allclose(both, singles, atol=1e-6)
    meta = json.loads((result.out / "metadata.json").read_text())
    assert meta["model"]["format"] == "onnx" and meta["labels"] == demo.labels


# ----- --estimate for each new format --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["arduino", "raspberry_pi", "onnx"])
def test_estimate_reports_size_and_accuracy_of_each_new_format(demo: Demo, fmt: str) -> None:
    from studio.core.export.estimate import estimate

    target = get_target(fmt)
    rows = estimate(demo.project, demo.run_id, target=target)
    assert [r.quantization for r in rows] == list(target.quantizations)
    keras_accuracy = float(np.mean(demo.predict_probs.argmax(axis=1) == _true_classes(demo)))
    for r in rows:
        print(f"{fmt} {r.quantization}: model {r.model_bytes} bytes, test accuracy {r.test_accuracy:.4f} "
              f"(predict {keras_accuracy:.4f})")
        assert r.model_bytes > 0 and abs(r.test_accuracy - keras_accuracy) <= 0.02


def _true_classes(demo: Demo) -> np.ndarray:
    paths, classes, _names = demo.project.labelled_split("test", demo.labels)
    by_path = dict(zip(map(str, paths), classes, strict=True))
    return np.array([by_path[str(p)] for p in demo.test_paths])
