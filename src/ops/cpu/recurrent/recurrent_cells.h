// The gate math of one batch row at one time step, after the GEMMs: `proj` is the row's input
// projection with the biases folded in (X·W^T + Wb + Rb) and `rec` its recurrence H·R^T, which the
// functions overwrite as scratch. Each loop runs over a gate row of `hidden` contiguous values.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/cpu/recurrent/recurrent_activation.h"

namespace tessera {

template <typename T>
struct RnnCellParams {
  int64_t hidden = 0;
  const RnnActivation* act = nullptr;  // this direction's functions (1, 2 or 3)
  bool has_clip = false;
  T clip = 0;
  const T* peephole = nullptr;   // LSTM: [3 * hidden] (i, o, f), or null
  const T* rb_hidden = nullptr;  // GRU with linear_before_reset: Rbh, added inside r (.) (...)
  bool input_forget = false;
};

// x = clip(x) when a clip is set: applied to every activation's input.
template <typename T>
inline void ClipRow(const RnnCellParams<T>& p, T* x, int64_t n) {
  if (!p.has_clip) return;
  const T lo = -p.clip, hi = p.clip;
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], lo), hi);
}

// h' = f(proj + rec).
template <typename T>
inline void RnnCellRow(const RnnCellParams<T>& p, const T* proj, const T* rec, T* h_out) {
  const int64_t n = p.hidden;
  for (int64_t i = 0; i < n; ++i) h_out[i] = proj[i] + rec[i];
  ClipRow(p, h_out, n);
  ApplyRnnActivation(p.act[0], h_out, n);
}

// LSTM, gates i, o, f, c: c' = f (.) c + i (.) g(c~), h' = o (.) h(c'), with peepholes on i, f (c) and o (c').
template <typename T>
inline void LstmCellRow(const RnnCellParams<T>& p, const T* proj, T* rec, const T* c_prev, T* h_out, T* c_out) {
  const int64_t n = p.hidden;
  for (int64_t i = 0; i < 4 * n; ++i) rec[i] += proj[i];
  T* gi = rec;
  T* go = rec + n;
  T* gf = rec + 2 * n;
  T* gc = rec + 3 * n;
  if (p.peephole != nullptr) {
    const T* pi = p.peephole;
    const T* pf = p.peephole + 2 * n;
    for (int64_t i = 0; i < n; ++i) {
      gi[i] += pi[i] * c_prev[i];
      gf[i] += pf[i] * c_prev[i];
    }
  }
  ClipRow(p, gi, n);
  ClipRow(p, gf, n);
  ClipRow(p, gc, n);
  ApplyRnnActivation(p.act[0], gi, n);
  if (p.input_forget) {
    for (int64_t i = 0; i < n; ++i) gf[i] = T(1) - gi[i];
  } else {
    ApplyRnnActivation(p.act[0], gf, n);
  }
  ApplyRnnActivation(p.act[1], gc, n);
  for (int64_t i = 0; i < n; ++i) c_out[i] = gf[i] * c_prev[i] + gi[i] * gc[i];
  if (p.peephole != nullptr) {
    const T* po = p.peephole + n;
    for (int64_t i = 0; i < n; ++i) go[i] += po[i] * c_out[i];
  }
  ClipRow(p, go, n);
  ApplyRnnActivation(p.act[0], go, n);
  std::copy(c_out, c_out + n, h_out);
  ApplyRnnActivation(p.act[2], h_out, n);
  for (int64_t i = 0; i < n; ++i) h_out[i] *= go[i];
}

// GRU update and reset gates, z and r, computed in place in rec[0, 2 * hidden).
template <typename T>
inline void GruUpdateResetRow(const RnnCellParams<T>& p, const T* proj, T* rec) {
  const int64_t n2 = 2 * p.hidden;
  for (int64_t i = 0; i < n2; ++i) rec[i] += proj[i];
  ClipRow(p, rec, n2);
  ApplyRnnActivation(p.act[0], rec, n2);
}

// GRU hidden gate and output once z, r are in rec[0, 2 * hidden) and rec[2 * hidden, 3 * hidden) holds
// (r (.) H)·Rh^T (linear_before_reset = 0) or H·Rh^T (linear_before_reset = 1; Rbh is added here).
template <typename T>
inline void GruHiddenRow(const RnnCellParams<T>& p, bool linear_before_reset, const T* proj, T* rec, const T* h_prev,
                         T* h_out) {
  const int64_t n = p.hidden;
  const T* z = rec;
  const T* r = rec + n;
  T* gh = rec + 2 * n;
  const T* ph = proj + 2 * n;
  if (linear_before_reset) {
    const T* rb = p.rb_hidden;
    for (int64_t i = 0; i < n; ++i) gh[i] = ph[i] + r[i] * (gh[i] + (rb ? rb[i] : T(0)));
  } else {
    for (int64_t i = 0; i < n; ++i) gh[i] += ph[i];
  }
  ClipRow(p, gh, n);
  ApplyRnnActivation(p.act[1], gh, n);
  for (int64_t i = 0; i < n; ++i) h_out[i] = (T(1) - z[i]) * gh[i] + z[i] * h_prev[i];
}

}  // namespace tessera
