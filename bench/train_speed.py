"""Training speed: seconds per epoch (after the first) of the studio trainer vs a plain ``model.fit``.

Same model (``cnn``), input (64x64 gray), batch size, data and validation set, in one process:
- ours: ``studio.core.training.run.train`` on a project of generated PNGs (decode -> preprocess -> cache ->
  shuffle -> batch -> prefetch, events, cancel checks, best weights, TensorBoard scalars);
- plain: ``model.fit`` on in-memory NumPy arrays (the same preprocessed inputs);
- with augmentation: ours with the "Original pipeline" preset vs plain ``model.fit`` on Keras'
  ``ImageDataGenerator.flow`` with the same settings (how the original notebook augmented).
Both sides alternate for ``--rounds`` rounds; medians (and the ratio of the fastest epochs) are printed, with
the peak RSS of the process (the NumPy arrays of the plain side included).
Goal (issue 3): ours <= 1.15x plain without augmentation.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.commands.output import table  # noqa: E402
from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.store import Project  # noqa: E402
from studio.core.specs import AUGMENT_PRESETS, PreprocessSpec, TrainConfig  # noqa: E402

SPEC = PreprocessSpec(image_size=64, color="gray")


def generate(folder: Path, n: int) -> None:
    """Three classes of noisy shapes (circle, square, triangle) at random places and sizes."""
    rng = np.random.default_rng(0)
    for i in range(n):
        kind = i % 3
        img = rng.integers(150, 256, (64, 64, 3), dtype=np.uint8)
        c, r = rng.integers(20, 44, 2), int(rng.integers(8, 18))
        color = tuple(int(v) for v in rng.integers(0, 100, 3))
        if kind == 0:
            cv2.circle(img, (int(c[0]), int(c[1])), r, color, -1)
        elif kind == 1:
            cv2.rectangle(img, (int(c[0] - r), int(c[1] - r)), (int(c[0] + r), int(c[1] + r)), color, -1)
        else:
            pts = np.array([[c[0], c[1] - r], [c[0] - r, c[1] + r], [c[0] + r, c[1] + r]], np.int32)
            cv2.fillPoly(img, [pts], color)
        folder_k = folder / ("circle", "square", "triangle")[kind]
        folder_k.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder_k / f"{i:05d}.png"), img)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(project: Project, epochs: int, batch: int, augment: bool) -> list[float]:
    from studio.core.training.run import train

    config = TrainConfig(arch="cnn", preprocess=SPEC, epochs=epochs, batch_size=batch, seed=0,
                         use_augment=augment, augment=AUGMENT_PRESETS["Original pipeline"] if augment else
                         TrainConfig().augment)
    run = train(project, config)
    assert run.status == "finished", run.error
    return project.run_folder(run).timings()["epoch_seconds"]


def arrays(project: Project, split: str) -> tuple[np.ndarray, np.ndarray]:
    from studio.core.images.imaging import load_rgb
    from studio.core.preprocess import preprocess

    paths, labels, _ = project.labelled_split(split)
    x = np.stack([np.asarray(preprocess(load_rgb(p), SPEC)) for p in paths])
    return x, np.asarray(labels, np.int32)


def plain(train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], n_classes: int, epochs: int,
          batch: int, augment: bool) -> list[float]:
    import keras

    from studio.core.training.architectures import build

    keras.utils.set_random_seed(0)
    model = build("cnn", SPEC.input_shape, n_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    seconds: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            seconds.append(time.perf_counter() - self.t)

    if augment:
        from keras.src.legacy.preprocessing.image import ImageDataGenerator

        p = AUGMENT_PRESETS["Original pipeline"]
        gen = ImageDataGenerator(rotation_range=p.rotation, width_shift_range=p.width_shift,
                                 height_shift_range=p.height_shift, shear_range=p.shear, zoom_range=list(p.zoom),
                                 horizontal_flip=p.horizontal_flip, vertical_flip=p.vertical_flip)
        model.fit(gen.flow(*train, batch_size=batch, seed=0), epochs=epochs, validation_data=val, verbose=0,
                  callbacks=[Timer()])
    else:
        model.fit(*train, batch_size=batch, epochs=epochs, validation_data=val, verbose=0, callbacks=[Timer()])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating ours/plain rounds per mode")
    parser.add_argument("--no-augment", action="store_true", help="skip the augmentation comparison")
    args = parser.parse_args()
    import tensorflow as tf

    # Both sides run under the same global settings: train() turns on op determinism, so do it up front.
    tf.config.experimental.enable_op_determinism()
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        generate(Path(tmp) / "data", args.images)
        project = Project.create(Path(tmp) / "project")
        import_paths(project, [Path(tmp) / "data"])
        n_train = len(project.labelled_split("train")[0])
        print(f"cnn, {SPEC.image_size}x{SPEC.image_size} {SPEC.color}, {n_train} train images, batch "
              f"{args.batch_size}, {args.epochs} epochs, {os.cpu_count()} cores, TensorFlow {tf.__version__}")
        train = arrays(project, "train")
        val = arrays(project, "val")
        rows = []
        for augment in [False] if args.no_augment else [False, True]:
            # Alternate the two sides for several rounds: on a shared machine the load changes from minute
            # to minute, and alternating spreads it evenly. Per-epoch times after each run's first epoch.
            ours_s: list[float] = []
            plain_s: list[float] = []
            firsts = [0.0, 0.0]
            for _ in range(args.rounds):
                o = ours(project, args.epochs, args.batch_size, augment)
                p = plain(train, val, len(project.class_names()), args.epochs, args.batch_size, augment)
                ours_s += o[1:]
                plain_s += p[1:]
                firsts = [max(firsts[0], o[0]), max(firsts[1], p[0])]
            om, pm = float(np.median(ours_s)), float(np.median(plain_s))
            rows.append(["augment" if augment else "none", f"{om:.3f}", f"{pm:.3f}", f"{om / pm:.2f}x",
                         f"{min(ours_s) / min(plain_s):.2f}x", f"{firsts[0]:.2f}", f"{firsts[1]:.2f}",
                         f"{peak_rss_mb():.0f}"])
        table(["augmentation", "ours s/epoch (median)", "plain s/epoch (median)", "ratio", "ratio of fastest",
               "ours epoch 1", "plain epoch 1", "peak RSS MB"], rows)
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (other processes skew timings on a shared "
              "machine)")
        project.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
