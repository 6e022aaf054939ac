// The test oracle for the recurrent kernels: RNN, GRU and LSTM written out from the ONNX equations, one
// batch row and one time step at a time, accumulating in double. No packing, no folded biases, no
// batching of rows: everything the optimized kernel does differently is absent here on purpose.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tessera::testing {

struct Act {
  std::string name;
  double alpha = 0, beta = 0;
};

inline double Apply(const Act& f, double x) {
  if (f.name == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (f.name == "Tanh") return std::tanh(x);
  if (f.name == "Relu") return std::max(x, 0.0);
  if (f.name == "Affine") return f.alpha * x + f.beta;
  if (f.name == "LeakyRelu") return x >= 0 ? x : f.alpha * x;
  if (f.name == "ThresholdedRelu") return x >= f.alpha ? x : 0.0;
  if (f.name == "ScaledTanh") return f.alpha * std::tanh(f.beta * x);
  if (f.name == "HardSigmoid") return std::min(std::max(f.alpha * x + f.beta, 0.0), 1.0);
  if (f.name == "Elu") return x >= 0 ? x : f.alpha * (std::exp(x) - 1.0);
  if (f.name == "Softsign") return x / (1.0 + std::fabs(x));
  if (f.name == "Softplus") return std::log1p(std::exp(x));
  ADD_FAILURE() << "unknown activation " << f.name;
  return 0;
}

struct Config {
  std::string op = "LSTM";
  int opset = 14;
  int dirs = 1;
  bool reverse = false;
  int layout = 0;
  int64_t seq = 1, batch = 1, input = 1, hidden = 1;
  bool bias = false, lengths = false, init_h = false, init_c = false, peepholes = false;
  double clip = 0;  // 0: none
  bool linear_before_reset = false, input_forget = false;
  std::vector<Act> acts;  // per direction, empty = defaults

  int gates() const { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }
  std::string direction() const { return dirs == 2 ? "bidirectional" : reverse ? "reverse" : "forward"; }
};

struct Inputs {
  std::vector<float> x, w, r, b, h0, c0, p;
  std::vector<int32_t> lens;
};

struct Outputs {
  std::vector<double> y, y_h, y_c;
};

// The ONNX equations, one batch row and one step at a time.
inline Outputs Reference(const Config& c, const Inputs& in) {
  const int64_t H = c.hidden, G = c.gates(), I = c.input, S = c.seq, N = c.batch, D = c.dirs;
  std::vector<Act> acts = c.acts;
  if (acts.empty()) {
    if (c.op == "RNN") acts = {{"Tanh"}};
    if (c.op == "GRU") acts = {{"Sigmoid"}, {"Tanh"}};
    if (c.op == "LSTM") acts = {{"Sigmoid"}, {"Tanh"}, {"Tanh"}};
    const std::vector<Act> one = acts;
    if (D == 2) acts.insert(acts.end(), one.begin(), one.end());
  }
  Outputs out;
  out.y.assign(static_cast<size_t>(S * D * N * H), 0.0);
  out.y_h.assign(static_cast<size_t>(D * N * H), 0.0);
  out.y_c.assign(static_cast<size_t>(D * N * H), 0.0);
  auto state_at = [&](int64_t d, int64_t b) {
    return static_cast<size_t>((c.layout == 0 ? d * N + b : b * D + d) * H);
  };
  auto clip = [&](double v) { return c.clip > 0 ? std::min(std::max(v, -c.clip), c.clip) : v; };
  for (int64_t d = 0; d < D; ++d) {
    const Act* f = &acts[static_cast<size_t>(d) * acts.size() / static_cast<size_t>(D)];
    const bool backward = c.reverse || d == 1;
    for (int64_t b = 0; b < N; ++b) {
      std::vector<double> h(static_cast<size_t>(H), 0.0), cell(static_cast<size_t>(H), 0.0);
      for (int64_t j = 0; j < H; ++j) {
        if (c.init_h) h[static_cast<size_t>(j)] = in.h0[state_at(d, b) + static_cast<size_t>(j)];
        if (c.init_c) cell[static_cast<size_t>(j)] = in.c0[state_at(d, b) + static_cast<size_t>(j)];
      }
      const int64_t len = c.lengths ? in.lens[static_cast<size_t>(b)] : S;
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = backward ? len - 1 - s : s;
        const float* x = &in.x[static_cast<size_t>((c.layout == 0 ? t * N + b : b * S + t) * I)];
        // xw[g] = x·W_g^T + Wb_g; hr[g] = h·R_g^T + Rb_g, for gate unit g of G*H.
        auto xw = [&](int64_t g) {
          double sum = c.bias ? in.b[static_cast<size_t>(d * 2 * G * H + g)] : 0.0;
          for (int64_t k = 0; k < I; ++k) sum += double(x[k]) * in.w[static_cast<size_t>((d * G * H + g) * I + k)];
          return sum;
        };
        auto hr = [&](int64_t g, const std::vector<double>& hv) {
          double sum = c.bias ? in.b[static_cast<size_t>(d * 2 * G * H + G * H + g)] : 0.0;
          for (int64_t k = 0; k < H; ++k)
            sum += hv[static_cast<size_t>(k)] * in.r[static_cast<size_t>((d * G * H + g) * H + k)];
          return sum;
        };
        std::vector<double> next(static_cast<size_t>(H)), next_c(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) {
          const size_t uj = static_cast<size_t>(j);
          if (c.op == "RNN") {
            next[uj] = Apply(f[0], clip(xw(j) + hr(j, h)));
          } else if (c.op == "GRU") {
            const double z = Apply(f[0], clip(xw(j) + hr(j, h)));
            const double r = Apply(f[0], clip(xw(H + j) + hr(H + j, h)));
            double pre;
            if (c.linear_before_reset) {
              pre = xw(2 * H + j) + r * hr(2 * H + j, h);
            } else {
              // (r (.) H)·Rh^T needs every r_k: recompute them.
              std::vector<double> rh(static_cast<size_t>(H));
              for (int64_t k = 0; k < H; ++k) {
                rh[static_cast<size_t>(k)] = Apply(f[0], clip(xw(H + k) + hr(H + k, h))) * h[static_cast<size_t>(k)];
              }
              pre = xw(2 * H + j) + hr(2 * H + j, rh);
            }
            const double n = Apply(f[1], clip(pre));
            next[uj] = (1 - z) * n + z * h[uj];
          } else {
            auto peep = [&](int which) {
              return c.peepholes ? in.p[static_cast<size_t>(d * 3 * H + which * H + j)] : 0.0;
            };
            const double i = Apply(f[0], clip(xw(j) + hr(j, h) + peep(0) * cell[uj]));
            const double fg =
                c.input_forget ? 1 - i : Apply(f[0], clip(xw(2 * H + j) + hr(2 * H + j, h) + peep(2) * cell[uj]));
            const double g = Apply(f[1], clip(xw(3 * H + j) + hr(3 * H + j, h)));
            next_c[uj] = fg * cell[uj] + i * g;
            const double o = Apply(f[0], clip(xw(H + j) + hr(H + j, h) + peep(1) * next_c[uj]));
            next[uj] = o * Apply(f[2], next_c[uj]);
          }
        }
        h = next;
        if (c.op == "LSTM") cell = next_c;
        for (int64_t j = 0; j < H; ++j) {
          const int64_t at = c.layout == 0 ? ((t * D + d) * N + b) * H + j : ((b * S + t) * D + d) * H + j;
          out.y[static_cast<size_t>(at)] = h[static_cast<size_t>(j)];
        }
      }
      for (int64_t j = 0; j < H; ++j) {
        out.y_h[state_at(d, b) + static_cast<size_t>(j)] = h[static_cast<size_t>(j)];
        out.y_c[state_at(d, b) + static_cast<size_t>(j)] = cell[static_cast<size_t>(j)];
      }
    }
  }
  return out;
}

inline Inputs RandomInputs(const Config& c, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto fill = [&](int64_t n, float scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& e : v) e = scale * dist(rng);
    return v;
  };
  const int64_t G = c.gates(), H = c.hidden, D = c.dirs;
  Inputs in;
  in.x = fill(c.seq * c.batch * c.input, 1.0f);
  const float ws = 1.5f / std::sqrt(static_cast<float>(c.input + H));
  in.w = fill(D * G * H * c.input, ws);
  in.r = fill(D * G * H * H, ws);
  in.b = fill(D * 2 * G * H, 0.5f);
  in.h0 = fill(D * c.batch * H, 0.8f);
  in.c0 = fill(D * c.batch * H, 0.8f);
  in.p = fill(D * 3 * H, 0.5f);
  for (int64_t b = 0; b < c.batch; ++b)
    in.lens.push_back(static_cast<int32_t>(rng() % static_cast<unsigned>(c.seq + 1)));
  return in;
}

}  // namespace tessera::testing
