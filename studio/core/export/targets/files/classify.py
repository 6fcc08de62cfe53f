"""Classify image files or a camera with model.tflite, written by Edge AI Vision Studio.

Needs only:  pip install ai-edge-litert numpy pillow      (and opencv-python for --camera)

    python classify.py IMAGE [IMAGE ...]    one line per image: LABEL CONFIDENCE
    python classify.py --camera [INDEX]     the camera's label, once a second, until Ctrl+C

The model takes RGB pixels 0..255 of any size and does the studio's preprocessing itself (bilinear resize with
half-pixel centres, gray when the model was trained gray, divide by 255), so images are passed as they are.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODEL = HERE / "model.tflite"
LABELS = HERE / "labels.txt"


class Classifier:
    def __init__(self, model: Path = MODEL, labels: Path = LABELS) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # older Raspberry Pi OS images ship tflite-runtime
            from tflite_runtime.interpreter import Interpreter
        self.interpreter = Interpreter(model_path=str(model))
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.labels = labels.read_text(encoding="utf-8").splitlines()
        self.shape: tuple[int, ...] = ()

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        """RGB pixels (height, width, 3), 0..255 -> one probability per label."""
        x = np.asarray(rgb, dtype=np.float32)[None]
        if x.shape != self.shape:
            self.interpreter.resize_tensor_input(self.input["index"], list(x.shape))
            self.interpreter.allocate_tensors()
            self.shape = x.shape
        if self.input["dtype"] != np.float32:  # a full-integer (int8) model
            scale, zero = self.input["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(self.input["dtype"])
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self.output["index"])[0]
        if self.output["dtype"] != np.float32:
            scale, zero = self.output["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return y

    def label(self, rgb: np.ndarray) -> tuple[str, float]:
        p = self.probabilities(rgb)
        best = int(np.argmax(p))
        return self.labels[best], float(p[best])


def read_image(path: str) -> np.ndarray:
    """RGB pixels of an image file, turned upright as its EXIF orientation says (as the studio does)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def camera(classifier: Classifier, index: int) -> int:
    import cv2  # pip install opencv-python

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        print(f"classify.py: camera {index} cannot be opened", file=sys.stderr)
        return 1
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                print("classify.py: the camera stopped sending frames", file=sys.stderr)
                return 1
            label, confidence = classifier.label(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            print(f"{label} {confidence:.4f}", flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        capture.release()


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    classifier = Classifier()
    if argv[0] == "--camera":
        return camera(classifier, int(argv[1]) if len(argv) > 1 else 0)
    for path in argv:
        try:
            rgb = read_image(path)
        except OSError as exc:
            print(f"classify.py: cannot read {path}: {exc}", file=sys.stderr)
            return 1
        label, confidence = classifier.label(rgb)
        print(f"{label} {confidence:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
