"""The pretrained backbone: restricted .pth reader, sha256 pin, conversion cache, ImageNet classes."""

from __future__ import annotations

import io
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from studio.core.training import backbone
from studio.core.training.backbone import BackboneError

# ImageNet-1k class indices (standard order). Buildings: 442 bell cote, 449 boathouse, 497 church,
# 663 monastery, 668 mosque, 698 palace, 832 stupa, 858 tile roof, 873 triumphal arch.
# Flowers: 984 rapeseed, 985 daisy, 986 yellow lady's slipper. Insects: 300..326 (tiger beetle .. lycaenid).
BUILDINGS = {442, 449, 497, 663, 668, 698, 832, 858, 873}
FLOWERS_OR_INSECTS = {984, 985, 986} | set(range(300, 327))


def test_reads_the_pinned_file_without_torch() -> None:
    source = backbone.weights_source()
    assert backbone.sha256_file(source) == backbone.WEIGHTS_SHA256
    state = backbone.read_state_dict(source)
    assert len(state) == 296
    assert sum(a.size for a in state.values()) == backbone.WEIGHTS_NUMBERS
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert "torch" not in __import__("sys").modules


class _Evil:
    def __reduce__(self):  # noqa: ANN204 - what a hostile pickle would do
        return (os.system, ("touch /tmp/i13-should-never-exist",))


def _legacy_file(payload: object) -> bytes:
    out = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
        pickle.dump(header, out, protocol=2)
    pickle.dump(payload, out, protocol=2)
    pickle.dump([], out, protocol=2)
    return out.getvalue()


def test_refuses_any_other_global_without_calling_it(tmp_path: Path) -> None:
    bad = tmp_path / "evil.pth"
    bad.write_bytes(_legacy_file({"w": _Evil()}))
    with pytest.raises(BackboneError, match=r"posix\.system|os\.system"):
        backbone.read_state_dict(bad)
    assert not Path("/tmp/i13-should-never-exist").exists()
    truncated = tmp_path / "short.pth"
    truncated.write_bytes(backbone.weights_source().read_bytes()[:50_000])
    with pytest.raises(BackboneError, match="truncated|damaged"):
        backbone.read_state_dict(truncated)


def test_altered_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    altered = tmp_path / backbone.WEIGHTS_FILE
    data = bytearray(backbone.weights_source().read_bytes())
    data[-1] ^= 1
    altered.write_bytes(bytes(data))
    monkeypatch.setenv(backbone.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(backbone, "weights_source", lambda: altered)
    with pytest.raises(BackboneError, match="sha256"):
        backbone.converted_weights()


def test_cache_is_written_once_and_a_damaged_cache_is_rebuilt(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backbone.CACHE_ENV, str(tmp_path))
    steps: list[tuple[int, int]] = []
    first = backbone.converted_weights(lambda d, t: steps.append((d, t)))
    target = tmp_path / backbone.CONVERTED_FILE
    assert target.is_file() and steps[0] == (0, 3) and steps[-1] == (3, 3)
    assert not list(tmp_path.glob("*.part"))
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])  # damaged
    again = backbone.converted_weights()
    assert set(again) == set(first)
    assert all(np.array_equal(again[k], first[k]) for k in first)
    assert backbone._load_converted(target) is not None


def test_imagenet_top1_of_the_scikit_learn_photos() -> None:
    """Pins the converted network's top-1 class for china.jpg and flower.jpg at 224 px through the studio's
    own preprocessing (any error in the conversion — layout, padding, scaling — turns these into noise)."""
    from sklearn.datasets import load_sample_images

    from studio.core.preprocess import preprocess
    from studio.core.specs import PreprocessSpec

    images = load_sample_images().images  # china.jpg, flower.jpg
    model = backbone.build((224, 224, 3), include_top=True)
    x = np.asarray(preprocess(np.stack(images), PreprocessSpec(224, "rgb")))
    top1 = model.predict(x, verbose=0).argmax(axis=1).tolist()
    assert top1 == [442, 985]  # bell cote; daisy
    assert top1[0] in BUILDINGS and top1[1] in FLOWERS_OR_INSECTS


def test_cache_folder_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backbone.CACHE_ENV, str(tmp_path / "x"))
    assert backbone.cache_dir() == tmp_path / "x"
    shutil.rmtree(tmp_path / "x", ignore_errors=True)
