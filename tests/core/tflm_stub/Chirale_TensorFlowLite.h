// Stand-in declarations of the Arduino core and the TensorFlow Lite Micro API the sketch uses (syntax check only).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
struct SerialStub {
  void begin(long) {}
  explicit operator bool() const { return true; }
  void print(const char*) {}
  void print(float, int) {}
  void print(double, int = 2) {}
  void println(const char*) {}
};
extern SerialStub Serial;
unsigned long millis();
unsigned long micros();
