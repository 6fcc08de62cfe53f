"""A new architecture and a new export format are each one registration, from this test file alone: both show
in the CLI's help and work end to end (train, then export and reload what was written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from studio.cli import main
from studio.core.export import targets
from studio.core.export.targets.base import Classifier, ExportTarget
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.specs import TrainConfig
from studio.core.training import architectures
from studio.core.training.architectures import Architecture


def _tiny(input_shape: tuple[int, int, int], n_classes: int):  # noqa: ANN202
    import keras

    return keras.Sequential([keras.Input(shape=input_shape), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(n_classes, activation="softmax")], name="tiny_test")


class NpzTarget(ExportTarget):
    """The run's weights as one .npz (a throw-away format): "halved" stores them as float16."""

    name: ClassVar[str] = "npz_test"
    model_dir: ClassVar[str] = "weights"
    model_format: ClassVar[str] = "npz"
    model_entry: ClassVar[str] = "weights.npz"
    quantizations: ClassVar[tuple[str, ...]] = ("none", "halved")
    default_quantization: ClassVar[str] = "halved"

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        import keras

        from studio.core.evaluation.known_score import classifier_of

        # The export hands a target the run's network with its known score; this format keeps the classifier.
        weights = classifier_of(keras.saving.load_model(model_file, compile=False)).get_weights()
        dtype = np.float16 if quantization == "halved" else np.float32
        dest.mkdir(parents=True, exist_ok=True)
        np.savez(dest / self.model_entry, *[w.astype(dtype) for w in weights])
        (dest / "config.json").write_text(config.to_json())

    def load_written(self, dest: Path) -> Classifier:
        from studio.core.preprocess import preprocess

        config = TrainConfig.from_json((dest / "config.json").read_text())
        with np.load(dest / self.model_entry) as data:
            kernel, bias = (data[k].astype(np.float32) for k in sorted(data.files))
        n_classes = bias.shape[0]
        model = _tiny(config.preprocess.input_shape, n_classes)
        model.set_weights([kernel, bias])

        def classify(pixels: np.ndarray) -> np.ndarray:
            x = np.asarray(preprocess(pixels[None].astype(np.uint8), config.preprocess))
            return np.asarray(model(x, training=False))[0]
        return classify


@pytest.fixture
def registered():  # noqa: ANN201
    arch = architectures.register(Architecture(
        "tiny_test", _tiny, "Tiny test network", "Averages the picture and decides: a test's throw-away.",
        description="global average pooling, softmax", epochs=3, export_quantization=("halved",)))
    targets.register(NpzTarget)
    yield arch
    architectures.unregister("tiny_test")
    targets.unregister("npz_test")


def test_a_throw_away_architecture_and_format_appear_in_help(registered: Architecture,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    assert "tiny_test: Tiny test network" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "npz_test" in help_text and "none|halved" in help_text


def test_a_throw_away_architecture_trains_and_a_throw_away_format_exports(
        registered: Architecture, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, _ = create_demo_project(tmp_path / "p", limit=60)
    project.close()
    assert main(["train", str(tmp_path / "p"), "--arch", "tiny_test", "--image-size", "8", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["event"] == "run_started" and events[0]["epochs"] == registered.epochs
    assert events[-1]["event"] == "run_finished"
    # No --quantize: the architecture's preference where the format offers it.
    assert main(["export", str(tmp_path / "p"), "--format", "npz_test", "--out", str(tmp_path / "out"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["format"] == "npz_test" and result["quantization"] == "halved"
    assert "weights/weights.npz" in result["files"]
    assert main(["export", str(tmp_path / "p"), "--format", "npz_test", "--estimate", "--json"]) == 0
    estimates = json.loads(capsys.readouterr().out.splitlines()[-1])["estimates"]
    assert [e["quantization"] for e in estimates] == ["none", "halved"]
    assert all(0.0 <= e["test_accuracy"] <= 1.0 for e in estimates)
    with Project.open(tmp_path / "p") as project:
        assert project.runs()[0].arch == "tiny_test"


def test_a_target_without_its_own_quantizations_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="quantizations, default_quantization"):
        class Forgetful(ExportTarget):  # noqa: F841
            name: ClassVar[str] = "forgetful"
            model_dir: ClassVar[str] = "model"
            model_format: ClassVar[str] = "x"
            model_entry: ClassVar[str] = "x.bin"

            def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
                raise NotImplementedError

            def load_written(self, dest: Path) -> Classifier:
                raise NotImplementedError
    with pytest.raises(TypeError, match="not one of its quantizations"):
        class Inconsistent(NpzTarget):  # noqa: F841
            default_quantization: ClassVar[str] = "uint8"
