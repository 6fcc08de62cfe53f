"""Feature cache: one backbone vector per image and size, cached beside the project, recomputed only when
the image (its hash) or the size changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.events import CancelToken
from studio.core.images.importer import import_paths
from studio.core.project.store import Project, ProjectError
from studio.core.training import features
from studio.core.training.features import FeaturesCancelled, image_features
from tests.core.helpers import make_class_folder, write_image

SIZE = 32  # the backbone runs at any size; 32 px keeps the test fast


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "p")
    import_paths(p, make_class_folder(tmp_path / "src", {"a": 3, "b": 2}, size=40))
    return p


def test_vectors_match_the_backbone_and_are_cached(project: Project) -> None:
    from studio.core.images.imaging import load_rgb
    from studio.core.preprocess import preprocess
    from studio.core.specs import PreprocessSpec

    seen: list[tuple[int, int]] = []
    got = image_features(project, image_size=SIZE, progress=lambda d, t: seen.append((d, t)))
    images = project.images()
    assert got.ids.dtype == np.int64 and got.ids.tolist() == [im.id for im in images]
    assert got.vectors.dtype == np.float32 and got.vectors.shape == (5, 1280)
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    x = np.stack([np.asarray(preprocess(load_rgb(project.image_path(im)), PreprocessSpec(SIZE, "rgb")))
                  for im in images])
    direct = features.feature_model(SIZE).predict(x, verbose=0)
    np.testing.assert_allclose(got.vectors, direct, atol=1e-4)
    assert features.cache_file(project, SIZE).is_file()

    seen.clear()
    again = image_features(project, [images[3].id, images[0].id], image_size=SIZE,
                           progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 2)]  # nothing computed: all from the cache
    np.testing.assert_array_equal(again.vectors, got.vectors[[3, 0]])
    assert again.ids.tolist() == [images[3].id, images[0].id]


def test_new_image_or_new_size_is_computed_and_trash_is_left_out(project: Project, tmp_path: Path) -> None:
    image_features(project, image_size=SIZE)
    first = project.images()
    project.trash_images([first[0].id])
    import_paths(project, [write_image(tmp_path / "new", seed=77, size=40)])
    seen: list[tuple[int, int]] = []
    got = image_features(project, image_size=SIZE, progress=lambda d, t: seen.append((d, t)))
    assert len(got.ids) == 5 and first[0].id not in got.ids.tolist()
    assert seen[0] == (4, 5)  # only the new image was missing
    seen.clear()
    image_features(project, image_size=SIZE + 8, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 5) and features.cache_file(project, SIZE + 8).is_file()


def test_damaged_cache_is_rebuilt_and_cancel_keeps_what_was_done(project: Project) -> None:
    path = features.cache_file(project, SIZE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a zip")
    token = CancelToken()
    token.cancel()
    with pytest.raises(FeaturesCancelled):
        image_features(project, image_size=SIZE, cancel=token)
    good = image_features(project, image_size=SIZE)
    assert np.isfinite(good.vectors).all() and good.vectors.shape == (5, 1280)
    with pytest.raises(ProjectError, match="no image with id 999"):
        image_features(project, [999], image_size=SIZE)
