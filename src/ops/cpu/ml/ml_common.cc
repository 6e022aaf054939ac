// ai.onnx.ml shared pieces: input rows and post transforms (the formulas ONNX Runtime uses, which the
// ONNX-ML spec leaves to the implementation: PROBIT is sqrt(2) * erfinv(2p - 1)).
#include "ops/cpu/ml/ml_common.h"

#include <algorithm>
#include <cmath>

#include "ops/cpu/ml/ml_kernels.h"
#include "ops/dispatch.h"

namespace tessera {

StatusOr<MlRows> ReadMlRows(const Tensor& x, const char* what) {
  MlRows r;
  if (x.rank() == 1) {
    r.rows = 1;
    r.cols = x.dim(0);
  } else if (x.rank() == 2) {
    r.rows = x.dim(0);
    r.cols = x.dim(1);
  } else {
    return KernelContext::Error(std::string("input '") + what + "' must be [N, F] or [F], got " +
                                ShapeToString(x.shape()));
  }
  r.values.resize(static_cast<size_t>(r.rows * r.cols));
  auto copy = [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    for (size_t i = 0; i < r.values.size(); ++i) r.values[i] = static_cast<float>(p[i]);
    return Status::Ok();
  };
  switch (x.dtype()) {
    case DType::kFloat32: TS_RETURN_IF_ERROR(copy(float{})); break;
    case DType::kFloat64: TS_RETURN_IF_ERROR(copy(double{})); break;
    case DType::kInt32: TS_RETURN_IF_ERROR(copy(int32_t{})); break;
    case DType::kInt64: TS_RETURN_IF_ERROR(copy(int64_t{})); break;
    default:
      return KernelContext::Error(std::string("input '") + what + "' must be float, double, int32 or int64, got " +
                                  DTypeName(x.dtype()));
  }
  return r;
}

StatusOr<PostTransform> ParsePostTransform(const Node& node) {
  const std::string t = node.GetString("post_transform", "NONE");
  if (t == "NONE") return PostTransform::kNone;
  if (t == "SOFTMAX") return PostTransform::kSoftmax;
  if (t == "LOGISTIC") return PostTransform::kLogistic;
  if (t == "SOFTMAX_ZERO") return PostTransform::kSoftmaxZero;
  if (t == "PROBIT") return PostTransform::kProbit;
  return KernelContext::Error("attribute 'post_transform' must be NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO or PROBIT, "
                              "got \"" + t + "\"");
}

float Logistic(float x) {
  const float v = 1.0f / (1.0f + std::exp(-std::fabs(x)));
  return x < 0 ? 1.0f - v : v;
}

// erfinv by Giles' single-precision approximation, then one Newton step on erf.
float Probit(float p) {
  const double x = 2.0 * p - 1.0;
  if (x <= -1.0) return -INFINITY;
  if (x >= 1.0) return INFINITY;
  double w = -std::log((1.0 - x) * (1.0 + x)), r;
  if (w < 5.0) {
    w -= 2.5;
    r = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
                     0.246640727, 1.50140941}) {
      r = c + r * w;
    }
  } else {
    w = std::sqrt(w) - 3.0;
    r = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                     1.00167406, 2.83297682}) {
      r = c + r * w;
    }
  }
  r *= x;
  r -= (std::erf(r) - x) / (2.0 / std::sqrt(M_PI) * std::exp(-r * r));
  return static_cast<float>(std::sqrt(2.0) * r);
}

void ApplyPostTransform(PostTransform t, float* s, int64_t n) {
  switch (t) {
    case PostTransform::kNone: return;
    case PostTransform::kLogistic:
      for (int64_t i = 0; i < n; ++i) s[i] = Logistic(s[i]);
      return;
    case PostTransform::kProbit:
      for (int64_t i = 0; i < n; ++i) s[i] = Probit(s[i]);
      return;
    case PostTransform::kSoftmax:
    case PostTransform::kSoftmaxZero: {
      if (n == 0) return;
      const float m = *std::max_element(s, s + n);
      double total = 0;
      for (int64_t i = 0; i < n; ++i) {
        // SOFTMAX_ZERO keeps zero scores at zero (classes no tree voted for).
        const float e = (t == PostTransform::kSoftmaxZero && s[i] == 0.0f) ? 0.0f : std::exp(s[i] - m);
        s[i] = e;
        total += e;
      }
      for (int64_t i = 0; i < n; ++i) s[i] = total > 0 ? static_cast<float>(s[i] / total) : 0.0f;
      return;
    }
  }
}

void RegisterMl(KernelRegistry& registry, const char* op, int since, KernelFactory factory) {
  KernelDef def;
  def.op_type = op;
  def.domain = kMlDomain;
  def.since_opset = since;
  def.factory = std::move(factory);
  registry.Register(std::move(def));
}

}  // namespace tessera
