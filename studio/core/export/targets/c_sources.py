"""The C/C++ files of the Arduino sketch: the model as a C array, its settings, a sample frame, the sketch.

``model_data.cc`` holds the exact bytes of ``model.tflite`` (16-byte aligned, as TensorFlow Lite Micro wants);
``model_settings.h`` the input size and quantization, the class count and labels, the measured arena; the
sketch's op resolver lists exactly the operators the model uses, read from the model itself, so it registers
no more (flash) and no fewer (a model that does not run) than needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODEL_DATA_H = "model_data.h"
MODEL_DATA_CC = "model_data.cc"
SETTINGS_H = "model_settings.h"
SAMPLE_FRAME_H = "sample_frame.h"
MODEL_ARRAY = "g_model_data"
_BYTES_PER_LINE = 16
_HEX = re.compile(r"0x([0-9a-fA-F]{2})")
# Resolver methods whose names do not follow the operator's name word by word.
_METHOD_NAMES = {"BATCH_MATMUL": "AddBatchMatMul"}


@dataclass(frozen=True)
class BoardModel:
    """What the sketch needs to know about the model."""

    size: int                  # input width = height (pixels)
    gray: bool                 # the model turns RGB into gray itself
    labels: Sequence[str]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    arena_bytes: int           # measured by TensorFlow Lite Micro
    arena_reserve: int         # what the sketch reserves (measured + margin)
    ops: Sequence[str]         # builtin operator names, e.g. "CONV_2D"


def c_string(text: str) -> str:
    """A C string literal of any text (labels are the user's: quotes, backslashes, non-ASCII)."""
    return '"' + "".join(c if c.isascii() and c.isprintable() and c not in '"\\?' else
                         "".join(f"\\{b:03o}" for b in c.encode("utf-8")) for c in text) + '"'


def _array(data: bytes) -> str:
    rows = (", ".join(f"0x{b:02x}" for b in data[i:i + _BYTES_PER_LINE]) for i in range(0, len(data), _BYTES_PER_LINE))
    return ",\n".join(f"    {row}" for row in rows)


def model_data_files(model: bytes) -> dict[str, str]:
    header = f"""// The model as a C array, written by Edge AI Vision Studio (the bytes of model.tflite).
#ifndef EDGE_STUDIO_MODEL_DATA_H_
#define EDGE_STUDIO_MODEL_DATA_H_

extern const unsigned char {MODEL_ARRAY}[];
extern const unsigned int {MODEL_ARRAY}_len;

#endif  // EDGE_STUDIO_MODEL_DATA_H_
"""
    source = f"""// The model as a C array, written by Edge AI Vision Studio (the bytes of model.tflite).
#include "{MODEL_DATA_H}"

// TensorFlow Lite Micro reads the flatbuffer in place: 16-byte alignment.
alignas(16) const unsigned char {MODEL_ARRAY}[] = {{
{_array(model)}
}};
const unsigned int {MODEL_ARRAY}_len = {len(model)};
"""
    return {MODEL_DATA_H: header, MODEL_DATA_CC: source}


def array_bytes(source: str) -> bytes:
    """The bytes of the C array in a ``model_data.cc`` written by :func:`model_data_files`."""
    body = source[source.index("{") + 1:source.rindex("}")]
    return bytes(int(h, 16) for h in _HEX.findall(body))


def settings_header(m: BoardModel) -> str:
    labels = ",\n".join(f"    {c_string(label)}" for label in m.labels)
    channels = "turns the RGB into gray, then divides by 255" if m.gray else "divides by 255"
    return f"""// Settings of the model in {MODEL_DATA_CC}, written by Edge AI Vision Studio.
#ifndef EDGE_STUDIO_MODEL_SETTINGS_H_
#define EDGE_STUDIO_MODEL_SETTINGS_H_

// Input: one {m.size}x{m.size} RGB frame (row by row, R G B per pixel, 0..255), int8 after
// q = round(pixel / kInputScale) + kInputZeroPoint. The model itself {channels}, as the studio did in training.
// A camera frame of another size must first be resized to {m.size}x{m.size}
// (the studio resizes bilinearly with half-pixel centres).
constexpr int kInputWidth = {m.size};
constexpr int kInputHeight = {m.size};
constexpr int kInputChannels = 3;
constexpr int kInputSize = kInputWidth * kInputHeight * kInputChannels;
constexpr float kInputScale = {m.input_scale!r}f;
constexpr int kInputZeroPoint = {m.input_zero_point};

// Output: one int8 per class; probability = (q - kOutputZeroPoint) * kOutputScale.
constexpr float kOutputScale = {m.output_scale!r}f;
constexpr int kOutputZeroPoint = {m.output_zero_point};
constexpr int kCategoryCount = {len(m.labels)};
constexpr const char* kCategoryLabels[kCategoryCount] = {{
{labels}
}};

// TensorFlow Lite Micro's arena: {m.arena_bytes} bytes measured by its interpreter on a 64-bit host, plus a
// margin (a 32-bit board needs a little less).
constexpr int kTensorArenaSize = {m.arena_reserve};

#endif  // EDGE_STUDIO_MODEL_SETTINGS_H_
"""


def sample_frame_header(frame: np.ndarray, label: str) -> str:
    data = np.asarray(frame, dtype=np.uint8).tobytes()
    size = f"{frame.shape[1]}x{frame.shape[0]}"
    return f"""// One test image, already {size} RGB, labelled {c_string(label)} in the project.
#ifndef EDGE_STUDIO_SAMPLE_FRAME_H_
#define EDGE_STUDIO_SAMPLE_FRAME_H_

#define kSampleFrameLabel {c_string(label)}
static const unsigned char kSampleFrame[] = {{
{_array(data)}
}};

#endif  // EDGE_STUDIO_SAMPLE_FRAME_H_
"""


def resolver_calls(ops: Sequence[str]) -> list[str]:
    """``CONV_2D`` -> ``AddConv2D()``: the MicroMutableOpResolver method of each builtin operator."""
    def method(op: str) -> str:
        if op in _METHOD_NAMES:
            return _METHOD_NAMES[op]
        return "Add" + "".join(p.upper() if p[0].isdigit() else p.capitalize() for p in op.lower().split("_"))
    return [f"{method(op)}()" for op in sorted(set(ops))]


def sketch(name: str, m: BoardModel) -> str:
    calls = "\n".join(f"  resolver.{call};" for call in resolver_calls(m.ops))
    return f"""// {name}.ino: one inference on a frame buffer, then the label on the serial monitor (115200 baud).
// Written by Edge AI Vision Studio. Needs the TensorFlow Lite Micro library: in the Arduino Library Manager,
// "Chirale_TensorFlowLite" (boards on the Mbed OS or ESP32 cores: Nano 33 BLE Sense, Nicla Vision, Raspberry
// Pi Pico with the Mbed RP2040 core, ESP32-S3). With the older Arduino_TensorFlowLite library, include
// <TensorFlowLite.h> instead of <Chirale_TensorFlowLite.h>.
// The frame here is a test image ({SAMPLE_FRAME_H}); put your camera's frame, resized to
// kInputWidth x kInputHeight RGB, into `frame` instead.
#include <Chirale_TensorFlowLite.h>
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "{MODEL_DATA_H}"
#include "{SETTINGS_H}"
#include "{SAMPLE_FRAME_H}"

namespace {{
alignas(16) uint8_t tensor_arena[kTensorArenaSize];
uint8_t frame[kInputSize];
tflite::MicroInterpreter* interpreter = nullptr;
}}  // namespace

void setup() {{
  Serial.begin(115200);
  while (!Serial && millis() < 5000) {{}}
  const tflite::Model* model = tflite::GetModel({MODEL_ARRAY});
  static tflite::MicroMutableOpResolver<{len(set(m.ops))}> resolver;
{calls}
  static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, kTensorArenaSize);
  interpreter = &static_interpreter;
  if (interpreter->AllocateTensors() != kTfLiteOk) {{
    Serial.println("AllocateTensors failed: raise kTensorArenaSize in {SETTINGS_H}");
    return;
  }}
  memcpy(frame, kSampleFrame, kInputSize);

  TfLiteTensor* input = interpreter->input(0);
  for (int i = 0; i < kInputSize; ++i) {{
    int q = static_cast<int>(roundf(frame[i] / kInputScale)) + kInputZeroPoint;
    input->data.int8[i] = static_cast<int8_t>(q < -128 ? -128 : (q > 127 ? 127 : q));
  }}
  unsigned long start = micros();
  if (interpreter->Invoke() != kTfLiteOk) {{
    Serial.println("Invoke failed");
    return;
  }}
  unsigned long took = micros() - start;
  TfLiteTensor* output = interpreter->output(0);
  int best = 0;
  for (int i = 1; i < kCategoryCount; ++i) {{
    if (output->data.int8[i] > output->data.int8[best]) best = i;
  }}
  float confidence = (output->data.int8[best] - kOutputZeroPoint) * kOutputScale;
  Serial.print(kCategoryLabels[best]);
  Serial.print(" ");
  Serial.print(confidence, 3);
  Serial.print(" (labelled " kSampleFrameLabel ", ");
  Serial.print(took / 1000.0, 1);
  Serial.println(" ms)");
}}

void loop() {{}}
"""


def model_ops(model: bytes) -> list[str]:
    """The builtin operator names a TFLite flatbuffer uses."""
    from tflite_micro.python.tflite_micro import runtime

    schema = runtime.schema_fb
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    parsed = schema.Model.GetRootAsModel(model, 0)
    return sorted({names[runtime.get_builtin_code_from_operator_code(parsed.OperatorCodes(i))]
                   for i in range(parsed.OperatorCodesLength())})
