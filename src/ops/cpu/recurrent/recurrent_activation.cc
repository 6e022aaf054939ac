// RNN activation parsing and the in-place activation loops. Sigmoid and Tanh are the hot ones (every
// gate of every step); their float loops use FastExp so they vectorise, and are compiled for AVX-512, AVX2
// and baseline x86-64 (picked at load time) since the build assumes no -march.

// FastExp's clamps only if-convert without trapping math (see softmax_rows.cc); nothing here relies on
// floating-point exceptions.
#pragma GCC optimize("no-trapping-math")

#include "ops/cpu/recurrent/recurrent_activation.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "ops/cpu/common/fast_exp.h"

namespace tessera {
namespace {

struct ActivationSpec {
  const char* name;
  RnnActivationKind kind;
  bool takes_alpha, takes_beta;
  float default_alpha, default_beta;
};

constexpr ActivationSpec kSpecs[] = {
    {"sigmoid", RnnActivationKind::kSigmoid, false, false, 0, 0},
    {"tanh", RnnActivationKind::kTanh, false, false, 0, 0},
    {"relu", RnnActivationKind::kRelu, false, false, 0, 0},
    {"affine", RnnActivationKind::kAffine, true, true, 1.0f, 0.0f},
    {"leakyrelu", RnnActivationKind::kLeakyRelu, true, false, 0.01f, 0},
    {"thresholdedrelu", RnnActivationKind::kThresholdedRelu, true, false, 1.0f, 0},
    {"scaledtanh", RnnActivationKind::kScaledTanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", RnnActivationKind::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", RnnActivationKind::kElu, true, false, 1.0f, 0},
    {"softsign", RnnActivationKind::kSoftsign, false, false, 0, 0},
    {"softplus", RnnActivationKind::kSoftplus, false, false, 0, 0},
};

const ActivationSpec* FindSpec(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const ActivationSpec& s : kSpecs) {
    if (lower == s.name) return &s;
  }
  return nullptr;
}

// The scalar definitions, used for double and for the rarely used functions.
template <typename T>
T Activate(const RnnActivation& f, T x) {
  const T a = static_cast<T>(f.alpha), b = static_cast<T>(f.beta);
  switch (f.kind) {
    case RnnActivationKind::kSigmoid: return T(1) / (T(1) + std::exp(-x));
    case RnnActivationKind::kTanh: return std::tanh(x);
    case RnnActivationKind::kRelu: return x > T(0) ? x : T(0);
    case RnnActivationKind::kAffine: return a * x + b;
    case RnnActivationKind::kLeakyRelu: return x >= T(0) ? x : a * x;
    case RnnActivationKind::kThresholdedRelu: return x >= a ? x : T(0);
    case RnnActivationKind::kScaledTanh: return a * std::tanh(b * x);
    case RnnActivationKind::kHardSigmoid: return std::min(std::max(a * x + b, T(0)), T(1));
    case RnnActivationKind::kElu: return x >= T(0) ? x : a * (std::exp(x) - T(1));
    case RnnActivationKind::kSoftsign: return x / (T(1) + std::fabs(x));
    case RnnActivationKind::kSoftplus: return x > T(30) ? x : std::log1p(std::exp(x));
  }
  return x;
}

}  // namespace

StatusOr<std::vector<RnnActivation>> ParseRnnActivations(const Node& node, const std::vector<std::string>& defaults,
                                                         int num_directions) {
  const size_t per_direction = defaults.size();
  std::vector<std::string> names = defaults;
  if (const Attribute* attr = node.FindAttribute("activations"); attr != nullptr && !attr->strings.empty()) {
    names = attr->strings;
  }
  if (names.size() == per_direction && num_directions == 2) {
    std::vector<std::string> both = names;
    both.insert(both.end(), names.begin(), names.end());
    names = std::move(both);
  }
  if (names.size() != per_direction * static_cast<size_t>(num_directions)) {
    return InvalidArgument("attribute 'activations' lists " + std::to_string(names.size()) + " functions; " +
                           node.op_type + " takes " + std::to_string(per_direction) + " per direction (" +
                           std::to_string(num_directions) + " directions)");
  }
  const std::vector<float> alphas = node.GetFloats("activation_alpha");
  const std::vector<float> betas = node.GetFloats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<RnnActivation> out;
  for (const std::string& name : names) {
    const ActivationSpec* spec = FindSpec(name);
    if (spec == nullptr) return InvalidArgument("unsupported activation '" + name + "' in attribute 'activations'");
    RnnActivation f{spec->kind, spec->default_alpha, spec->default_beta};
    if (spec->takes_alpha && next_alpha < alphas.size()) f.alpha = alphas[next_alpha++];
    if (spec->takes_beta && next_beta < betas.size()) f.beta = betas[next_beta++];
    out.push_back(f);
  }
  return out;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void ApplyRnnActivation(const RnnActivation& f, float* x,
                                                                                     int64_t n) {
  switch (f.kind) {
    case RnnActivationKind::kSigmoid:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + FastExp(-x[i]));
      return;
    case RnnActivationKind::kTanh:
      // tanh(x) = 1 - 2 / (e^2x + 1): saturates cleanly at both ends; absolute error about 1e-7 near 0.
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = 1.0f - 2.0f / (FastExp(2.0f * x[i]) + 1.0f);
      return;
    case RnnActivationKind::kRelu:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    default:
      for (int64_t i = 0; i < n; ++i) x[i] = Activate<float>(f, x[i]);
      return;
  }
}

void ApplyRnnActivation(const RnnActivation& f, double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = Activate<double>(f, x[i]);
}

}  // namespace tessera
