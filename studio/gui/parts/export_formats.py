"""The Export page's formats in plain words, grouped by the device they are for: what the user gets and how
to run it. One card per export target (the names are :data:`studio.core.export.targets.TARGETS` keys)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormatCard:
    name: str        # the export target (--format)
    device: str      # the group it is listed under
    variant: str     # which of the group's formats, when a group has more than one
    gets: str        # what the export writes, in plain words
    run: str         # one line: how to run it
    button: str      # the export button's text


CARDS: tuple[FormatCard, ...] = (
    FormatCard("tfjs", "Web page", "",
               "A folder with index.html, the model and the TF.js runtime: it works offline from any static web "
               "host, classifies webcam frames in the browser and sends nothing anywhere.",
               "Preview it below, or copy the folder (or the .zip) to any web host and open index.html.",
               "Export web bundle"),
    FormatCard("arduino", "Arduino / microcontroller", "",
               "An Arduino sketch: the model in int8 as a C array, its settings and labels, a test frame, and a "
               "table of the boards it fits (Nano 33 BLE Sense, Raspberry Pi Pico, ESP32-S3…).",
               "Open edge_classifier.ino in the Arduino IDE, add the TensorFlow Lite Micro library, upload, and "
               "watch the serial monitor.",
               "Export Arduino sketch"),
    FormatCard("raspberry_pi", "Raspberry Pi / Linux board", "",
               "model.tflite with its labels, labels.txt and classify.py, which labels photos or camera frames.",
               "On the board: pip install ai-edge-litert numpy pillow, then python classify.py photo.jpg",
               "Export for the Pi"),
    FormatCard("tflite", "Android / iOS app (TFLite)", "",
               "One model.tflite with the labels inside; it takes a photo's RGB pixels at any size and resizes "
               "them itself.",
               "Add it to your app's assets and run it with LiteRT (TensorFlow Lite) on the phone.",
               "Export .tflite"),
    FormatCard("onnx", "ONNX", "",
               "model.onnx (float32, preprocessing inside) for ONNX Runtime in Python, C#, C++, Java or JavaScript.",
               "Python: onnxruntime.InferenceSession('model.onnx').run(None, {'pixels': photo[None]})",
               "Export ONNX"),
    FormatCard("keras", "Keras / SavedModel", ".keras file",
               "model.keras (float32) to keep working on the model in Python.",
               "Python: keras.saving.load_model('model.keras')",
               "Export .keras"),
    FormatCard("saved_model", "Keras / SavedModel", "SavedModel folder",
               "A TensorFlow SavedModel folder for TF Serving, TFX or any TensorFlow program.",
               "Python: tf.saved_model.load('saved_model').signatures['serving_default'](pixels=...)",
               "Export SavedModel"),
)


def card(name: str) -> FormatCard:
    for c in CARDS:
        if c.name == name:
            return c
    return FormatCard(name, name, "", "", "", "Export")


def label(c: FormatCard) -> str:
    """The format list's text: the device, and which format when the device has more than one."""
    return f"{c.device}: {c.variant}" if c.variant else c.device
