"""Report numbers against scikit-learn on a known prediction set; evaluate(), compare_runs(), predict_files()."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from studio.core.evaluation.predict import predict_files
from studio.core.evaluation.report import build_report, classification_metrics, compare_runs, evaluate, load_report
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project, ProjectError
from studio.core.specs import PreprocessSpec, TrainConfig
from studio.core.training.run import train

LABELS = ["cat", "dog", "fox"]
Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]


def test_metrics_match_hand_computed_values() -> None:
    r = classification_metrics(Y_TRUE, Y_PRED, LABELS)
    assert r["accuracy"] == pytest.approx(6 / 10)
    # cat: tp 2, predicted 3, actual 4 -> p 2/3, r 1/2; dog: tp 2, predicted 4, actual 3; fox: tp 2, 3, 3.
    cat = r["per_class"]["cat"]
    assert cat["precision"] == pytest.approx(2 / 3) and cat["recall"] == pytest.approx(0.5)
    assert cat["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5)) and cat["support"] == 4
    dog = r["per_class"]["dog"]
    assert dog["precision"] == pytest.approx(0.5) and dog["recall"] == pytest.approx(2 / 3)
    fox = r["per_class"]["fox"]
    assert fox["precision"] == pytest.approx(2 / 3) and fox["recall"] == pytest.approx(2 / 3)
    f1s = [r["per_class"][n]["f1"] for n in LABELS]
    assert r["macro_f1"] == pytest.approx(np.mean(f1s))
    assert r["weighted avg"]["f1"] == pytest.approx(np.average(f1s, weights=[4, 3, 3]))
    assert r["confusion_matrix"] == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    assert r["labels"] == LABELS


def test_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import classification_report, confusion_matrix, f1_score

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300).tolist()
    y_pred = [t if rng.random() < 0.7 else int(rng.integers(0, 5)) for t in y_true]
    names = [f"c{i}" for i in range(5)]
    ours = classification_metrics(y_true, y_pred, names)
    ref = classification_report(y_true, y_pred, target_names=names, output_dict=True)
    assert ours["accuracy"] == pytest.approx(ref["accuracy"])
    assert ours["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    for n in names:
        assert ours["per_class"][n]["f1"] == pytest.approx(ref[n]["f1-score"])
        assert ours["per_class"][n]["support"] == ref[n]["support"]
    assert ours["confusion_matrix"] == confusion_matrix(y_true, y_pred).tolist()


def test_absent_class_gets_zero_scores_not_an_error() -> None:
    r = classification_metrics([0, 0, 1], [0, 1, 1], ["a", "b", "c"])
    assert r["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert len(r["confusion_matrix"]) == 3


def test_misclassified_lists_each_mistake_with_confidence() -> None:
    probs = np.eye(3)[Y_PRED] * 0.5 + 0.5 / 3
    probs[2] = [0.1, 0.8, 0.1]
    report = build_report(Y_TRUE, probs, LABELS, list(range(100, 110)), [f"/x/{i}.png" for i in range(10)])
    wrong = report["misclassified"]
    assert len(wrong) == 4
    assert wrong[0] == {"image_id": 102, "path": "/x/2.png", "true": "cat", "predicted": "dog",
                        "confidence": pytest.approx(0.8)}
    assert {w["image_id"] for w in wrong} == {102, 103, 106, 109}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    p, _ = create_demo_project(tmp_path_factory.mktemp("eval") / "digits", limit=200)
    run = train(p, TrainConfig(arch="cnn", preprocess=PreprocessSpec(image_size=16), epochs=3, seed=1))
    assert run.status == "finished"
    return p, run.id


def test_evaluate_reproduces_the_training_report(trained: tuple[Project, str]) -> None:
    project, run_id = trained
    saved = load_report(project, run_id)
    again = evaluate(project)  # latest finished run
    assert again["run"] == run_id
    assert again["accuracy"] == pytest.approx(saved["accuracy"])
    assert again["macro_f1"] == pytest.approx(saved["macro_f1"])
    for key in ("confusion_matrix", "labels", "misclassified"):
        assert again[key] == saved[key], key
    assert sum(map(sum, again["confusion_matrix"])) == again["n"] == len(project.labelled_split("test")[0])
    assert json.loads((project.run_dir(run_id) / "report.json").read_text())["run"] == run_id


def test_compare_runs_has_one_row_per_run(trained: tuple[Project, str]) -> None:
    project, run_id = trained
    rows = compare_runs(project)
    row = next(r for r in rows if r["run"] == run_id)
    assert row["arch"] == "cnn" and row["augment"] is False and row["status"] == "finished"
    for key in ("params", "weight_bytes", "best_val_accuracy", "test_accuracy", "macro_f1", "train_seconds"):
        assert row[key] is not None, key


def test_predict_files_agrees_with_the_report(trained: tuple[Project, str], tmp_path) -> None:
    project, run_id = trained
    run = project.run(run_id)
    images = [im for im in project.images(split="test")][:6]
    paths = [project.image_path(im) for im in images]
    # A copy as a JPEG of another size still predicts (any image file on disk).
    rgb = cv2.imread(str(paths[0]))
    cv2.imwrite(str(tmp_path / "big.jpg"), cv2.resize(rgb, (100, 80)))
    out = predict_files(project, run, [*paths, tmp_path / "big.jpg"])
    assert len(out) == 7
    for o in out:
        assert set(o["probabilities"]) == set(project.class_names())
        assert sum(o["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert o["label"] == max(o["probabilities"], key=o["probabilities"].get)
    report = load_report(project, run_id)
    wrong = {w["image_id"]: w["predicted"] for w in report["misclassified"]}
    for im, o in zip(images, out):
        assert o["label"] == wrong.get(im.id, im.label)
    with pytest.raises(ProjectError, match="cannot read image"):
        (tmp_path / "bad.png").write_bytes(b"not an image")
        predict_files(project, run, [tmp_path / "bad.png"])
