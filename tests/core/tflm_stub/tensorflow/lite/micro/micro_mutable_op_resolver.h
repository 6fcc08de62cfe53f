// Stand-in for TensorFlow Lite Micro's resolver: the methods of the operators our models use (syntax check).
#pragma once
#include "tensorflow/lite/micro/micro_interpreter.h"
namespace tflite {
template <unsigned int N>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
  TfLiteStatus AddAdd();
  TfLiteStatus AddAveragePool2D();
  TfLiteStatus AddBatchMatMul();
  TfLiteStatus AddConcatenation();
  TfLiteStatus AddConv2D();
  TfLiteStatus AddDepthwiseConv2D();
  TfLiteStatus AddDequantize();
  TfLiteStatus AddFullyConnected();
  TfLiteStatus AddHardSwish();
  TfLiteStatus AddLeakyRelu();
  TfLiteStatus AddLogistic();
  TfLiteStatus AddMaxPool2D();
  TfLiteStatus AddMean();
  TfLiteStatus AddMul();
  TfLiteStatus AddPad();
  TfLiteStatus AddQuantize();
  TfLiteStatus AddRelu();
  TfLiteStatus AddRelu6();
  TfLiteStatus AddReshape();
  TfLiteStatus AddResizeBilinear();
  TfLiteStatus AddSoftmax();
  TfLiteStatus AddSub();
  TfLiteStatus AddTanh();
  TfLiteStatus AddMaximum();
  TfLiteStatus AddMinimum();
  TfLiteStatus AddReduceMax();
  TfLiteStatus AddSum();
  TfLiteStatus AddSquare();
  TfLiteStatus AddSquaredDifference();
  TfLiteStatus AddRsqrt();
  TfLiteStatus AddSqrt();
  TfLiteStatus AddL2Normalization();
  TfLiteStatus AddStridedSlice();
  TfLiteStatus AddGather();
  TfLiteStatus AddTranspose();
  TfLiteStatus AddDiv();
  TfLiteStatus AddExpandDims();
  TfLiteStatus AddSqueeze();
  TfLiteStatus AddPack();
  TfLiteStatus AddCast();
  TfLiteStatus AddShape();
  TfLiteStatus AddFill();
  TfLiteStatus AddArgMax();
  TfLiteStatus AddLogSoftmax();
  TfLiteStatus AddExp();
  TfLiteStatus AddPadV2();
  TfLiteStatus AddUnpack();
  TfLiteStatus AddSplit();
  TfLiteStatus AddSlice();
};
}  // namespace tflite
