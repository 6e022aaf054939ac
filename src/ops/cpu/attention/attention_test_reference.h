// The double-precision reference the attention family's tests compare with: scaled dot-product attention
// as ONNX Runtime computes it (scale, softcap, + bias, softmax, x V), one loop per formula, over
// [B, H, S, D] arrays; plus random-input helpers.
#pragma once

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::testing {

struct ReferenceAttention {
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_rows = 1, kv_rows = 1, dim = 1, v_dim = 1;
  double scale = 1.0, softcap = 0.0;
  bool causal = false;
  std::vector<int64_t> query_offset;  // per batch; empty: causal_offset for all
  int64_t causal_offset = 0;
  std::vector<int64_t> valid_keys;  // per batch; empty: all
  int64_t window = -1;              // keys pos - window + 1 .. pos
  std::vector<double> bias;         // [B, Hq, S, L] or empty; -inf hides a key (before softcap)

  bool Visible(int64_t b, int64_t i, int64_t j) const {
    const int64_t pos = i + (query_offset.empty() ? causal_offset : query_offset[static_cast<size_t>(b)]);
    if (!valid_keys.empty() && j >= valid_keys[static_cast<size_t>(b)]) return false;
    if (causal && j > pos) return false;
    if (causal && window > 0 && j <= pos - window) return false;
    return true;
  }

  // out [B, Hq, S, Dv]; `scores` gets [B, Hq, S, L] at `stage` (0 product, 1 + bias, 2 softcapped, 3 probabilities).
  std::vector<double> Run(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                          int stage = -1, std::vector<double>* scores = nullptr) const {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> out(static_cast<size_t>(batch * q_heads * q_rows * v_dim), 0.0);
    if (scores) scores->assign(static_cast<size_t>(batch * q_heads * q_rows * kv_rows), 0.0);
    std::vector<double> s(static_cast<size_t>(kv_rows));
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t h = 0; h < q_heads; ++h) {
        const int64_t kh = h / (q_heads / kv_heads);
        for (int64_t i = 0; i < q_rows; ++i) {
          const size_t row = static_cast<size_t>(((b * q_heads + h) * q_rows + i) * kv_rows);
          for (int64_t j = 0; j < kv_rows; ++j) {
            double dot = 0;
            for (int64_t d = 0; d < dim; ++d) {
              dot += double{q[static_cast<size_t>(((b * q_heads + h) * q_rows + i) * dim + d)]} *
                     k[static_cast<size_t>(((b * kv_heads + kh) * kv_rows + j) * dim + d)];
            }
            const double product = dot * scale, b_j = bias.empty() ? 0.0 : bias[row + static_cast<size_t>(j)];
            const bool visible = Visible(b, i, j);
            const double capped = (softcap > 0 ? softcap * std::tanh(product / softcap) : product) + b_j;
            s[static_cast<size_t>(j)] = visible ? capped : -inf;
            if (scores && stage == 0) (*scores)[row + static_cast<size_t>(j)] = product;
            if (scores && stage == 1) (*scores)[row + static_cast<size_t>(j)] = visible ? product + b_j : -inf;
            if (scores && stage == 2) (*scores)[row + static_cast<size_t>(j)] = s[static_cast<size_t>(j)];
          }
          double mx = -inf, sum = 0;
          for (double x : s) mx = std::max(mx, x);
          if (mx == -inf) continue;  // no visible key: zeros
          for (double& x : s) sum += (x = std::exp(x - mx));
          for (int64_t j = 0; j < kv_rows; ++j) {
            const double p = s[static_cast<size_t>(j)] / sum;
            if (scores && stage == 3) (*scores)[row + static_cast<size_t>(j)] = p;
            for (int64_t d = 0; d < v_dim; ++d) {
              out[static_cast<size_t>(((b * q_heads + h) * q_rows + i) * v_dim + d)] +=
                  p * v[static_cast<size_t>(((b * kv_heads + kh) * kv_rows + j) * v_dim + d)];
            }
          }
        }
      }
    }
    return out;
  }
};

inline std::vector<float> RandomFloats(std::mt19937& rng, int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// [B, S, H*D] <-> [B, H, S, D].
inline std::vector<float> RowsToHeads(const std::vector<float>& x, int64_t b, int64_t s, int64_t h, int64_t d) {
  std::vector<float> y(x.size());
  for (int64_t i = 0; i < b; ++i)
    for (int64_t t = 0; t < s; ++t)
      for (int64_t j = 0; j < h; ++j)
        for (int64_t e = 0; e < d; ++e)
          y[static_cast<size_t>(((i * h + j) * s + t) * d + e)] = x[static_cast<size_t>(((i * s + t) * h + j) * d + e)];
  return y;
}
inline std::vector<double> HeadsToRows(const std::vector<double>& x, int64_t b, int64_t h, int64_t s, int64_t d) {
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < h; ++j)
      for (int64_t t = 0; t < s; ++t)
        for (int64_t e = 0; e < d; ++e)
          y[static_cast<size_t>(((i * s + t) * h + j) * d + e)] = x[static_cast<size_t>(((i * h + j) * s + t) * d + e)];
  return y;
}

}  // namespace tessera::testing
