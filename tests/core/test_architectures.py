"""Each registered architecture builds, has the documented layers and predicts one softmax per image."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.training import architectures


@pytest.mark.parametrize("name", architectures.names())
@pytest.mark.parametrize("shape", [(32, 32, 1), (8, 8, 3), (64, 64, 3)])
def test_output_shape_is_one_softmax_per_image(name: str, shape: tuple[int, int, int]) -> None:
    model = architectures.build(name, shape, 7)
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    y = np.asarray(model(x, training=False))
    assert y.shape == (3, 7)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_reference_architectures_have_the_original_layers() -> None:
    def kinds(name: str) -> list[str]:
        model = architectures.build(name, (32, 32, 1), 10)
        return [f"{type(layer).__name__}:{getattr(layer, 'units', getattr(layer, 'filters', ''))}"
                for layer in model.layers]

    assert kinds("dense") == ["Flatten:", "Dense:150", "Dense:150", "Dense:10"]
    convs = ["Conv2D:32", "MaxPooling2D:", "Conv2D:64", "MaxPooling2D:", "Conv2D:128", "MaxPooling2D:"]
    assert kinds("cnn") == [*convs, "Flatten:", "Dense:100", "Dense:10"]
    assert kinds("cnn_dropout") == [*convs, "Dropout:", "Flatten:", "Dense:250", "Dense:10"]


@pytest.mark.parametrize("size", [32, 64, 128])
def test_compact_is_at_least_ten_times_smaller_than_cnn_dropout(size: int) -> None:
    compact = architectures.describe(architectures.build("compact", (size, size, 3), 10))
    big = architectures.describe(architectures.build("cnn_dropout", (size, size, 3), 10))
    assert compact["params"] * 10 <= big["params"]
    assert compact["weight_bytes"] == 4 * compact["params"]


def test_describe_counts_every_weight() -> None:
    model = architectures.build("dense", (8, 8, 1), 2)
    # 64*150+150 + 150*150+150 + 150*2+2
    assert architectures.describe(model)["params"] == 64 * 150 + 150 + 150 * 150 + 150 + 150 * 2 + 2
    assert model.count_params() == architectures.describe(model)["params"]


def test_models_hold_inference_layers_only() -> None:
    from keras import layers

    for name in architectures.names():
        model = architectures.build(name, (16, 16, 1), 3)
        for layer in model.layers:
            assert not isinstance(layer, (layers.Rescaling, layers.Resizing, layers.RandomFlip,
                                          layers.RandomRotation, layers.RandomZoom))


def test_unknown_architecture_and_single_class_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        architectures.build("resnet9000", (32, 32, 1), 10)
    with pytest.raises(ValueError, match="2 classes"):
        architectures.build("cnn", (32, 32, 1), 1)
