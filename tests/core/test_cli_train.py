"""`edge-studio train/runs/evaluate/predict`: JSON lines only on stdout, Ctrl+C cancels cleanly, fields."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.cli import main
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.specs import (
    AUGMENT_PRESETS,
    DEFAULT_AUGMENT,
    DEFAULT_PATIENCE,
    AugmentSpec,
    PreprocessSpec,
)
from studio.core.training import architectures

FAST = ["--image-size", "16", "--batch-size", "16"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "studio", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "digits"
    create_demo_project(root, limit=200)[0].close()
    return root


@pytest.fixture(scope="module")
def json_run(project_dir: Path) -> list[dict]:
    proc = subprocess.run(_cli("train", str(project_dir), "--arch", "dense", "--epochs", "3", *FAST, "--json"),
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]  # fails on any non-JSON line


def test_json_train_emits_exactly_three_epoch_ends_with_all_metrics(json_run: list[dict]) -> None:
    kinds = [e["event"] for e in json_run]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert set(kinds) == {"run_started", "batch_end", "epoch_end", "run_finished"}
    epochs = [e for e in json_run if e["event"] == "epoch_end"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for e in epochs:
        assert all(isinstance(e[k], float) for k in ("loss", "accuracy", "val_loss", "val_accuracy"))
    batches = [e for e in json_run if e["event"] == "batch_end"]
    assert batches and all({"epoch", "batch", "steps"} <= set(b) for b in batches)
    finished = json_run[-1]
    assert finished["run"] == json_run[0]["run"]
    assert finished["metrics"]["test_accuracy"] is not None


def test_sigint_in_epoch_two_cancels_cleanly(project_dir: Path, json_run: list[dict]) -> None:
    earlier = {r.id: r for r in Project.open(project_dir).runs()}
    proc = subprocess.Popen(_cli("train", str(project_dir), "--arch", "cnn", "--epochs", "20", "--image-size", "16",
                                 "--batch-size", "2", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
    events, sent = [], None
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        if event["event"] == "batch_end" and event["epoch"] == 2 and sent is None:
            proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
        if event["event"] == "run_cancelled":
            cancelled_after = time.monotonic() - (sent or 0)
    assert proc.wait(timeout=60) == 130
    assert sent is not None and events[-1]["event"] == "run_cancelled"
    assert cancelled_after < 2.0
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [1]

    with Project.open(project_dir) as project:
        run = project.run(events[0]["run"])
        assert run.status == "cancelled"
        after = {r.id: r for r in project.runs()}
        assert all(after[k] == v for k, v in earlier.items())
        assert project.integrity_check() == "ok"


def test_text_train_prints_only_the_run_id_on_stdout(project_dir: Path, json_run: list[dict],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(project_dir), "--arch", "compact", "--epochs", "1", *FAST]) == 0
    out, err = capsys.readouterr()
    run_id = out.strip()
    assert "\n" not in run_id and run_id.endswith("-compact")
    assert "epoch 1/1:" in err and "val_accuracy" in err
    with Project.open(project_dir) as project:
        assert project.run(run_id).status == "finished"


def test_runs_evaluate_and_predict(project_dir: Path, json_run: list[dict], capsys: pytest.CaptureFixture[str]) -> None:
    run_id = json_run[0]["run"]
    assert main(["runs", str(project_dir), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["runs"]
    assert run_id in {r["run"] for r in rows}

    assert main(["evaluate", str(project_dir), run_id, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "labels"):
        assert key in report
    assert set(report["per_class"]["3"]) == {"precision", "recall", "f1", "support"}
    assert report["run"] == run_id

    with Project.open(project_dir) as project:
        image = str(project.image_path(project.images(split="test")[0]))
    assert main(["predict", str(project_dir), run_id, image, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run"] == run_id
    (p,) = out["predictions"]
    assert p["path"] == image and set(p["probabilities"]) == {str(d) for d in range(10)}
    assert main(["predict", str(project_dir), image, image]) == 0  # RUN left out: latest finished run
    assert capsys.readouterr().out.count(image) == 2

    assert main(["evaluate", str(project_dir), "no-such-run"]) == 1
    assert "no run" in capsys.readouterr().err


def test_augment_and_preprocess_come_from_the_project_settings(tmp_path: Path) -> None:
    import argparse

    from studio.commands.train_cmds import train_config

    project = Project.create(tmp_path / "p")
    args = argparse.Namespace(arch="cnn", augment=True, epochs=1, batch_size=8, lr=0.01, image_size=None,
                              color=None, patience=0, class_weights=False, seed=0)
    config, _ = train_config(project, args)
    assert config.augment == AUGMENT_PRESETS[DEFAULT_AUGMENT] and config.use_augment
    assert config.epochs == 1 and config.early_stopping_patience == 0  # what the user gave is kept
    unset = argparse.Namespace(**{**vars(args), "epochs": None, "patience": None})
    config, _ = train_config(project, unset)  # augmenting with nothing chosen: a larger budget, early stopping
    assert config.epochs == architectures.get("cnn").epoch_budget(True) > architectures.get("cnn").epochs
    assert config.early_stopping_patience == DEFAULT_PATIENCE > 0
    plain, _ = train_config(project, argparse.Namespace(**{**vars(unset), "augment": False}))
    assert plain.epochs == architectures.get("cnn").epochs and plain.early_stopping_patience == 0
    assert not plain.use_augment
    assert config.preprocess == PreprocessSpec()
    saved = AugmentSpec(rotation=5, brightness=0.2)
    project.set_setting("augment", saved.to_dict())
    project.set_setting("preprocess", PreprocessSpec(image_size=48, color="rgb").to_dict())
    config, _ = train_config(project, args)
    assert config.augment == saved and config.preprocess == PreprocessSpec(image_size=48, color="rgb")
    args.image_size, args.color, args.augment = 24, "gray", False
    config, _ = train_config(project, args)
    assert config.preprocess == PreprocessSpec(image_size=24, color="gray") and not config.use_augment
    project.close()


TF_NOISE = ("cuFFT", "cuDNN", "cuBLAS", "cuInit", "computation placer", "absl::InitializeLog", "oneDNN",
            "cpu_feature_guard", "rebuild TensorFlow", "cuda drivers")


def test_train_and_evaluate_print_no_tensorflow_start_up_lines(project_dir: Path, json_run: list[dict]) -> None:
    """Issue 23: TensorFlow's C++ start-up log is kept off stderr; our own progress stays; --verbose shows it."""
    train = subprocess.run(_cli("train", str(project_dir), "--arch", "dense", "--epochs", "1", *FAST),
                           capture_output=True, text=True, env=_env(), timeout=300)
    evaluate = subprocess.run(_cli("evaluate", str(project_dir)), capture_output=True, text=True, env=_env(),
                              timeout=300)
    for proc in (train, evaluate):
        assert proc.returncode == 0, proc.stderr[-2000:]
        noise = [line for line in proc.stderr.splitlines() if any(word in line for word in TF_NOISE)]
        assert noise == [], noise
    assert "training dense" in train.stderr and "finished:" in train.stderr  # our own progress lines
    missing = subprocess.run(_cli("evaluate", str(project_dir / "nope")), capture_output=True, text=True,
                             env=_env(), timeout=120)
    assert missing.returncode == 1 and missing.stderr.startswith("edge-studio evaluate: error:")
    verbose = subprocess.run(_cli("evaluate", str(project_dir), "--verbose"), capture_output=True, text=True,
                             env=_env(), timeout=300)
    assert verbose.returncode == 0 and any(word in verbose.stderr for word in TF_NOISE)
