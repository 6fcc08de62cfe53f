"""Caches read back from a project folder received from someone else: the features cache, the pretrained
weights cache, ``health.json``. Each bad file is said in one line and rebuilt; none costs memory or time
before it is refused; none is opened blocking.

The in-process tests read the caches directly (no TensorFlow); the ``slow`` ones run the real CLI (the
pretrained backbone) in a child process under the suite's universal checks.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from studio.core.health import check
from studio.core.health.features import HEALTH_IMAGE_SIZE
from studio.core.project import caches as cache_check
from studio.core.project.store import Project
from studio.core.training import backbone, features
from tests.core.helpers import make_class_folder
from tests.hostile.conftest import BACKBONE_RSS_MB
from tests.hostile.fixtures import fifo, sparse_file

slow = pytest.mark.slow  # the real backbone in a child process


@pytest.fixture
def notices() -> Iterator[list[str]]:
    seen: list[str] = []
    cache_check.NOTICE.append(seen.append)
    try:
        yield seen
    finally:
        cache_check.NOTICE.remove(seen.append)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    from studio.core.images.importer import import_paths

    make_class_folder(tmp_path / "in", {"a": 6, "b": 6}, size=16)
    with Project.create(tmp_path / "p") as p:
        import_paths(p, [tmp_path / "in"])
        yield p


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array)


def _shas(project: Project) -> np.ndarray:
    return np.asarray(sorted(project.known_hashes()), dtype="U64")


def _bad_feature_files(project: Project, path: Path) -> dict[str, object]:
    shas = _shas(project)
    n, d = len(shas), backbone.FEATURE_DIM
    good = np.ones((n, d), np.float32)
    return {
        "a .npy under the cache's name": lambda: _npy(path, good),
        "flattened vectors": lambda: _npz(path, sha256=shas, vectors=good.ravel()),
        "string vectors": lambda: _npz(path, sha256=shas, vectors=np.full((n, d), "x")),
        "int8 vectors": lambda: _npz(path, sha256=shas, vectors=np.ones((n, d), np.int8)),
        "complex vectors": lambda: _npz(path, sha256=shas, vectors=good.astype(np.complex64)),
        "NaN vectors": lambda: _npz(path, sha256=shas, vectors=np.full((n, d), np.nan, np.float32)),
        "infinite vectors": lambda: _npz(path, sha256=shas, vectors=np.full((n, d), np.inf, np.float32)),
        "hashes as numbers": lambda: _npz(path, sha256=np.arange(n), vectors=good),
        "rows that disagree": lambda: _npz(path, sha256=shas[:-1], vectors=good),
        "another width": lambda: _npz(path, sha256=shas, vectors=good[:, :100]),
        "an extra array": lambda: _npz(path, sha256=shas, vectors=good, extra=good),
        "random bytes": lambda: path.write_bytes(os.urandom(4096)),
        "a FIFO": lambda: fifo(path),
    }


def test_every_bad_features_cache_is_refused_in_one_line_and_read_as_empty(project: Project, notices) -> None:
    path = features.cache_file(project, 224)
    good = _npz(path, sha256=_shas(project), vectors=np.ones((len(_shas(project)), backbone.FEATURE_DIM), np.float32))
    assert len(features.read_cache(project, good)) == 12 and not notices
    for what, make in _bad_feature_files(project, path).items():
        path.unlink(missing_ok=True)
        make()
        started = time.monotonic()
        assert features.read_cache(project, path) == {}, what
        assert time.monotonic() - started < 2, what
        assert len(notices) == 1 and "computing the features again" in notices[0], (what, notices)
        assert "\n" not in notices.pop()


def test_a_compressed_cache_that_would_inflate_is_refused_before_decompressing(project: Project, notices) -> None:
    """200,000 zero vectors (1 GB decompressed) in a ~1 MB file: refused from the zip directory."""
    path = features.cache_file(project, 224)
    zeros_features(path, 200_000)
    assert path.stat().st_size < 5 * 2**20
    started = time.monotonic()
    assert features.read_cache(project, path) == {}
    assert time.monotonic() - started < 1
    assert "MiB" in notices[0]


def zeros_features(path: Path, rows: int) -> Path:
    """A features file of ``rows`` zero vectors, deflated (streamed: never held in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    d = backbone.FEATURE_DIM
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("sha256.npy", "w") as fh:
            np.lib.format.write_array(fh, np.asarray(["0" * 64] * 4, dtype="U64"))
        with zf.open("vectors.npy", "w", force_zip64=True) as fh:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (rows, d)})
            fh.write(header.getvalue())
            chunk = bytes(1 << 20)
            left = rows * d * 4
            while left:
                fh.write(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
    return path


class _Source:
    name = "test-source"
    near_duplicate_threshold = 0.9


@pytest.mark.parametrize("content", [b"[]", b"{}", b'"text"', b"null", b"12", b"{\"images\": \"many\"}",
                                     b"\xff\xfe", b"[" * 100_000,
                                     json.dumps({"fingerprint": 1, "feature_source": [], "images": 1.5}).encode()])
def test_health_json_of_any_shape_is_refused_in_one_line(project: Project, notices, content: bytes) -> None:
    (project.root / check.CACHE_FILE).write_bytes(content)
    assert check.cached_report(project, _Source()) is None
    assert len(notices) == 1 and "checking again" in notices[0]


def test_health_json_entries_of_odd_types_are_refused(project: Project, notices) -> None:
    report = check.HealthReport("f", "s", 1, 1, 0.1, 0.9).to_json()
    for field, value in [("duplicates", [{"a": "x"}]), ("mislabels", [[1, 2]]), ("classes", {"a": 5}),
                         ("warnings", [3]), ("notes", []), ("images", True), ("duplicate_groups", [{"keep": 1}])]:
        (project.root / check.CACHE_FILE).write_text(json.dumps({**report, field: value}))
        assert check.cached_report(project, _Source()) is None, field
    assert len(notices) == 7


def test_a_sparse_2_gib_health_json_and_a_fifo_are_never_read(project: Project, notices) -> None:
    path = project.root / check.CACHE_FILE
    sparse_file(path, 2 * 2**30, b"{")
    started = time.monotonic()
    assert check.cached_report(project, _Source()) is None
    path.unlink()
    fifo(path)
    done = threading.Event()
    threading.Thread(target=lambda: (check.cached_report(project, _Source()), done.set()), daemon=True).start()
    assert done.wait(5), "a FIFO health.json blocked the reader"
    assert time.monotonic() - started < 5
    assert len(notices) == 2 and "too large" in notices[0] and "FIFO" in notices[1]


def test_a_nan_weights_cache_is_refused_and_converted_again(tmp_path: Path, notices) -> None:
    arrays = backbone.converted_weights()
    path = tmp_path / backbone.CONVERTED_FILE
    _npz(path, **arrays)
    assert backbone._load_converted(path) is not None and not notices
    poisoned = dict(arrays)
    poisoned["head_conv/0"] = np.full_like(arrays["head_conv/0"], np.nan)
    _npz(path, **poisoned)
    assert backbone._load_converted(path) is None
    _npz(path, **{k: v.astype(np.float16) for k, v in arrays.items()})
    assert backbone._load_converted(path) is None
    assert len(notices) == 2 and all("converting the weights again" in n for n in notices)


# ----- the real CLI ---------------------------------------------------------------------------------
@slow
def test_health_rebuilds_a_nan_features_cache_and_ignores_a_fifo_report(cli, project: Project) -> None:
    path = features.cache_file(project, HEALTH_IMAGE_SIZE)
    n = len(_shas(project))
    _npz(path, sha256=_shas(project), vectors=np.full((n, backbone.FEATURE_DIM), np.nan, np.float32))
    fifo(project.root / check.CACHE_FILE)
    r = cli("health", project.root, "--json", timeout=300, rss_limit_mb=BACKBONE_RSS_MB)
    assert r.rc == 0, r.err[-2000:]
    assert r.report["images"] == 12
    assert "features cache" in r.err and "NaN" in r.err
    with np.load(path) as npz:
        assert np.isfinite(npz["vectors"]).all() and npz["vectors"].shape == (n, backbone.FEATURE_DIM)
    assert (project.root / check.CACHE_FILE).is_file()  # the FIFO replaced by the report


@slow
def test_health_on_an_inflating_cache_and_a_sparse_report_stays_small(cli, project: Project) -> None:
    zeros_features(features.cache_file(project, HEALTH_IMAGE_SIZE), 200_000)
    sparse_file(project.root / check.CACHE_FILE, 2 * 2**30, b"{")
    r = cli("health", project.root, "--json", timeout=300, rss_limit_mb=BACKBONE_RSS_MB)
    assert r.rc == 0 and r.report["images"] == 12
    assert "too large" in r.err and "MiB" in r.err


@slow
def test_health_fresh_computes_the_features_again(cli, project: Project) -> None:
    path = features.cache_file(project, HEALTH_IMAGE_SIZE)
    shas = _shas(project)
    planted = np.random.default_rng(0).random((len(shas), backbone.FEATURE_DIM)).astype(np.float32)
    _npz(path, sha256=shas, vectors=planted)
    r = cli("health", project.root, "--json", "--fresh", timeout=300, rss_limit_mb=BACKBONE_RSS_MB)
    assert r.rc == 0
    with np.load(path) as npz:
        assert not np.allclose(npz["vectors"], planted)


@slow
def test_pretrained_training_on_a_nan_features_cache_learns_real_numbers(cli, project: Project) -> None:
    path = features.cache_file(project, 32)
    n = len(_shas(project))
    _npz(path, sha256=_shas(project), vectors=np.full((n, backbone.FEATURE_DIM), np.nan, np.float32))
    r = cli("train", project.root, "--arch", "pretrained", "--image-size", "32", "--epochs", "2", timeout=400,
            rss_limit_mb=BACKBONE_RSS_MB)
    assert r.rc == 0, r.err[-2000:]
    assert "loss nan" not in r.err.lower() and "finished" in r.err
    assert "features cache" in r.err and "NaN" in r.err
