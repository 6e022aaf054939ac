// The activation functions of RNN, GRU and LSTM (their `activations` attribute), applied in place to
// contiguous gate rows.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

enum class RnnActivationKind {
  kSigmoid,
  kTanh,
  kRelu,
  kAffine,           // alpha * x + beta
  kLeakyRelu,        // x >= 0 ? x : alpha * x
  kThresholdedRelu,  // x >= alpha ? x : 0
  kScaledTanh,       // alpha * tanh(beta * x)
  kHardSigmoid,      // min(max(alpha * x + beta, 0), 1)
  kElu,              // x >= 0 ? x : alpha * (e^x - 1)
  kSoftsign,         // x / (1 + |x|)
  kSoftplus,         // log(1 + e^x)
};

struct RnnActivation {
  RnnActivationKind kind = RnnActivationKind::kSigmoid;
  float alpha = 0.0f;
  float beta = 0.0f;
};

// The node's activations, `defaults.size()` per direction, direction-major (forward first). Without the
// attribute the defaults serve every direction; a bidirectional node that lists only one direction's
// functions uses them for both (as ONNX Runtime does). Names are matched case-insensitively.
//
// activation_alpha / activation_beta are consumed in list order by the functions that take them (as
// ONNX Runtime reads them); a function left without a value gets its standalone ONNX op's default
// (LeakyRelu 0.01, HardSigmoid 0.2/0.5, Elu 1, ThresholdedRelu 1, Affine 1/0, ScaledTanh 1/1).
StatusOr<std::vector<RnnActivation>> ParseRnnActivations(const Node& node, const std::vector<std::string>& defaults,
                                                         int num_directions);

// x[i] = f(x[i]) for i < n.
void ApplyRnnActivation(const RnnActivation& f, float* x, int64_t n);
void ApplyRnnActivation(const RnnActivation& f, double* x, int64_t n);

}  // namespace tessera
