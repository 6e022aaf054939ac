// What the ai.onnx.ml kernels share: reading a [N, F] (or [F]) numeric input as float rows, and the
// post_transform every scorer applies (NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT).
#pragma once

#include <string>
#include <vector>

#include "ops/kernel.h"
#include "ops/registry.h"

namespace tessera {

// The input as `rows` x `cols` floats: [N, F] as given, [F] as one row. Accepts float32/64, int32/64.
struct MlRows {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};
StatusOr<MlRows> ReadMlRows(const Tensor& x, const char* what);

enum class PostTransform { kNone, kSoftmax, kLogistic, kSoftmaxZero, kProbit };
StatusOr<PostTransform> ParsePostTransform(const Node& node);
// Applies `t` to one row of scores in place.
void ApplyPostTransform(PostTransform t, float* scores, int64_t count);
float Logistic(float x);
float Probit(float p);

// Registers `factory` for `op` in ai.onnx.ml from `since` on.
void RegisterMl(KernelRegistry& registry, const char* op, int since, KernelFactory factory);

}  // namespace tessera
