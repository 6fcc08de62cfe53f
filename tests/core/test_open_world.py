"""Open world: the known-vs-unknown score (numpy and in the graph), its calibration, the "other things"
pictures, and ``predict --json``'s ``unsure`` / ``known_score`` on a small trained run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.open_world_data import letters, other_images
from studio.core.evaluation import known_score
from studio.core.evaluation.unsure import DEFAULT_KEEP, calibrate_score, check_keep, refused_level
from studio.core.project import others
from studio.core.project.store import Project, ProjectError
from tests.web.fixtures import TrainedRun, train_run

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


# ----- the score ----------------------------------------------------------------------------------------
def test_cosine_nearest_is_the_similarity_to_the_closest_training_image() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(40, 300))
    fitted = known_score.fit(known_score.COSINE, train, np.arange(40) % 4)  # 40 images: the basis is exact
    query = np.vstack([train[:3] * 2.5, rng.normal(size=(5, 300))])
    expected = (known_score.unit(query) @ known_score.unit(train).T).max(axis=1)
    assert np.allclose(fitted.score(query), expected, atol=1e-5)
    assert np.allclose(fitted.score(query)[:3], 1.0, atol=1e-5)  # a training image (any scale) scores 1
    # Leave one out: each training image against the others, never against itself.
    sims = known_score.unit(train) @ known_score.unit(train).T
    np.fill_diagonal(sims, -1)
    assert np.allclose(fitted.train_scores, sims.max(axis=1), atol=1e-5)


def test_many_training_images_become_few_prototypes_in_a_small_basis() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 1280))
    labels = np.repeat(np.arange(3), 200)
    train = centres[labels] + 0.3 * rng.normal(size=(600, 1280))
    fitted = known_score.fit(known_score.COSINE, train, labels, max_prototypes=30, basis=16)
    assert fitted.basis.shape == (1280, 16) and fitted.weights.shape == (16, 30)
    near, far = centres[labels[:5]] + 0.3 * rng.normal(size=(5, 1280)), rng.normal(size=(5, 1280))
    assert fitted.score(near).min() > fitted.score(far).max()


@pytest.mark.parametrize("method", [known_score.COSINE, known_score.MAHALANOBIS, known_score.MAX_LOGIT])
def test_the_graph_computes_the_numpy_score(method: str) -> None:
    from studio.core.training import architectures

    network = architectures.build("cnn", (12, 12, 1), 3)
    x = np.random.default_rng(2).random((24, 12, 12, 1)).astype(np.float32)
    feats, probs = known_score.features_of(network, x)
    fitted = known_score.fit(method, feats[:16], np.arange(16) % 3, head=known_score.head_weights(network),
                             basis=8)
    out = known_score.scored_network(network, fitted)(x[16:])
    assert set(out) == {known_score.PROBABILITIES_OUTPUT, known_score.SCORE_OUTPUT}
    assert np.allclose(np.asarray(out["probabilities"]), probs[16:], atol=1e-6)  # unchanged
    assert np.allclose(np.asarray(out["known_score"])[:, 0], fitted.score(feats[16:]), atol=1e-4)


# ----- the threshold ------------------------------------------------------------------------------------
def test_threshold_keeps_the_asked_share_of_known_images() -> None:
    val = np.linspace(0.0, 1.0, 101)
    # 5 % less one standard error of a share over 101 images (2.2 points): 2.8 % of them below the threshold.
    assert refused_level(0.95, 101) == pytest.approx(0.05 - np.sqrt(0.95 * 0.05 / 101))
    t = calibrate_score(val, [], 0.95)
    assert t.threshold == pytest.approx(0.02) and t.kept_validation == pytest.approx(99 / 101)
    # The training scores (leave one out) join: the lower of the two thresholds keeps more known images.
    assert calibrate_score(val, np.linspace(-1, 1, 201), 0.95).threshold == pytest.approx(-0.94)
    assert refused_level(0.95, 100_000) == pytest.approx(0.05, abs=0.001)  # many images: the plain quantile
    assert calibrate_score(val, [], 1.0).threshold < -1  # 100 %: never "not one of the classes"
    measured = calibrate_score(val, [], 0.9, others=[0.01, 0.02, 0.5, 0.03])
    assert measured.others == 4 and measured.others_refused == pytest.approx(0.75)
    assert DEFAULT_KEEP == 0.95


@pytest.mark.parametrize("bad", [0.2, 1.5, float("nan")])
def test_keep_outside_half_to_one_is_refused(bad: float) -> None:
    with pytest.raises(ProjectError, match="between 0.5 and 1"):
        check_keep(bad)


# ----- "other things" -----------------------------------------------------------------------------------
def test_other_things_are_stored_but_never_a_class(tmp_path: Path) -> None:
    folder = tmp_path / "room"
    other_images(folder, 4)
    (folder / "broken.png").write_bytes(b"not an image")
    project = Project.create(tmp_path / "p")
    report = others.add_paths(project, [folder])
    assert (report.added, report.duplicates, len(report.rejected)) == (4, 0, 1)
    assert others.add_paths(project, [folder]).duplicates == 4
    assert project.class_names() == [] and project.counts_total() == 0
    files = others.paths(project)
    assert len(files) == 4 and all(f.is_file() for f in files)
    project.close()
    with Project.open(tmp_path / "p") as again:
        assert others.count(again) == 4


def test_cli_imports_a_folder_as_not_a_class(tmp_path: Path) -> None:
    other_images(tmp_path / "desk", 3)
    out = _cli("import", str(tmp_path / "p"), str(tmp_path / "desk"), "--not-a-class", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == 3 and json.loads(out.stdout)["not_a_class"] == 3
    info = json.loads(_cli("info", str(tmp_path / "p"), "--json").stdout)
    assert info["classes"] == {} and info["images"] == 0
    bad = _cli("import", str(tmp_path / "p"), str(tmp_path / "desk"), "--not-a-class", "--label", "x")
    assert bad.returncode == 1 and "no label" in bad.stderr


# ----- a trained run ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    return train_run(tmp_path_factory.mktemp("open-world") / "digits", arch="cnn", image_size=16, epochs=6,
                     limit=400)


def test_predict_json_says_unsure_and_known_score(small_run: TrainedRun, tmp_path: Path) -> None:
    from studio.core.evaluation import unsure
    from studio.core.evaluation.predict import predict_files

    project, run = small_run.project, small_run.project.run(small_run.run_id)
    known, _, _ = project.labelled_split("test")
    unknown = letters(tmp_path / "letters", 12)
    out = _cli("predict", str(project.root), *map(str, [*known[:20], *unknown]), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    preds = result["predictions"]
    assert all(isinstance(p["unsure"], bool) and isinstance(p["known_score"], float) for p in preds)
    rule = unsure.calibrate(project, run)
    assert result["unsure"]["known_score"]["threshold"] == pytest.approx(rule.known.threshold, abs=1e-6)
    python = predict_files(project, run, [*known[:20], *unknown])
    assert [p["unsure"] for p in preds] == [rule.unsure(p) for p in python]
    # Letters look less like the digits than digits do.
    assert np.mean([p["known_score"] for p in preds[20:]]) < np.mean([p["known_score"] for p in preds[:20]])
    everything = _cli("predict", str(project.root), *map(str, unknown), "--keep-known", "1", "--unsure-threshold",
                      "0", "--json")
    assert not any(p["unsure"] for p in json.loads(everything.stdout)["predictions"])


def test_threshold_comes_from_validation_never_test(small_run: TrainedRun) -> None:
    from studio.core.evaluation import unsure

    project, run = small_run.project, small_run.project.run(small_run.run_id)
    rule = unsure.calibrate(project, run, keep=0.9)
    n_val = len(project.labelled_split("val")[0])
    assert rule.known.n_validation == n_val and rule.known.keep == 0.9
    assert rule.known.n_training == len(project.labelled_split("train")[0])
    assert rule.known.kept_validation >= 0.9
    unsure.save_keep(project, 0.8)
    assert unsure.calibrate(project, run).known.keep == 0.8  # the project's choice is the default
    unsure.save_keep(project, DEFAULT_KEEP)


def test_other_things_are_measured_at_the_threshold(small_run: TrainedRun, tmp_path: Path) -> None:
    from studio.core.evaluation import unsure

    project, run = small_run.project, small_run.project.run(small_run.run_id)
    others.add_paths(project, [letters(tmp_path / "l", 10)[0].parent])
    try:
        rule = unsure.calibrate(project, run)
        assert rule.known.others == 10 and 0.0 <= rule.known.others_refused <= 1.0
    finally:
        others.clear(project)


def test_evaluate_reports_what_the_rule_does_on_the_test_split(small_run: TrainedRun) -> None:
    from studio.core.evaluation.report import evaluate

    report = evaluate(small_run.project, small_run.run_id)
    world = report["open_world"]
    assert world["n_test"] == report["n"] and 0.0 < world["answered"] <= 1.0
    assert world["answered_accuracy"] >= report["accuracy"] - 0.05  # refusing mostly drops unsure answers
    print(f"answered {world['answered']:.3f}, accuracy of answered {world['answered_accuracy']:.3f} "
          f"(all: {report['accuracy']:.3f})")


def test_a_project_image_goes_through_a_runs_model_once(small_run: TrainedRun, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The validation, "other things" and test images' outputs are kept with the run (runs/<id>/outputs.npz):
    the calibration of every export, estimate and evaluation after the first reuses them."""
    import shutil
    from dataclasses import replace

    from studio.core.evaluation import open_world, run_outputs
    from studio.core.evaluation.predict import predict_files
    from studio.core.project import caches

    project, run = small_run.project, small_run.project.run(small_run.run_id)
    folder = project.run_folder(run)
    open_world.constants(project, run)  # fitted on the training images once (not counted below)
    folder.outputs_path.unlink(missing_ok=True)
    computed: list[int] = []
    real = open_world.preprocessed

    def counted(paths: list, run_: object) -> np.ndarray:
        computed.append(len(paths))
        return real(paths, run_)

    monkeypatch.setattr(open_world, "preprocessed", counted)
    val, _, _ = project.labelled_split("val")
    test, _, _ = project.labelled_split("test")
    first = predict_files(project, run, val)
    assert computed == [len(val)] and folder.outputs_path.is_file()
    # Again with three new images: only those go through the model; the kept ones read back exactly.
    again = predict_files(project, run, [*val, *test[:3]])
    assert computed == [len(val), 3]
    assert again[:len(val)] == first
    # A copy outside the project is not a project image: computed every time, the same numbers.
    outside = [Path(shutil.copy(val[i], tmp_path / f"copy{i}{val[i].suffix}")) for i in range(2)]
    copies = predict_files(project, run, outside)
    assert computed[-1] == 2
    for c, f in zip(copies, first[:2]):
        assert c["known_score"] == pytest.approx(f["known_score"], abs=1e-5)
        assert all(c["probabilities"][k] == pytest.approx(v, abs=1e-5) for k, v in f["probabilities"].items())
    # Other constants (fitted again): the kept outputs are another model's, so none is used.
    original = folder.known_score_path.read_bytes()
    fitted = known_score.KnownScoreFit.load(folder.known_score_path)
    key = run_outputs.model_key(project, run)
    try:
        replace(fitted, train_scores=fitted.train_scores + 0.01).save(folder.known_score_path, folder.root)
        assert run_outputs.model_key(project, run) != key
        predict_files(project, run, test[:3])
        assert computed[-1] == 3
    finally:
        folder.known_score_path.write_bytes(original)
    # A damaged file: one notice, computed again and rewritten.
    notices: list[str] = []
    monkeypatch.setattr(caches, "NOTICE", [notices.append])
    folder.outputs_path.write_bytes(b"PK\x03\x04 not a zip")
    fresh = predict_files(project, run, val[:4])
    assert computed[-1] == 4 and len(notices) == 1 and "not used" in notices[0]
    assert [p["label"] for p in fresh] == [p["label"] for p in first[:4]]
    kept = run_outputs.read(project, run, len(folder.labels()))
    assert len(kept) == 4  # rewritten, readable
    # Only images the project holds are kept (a deleted image's outputs go at the next write).
    gone = "0" * 64
    run_outputs.write(project, run, {**kept, gone: next(iter(kept.values()))}, len(folder.labels()))
    assert set(run_outputs.read(project, run, len(folder.labels()))) == set(kept)
