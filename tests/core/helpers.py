"""Image files generated for tests (no downloads)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, seed: int, size: int = 32, ext: str = ".png") -> Path:
    """A distinct random image (by seed) written with OpenCV."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    path = path.with_suffix(ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def make_class_folder(root: Path, classes: dict[str, int], size: int = 32, ext: str = ".png") -> list[Path]:
    """root/<class>/img_<i>.png with distinct content; returns the paths."""
    paths, seed = [], 0
    for name, n in classes.items():
        for i in range(n):
            paths.append(write_image(root / name / f"img_{i:04d}", seed=1000 + seed, size=size, ext=ext))
            seed += 1
    return paths


def trained_tiny_project(root: Path, classes: dict[str, int]) -> Path:
    """``root/p``: a project of ``classes`` (16 px images) with one finished 1-epoch dense run (16 px gray);
    ``root/in`` holds the source images. TensorFlow loads in the calling process."""
    from studio.core.images.importer import import_paths
    from studio.core.project.store import Project
    from studio.core.specs import PreprocessSpec, TrainConfig
    from studio.core.training.run import train

    make_class_folder(root / "in", classes, size=16)
    with Project.create(root / "p") as project:
        import_paths(project, [root / "in"])
        run = train(project, TrainConfig(arch="dense", preprocess=PreprocessSpec(image_size=16, color="gray"),
                                         epochs=1, batch_size=16))
        assert run.status == "finished", run.error
    return root / "p"


def tf_data_autotune_flags(monkeypatch) -> list[bool]:
    """Records, for every tf.data iterator made from now on in this process, whether its dataset autotunes.

    A spy on TensorFlow's own iterator constructor (the real one still runs). An autotuning iterator keeps a
    thread that a later garbage collection can wait up to 60 s for (``studio.core.training.data.PARALLEL_CALLS``).
    """
    from tensorflow.python.data.ops import iterator_ops

    flags: list[bool] = []
    real = iterator_ops.OwnedIterator._create_iterator

    def spy(self, dataset):  # noqa: ANN001, ANN202
        flags.append(dataset.options().autotune.enabled is not False)  # unset means on
        return real(self, dataset)

    monkeypatch.setattr(iterator_ops.OwnedIterator, "_create_iterator", spy)
    return flags
