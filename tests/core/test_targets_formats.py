"""The TFLite, .keras and SavedModel targets: written through the export seam, loaded back from the written
files (the TFLite interpreter for .tflite) and compared with Keras on the demo's test split."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from studio.core.export.exporter import ExportError, export_bundle
from studio.core.export.targets import get_target
from studio.core.images.imaging import load_rgb
from studio.core.project.store import Project
from studio.core.specs import ExportOptions

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("targets")]


@dataclass(frozen=True)
class Demo:
    project: Project
    run_id: str
    labels: list[str]
    test_paths: list[Path]
    keras_probs: np.ndarray


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The whole demo (1,797 digits), a small CNN: enough test images for a 1-point accuracy comparison."""
    from studio.core.evaluation.predict import predict_files, run_labels
    from studio.core.project.demo import create_demo_project
    from studio.core.specs import PreprocessSpec, TrainConfig
    from studio.core.training.run import train

    project, _ = create_demo_project(tmp_path_factory.mktemp("targets") / "demo")
    run = train(project, TrainConfig(arch="cnn", preprocess=PreprocessSpec(image_size=16, color="gray"), epochs=4,
                                     seed=0))
    assert run.status == "finished", run.error
    labels = run_labels(project, run)
    paths = [Path(p) for p in project.labelled_split("test")[0]]
    probs = np.array([[p["probabilities"][n] for n in labels] for p in predict_files(project, run, paths)])
    return Demo(project, run.id, labels, paths, probs)


def _written_probs(demo: Demo, fmt: str, quantization: str, out: Path) -> tuple[np.ndarray, Path]:
    target = get_target(fmt)
    result = export_bundle(demo.project, demo.run_id, out, ExportOptions(quantization=quantization), target=target)
    classify = target.load_written(result.out / target.model_dir)
    return np.array([classify(load_rgb(p).astype(np.float32)) for p in demo.test_paths]), result.out


@pytest.mark.parametrize("fmt", ["tflite", "keras", "saved_model"])
def test_float32_model_matches_keras_top1_on_every_test_image(demo: Demo, fmt: str, tmp_path: Path) -> None:
    got, out = _written_probs(demo, fmt, "none", tmp_path / fmt)
    assert np.array_equal(got.argmax(axis=1), demo.keras_probs.argmax(axis=1))
    assert np.max(np.abs(got - demo.keras_probs)) < 1e-4
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["model"]["format"] == get_target(fmt).model_format and meta["labels"] == demo.labels
    assert not (out / "index.html").exists() and not (out / "vendor").exists()  # the model + metadata only
    assert set(meta["files"]) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "metadata.json"}


def test_tflite_int8_within_one_point_of_float32_and_smaller(demo: Demo) -> None:
    from studio.core.export.estimate import estimate

    rows = {r.quantization: r for r in estimate(demo.project, demo.run_id, target=get_target("tflite"))}
    assert set(rows) == {"none", "float16", "int8"}
    print({q: (r.test_accuracy, r.model_bytes) for q, r in rows.items()})
    assert abs(rows["int8"].test_accuracy - rows["none"].test_accuracy) <= 0.01
    assert abs(rows["float16"].test_accuracy - rows["none"].test_accuracy) <= 0.01
    assert rows["int8"].model_bytes < 0.4 * rows["none"].model_bytes
    assert rows["float16"].model_bytes < 0.6 * rows["none"].model_bytes


def test_cli_exports_tflite_int8_and_refuses_a_foreign_quantization(demo: Demo, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "studio", "export", str(demo.project.root), "--format", "tflite",
                           "--quantize", "int8", "--out", str(tmp_path / "t"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["format"] == "tflite" and "model/model.tflite" in result["files"]
    assert (tmp_path / "t" / "model" / "model.tflite").read_bytes()[4:8] == b"TFL3"
    with pytest.raises(ExportError, match="tflite quantization must be one of none, float16, int8"):
        export_bundle(demo.project, demo.run_id, tmp_path / "u", ExportOptions(quantization="uint8"),
                      target=get_target("tflite"))
    assert not (tmp_path / "u").exists()


# ----- open world: every format computes the known score and makes predict's "unsure" decision ---------------
@pytest.fixture(scope="module")
def open_world_images(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[bool]]:
    """The demo's test images plus drawn letters, and predict's ``unsure`` on each (the calibrated rule)."""
    from bench.open_world_data import letters
    from studio.core.evaluation import unsure
    from studio.core.evaluation.predict import predict_files

    run = demo.project.run(demo.run_id)
    paths = [*demo.test_paths, *letters(tmp_path_factory.mktemp("letters"), 26)]
    rule = unsure.calibrate(demo.project, run)
    return paths, [rule.unsure(p) for p in predict_files(demo.project, run, paths)]


@pytest.mark.parametrize(("fmt", "quantization"), [("tfjs", "none"), ("tflite", "none"), ("keras", "none"),
                                                   ("saved_model", "none"), ("tfjs", "float16"),
                                                   ("tfjs", "uint8"), ("tflite", "float16"), ("tflite", "int8")])
def test_every_format_makes_predicts_unsure_decision(demo: Demo, open_world_images: tuple[list[Path], list[bool]],
                                                     fmt: str, quantization: str, tmp_path: Path) -> None:
    paths, expected = open_world_images
    target = get_target(fmt)
    result = export_bundle(demo.project, demo.run_id, tmp_path / fmt, ExportOptions(quantization=quantization),
                           target=target)
    meta = json.loads((result.out / "metadata.json").read_text())
    known, probability = meta["unsure"]["known_score"]["threshold"], meta["unsure"]["threshold"]
    assert list(meta["outputs"]) == ["probabilities", "known_score"]
    outputs = target.load_outputs(result.out / target.model_dir)
    got = []
    for path in paths:
        out = outputs(load_rgb(path).astype(np.float32))
        got.append(bool(float(np.ravel(out["known_score"])[0]) < known or out["probabilities"].max() < probability))
    differ = int(np.sum(np.array(got) != np.array(expected)))
    print(f"{fmt} {quantization}: {differ} of {len(paths)} decisions differ; {sum(expected)} unsure")
    # float32: every decision; float16 / uint8 (the score's constants stay float16): within one image; TFLite's
    # full-integer int8 also quantizes every activation of the score: 5, 9 and 10 of 294 measured (calibration
    # on every class's train images since issue 25), 4 % allowed.
    allowed = {"none": 0, "float16": 1, "uint8": 1, "int8": int(0.04 * len(paths))}[quantization]
    assert differ <= allowed


def test_tflite_keeps_probabilities_at_output_index_0(demo: Demo, tmp_path: Path) -> None:
    import tensorflow as tf

    result = export_bundle(demo.project, demo.run_id, tmp_path / "t", ExportOptions(), target=get_target("tflite"))
    interpreter = tf.lite.Interpreter(model_path=str(result.out / "model" / "model.tflite"))
    first = min(interpreter.get_output_details(), key=lambda d: d["name"])  # Identity, Identity_1, ...
    assert list(first["shape"]) == [1, len(demo.labels)]


def test_a_digits_model_still_answers_its_digits(demo: Demo) -> None:
    """At the default 95 % the from-scratch digits model answers at least 95 % of the demo's test images:
    measured 95.9 % for this 4-epoch CNN (accuracy of those 0.965; 93.7 % before the calibration's one-
    standard-error margin), where the older top-probability rule alone refuses several of them; the known score
    keeps 95 % of what that rule answers, at most 99 %."""
    from studio.core.evaluation.unsure import test_figures

    figures = test_figures(demo.project, demo.project.run(demo.run_id))
    print(f"answered {figures['answered']:.3f} of {figures['n_test']} test images, accuracy of those "
          f"{figures['answered_accuracy']:.3f}")
    assert figures["answered"] >= 0.95
    assert figures["answered_accuracy"] >= 0.9
