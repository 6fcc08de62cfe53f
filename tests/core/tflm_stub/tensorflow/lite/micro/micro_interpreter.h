#pragma once
#include <cstddef>
#include <cstdint>
enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 };
union TfLitePtrUnion { int8_t* int8; float* f; };
struct TfLiteTensor { TfLitePtrUnion data; };
namespace tflite {
struct Model;
class MicroOpResolver {};
class MicroInterpreter {
 public:
  MicroInterpreter(const Model* model, const MicroOpResolver& resolver, uint8_t* arena, size_t arena_size);
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor* input(size_t index);
  TfLiteTensor* output(size_t index);
};
}  // namespace tflite
