"""Device targets side by side: for each architecture, each device format's model size, its test accuracy in
its own runtime (TensorFlow Lite Micro on the C array's bytes, LiteRT, ONNX Runtime), its top-1 agreement with
`predict`, and milliseconds per inference on this machine's CPU; for arduino also the measured tensor arena
and the boards of the table it fits.

    .venv/bin/python bench/edge_targets.py [--epochs 4] [--size 16] [--arch compact cnn ...]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from studio.core.evaluation.predict import predict_files, run_labels  # noqa: E402
from studio.core.export.exporter import export_bundle  # noqa: E402
from studio.core.export.targets import get_target  # noqa: E402
from studio.core.images.imaging import load_rgb  # noqa: E402
from studio.core.project.demo import create_demo_project  # noqa: E402
from studio.core.specs import ExportOptions, PreprocessSpec, TrainConfig  # noqa: E402
from studio.core.training.run import train  # noqa: E402

FORMATS = (("arduino", "int8"), ("raspberry_pi", "none"), ("raspberry_pi", "int8"), ("onnx", "none"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--arch", nargs="+", default=["compact", "cnn"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        project, _ = create_demo_project(Path(tmp) / "demo")
        paths, classes, _names = project.labelled_split("test")
        paths = [Path(p) for p in paths]
        images = [load_rgb(p).astype(np.float32) for p in paths]
        for arch in args.arch:
            run = train(project, TrainConfig(arch=arch, preprocess=PreprocessSpec(image_size=args.size, color="gray"),
                                             epochs=args.epochs, seed=0))
            labels = run_labels(project, run)
            truth = np.array([labels.index(_names[c]) for c in classes])
            predicted = np.array([labels.index(p["label"]) for p in predict_files(project, run, paths)])
            rows.append([arch, "predict (Keras)", "", f"{np.mean(predicted == truth):.4f}", "1.0000", "", ""])
            for fmt, quantization in FORMATS:
                target = get_target(fmt)
                out = Path(tmp) / f"{arch}-{fmt}-{quantization}"
                result = export_bundle(project, run.id, out, ExportOptions(quantization=quantization), target=target)
                classify = target.load_written(out / target.model_dir)
                times, got = [], []
                for image in images:
                    start = time.perf_counter()
                    got.append(int(np.argmax(classify(image))))
                    times.append((time.perf_counter() - start) * 1e3)
                got_a = np.array(got)
                extra = ""
                if fmt == "arduino":
                    settings = (out / target.model_dir / "model_settings.h").read_text()
                    arena = re.search(r"arena: (\d+) bytes", settings)
                    fits = [line.split(" (")[0].lstrip("| ") for line in
                            (out / target.model_dir / "BOARDS.md").read_text().splitlines() if line.endswith("yes |")]
                    extra = f"arena {arena.group(1) if arena else '?'} B; fits {len(fits)} boards"
                rows.append([arch, f"{fmt} {quantization}", f"{result.model_bytes / 1e3:.1f} kB",
                             f"{np.mean(got_a == truth):.4f}", f"{np.mean(got_a == predicted):.4f}",
                             f"{statistics.median(times):.2f}", extra])
    headers = ["arch", "format", "model", "test accuracy", "agrees with predict", "ms/image", "board"]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for r in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
