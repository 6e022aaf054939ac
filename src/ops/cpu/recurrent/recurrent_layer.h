// One recurrent layer (RNN, GRU or LSTM, all directions) over validated inputs.
//
// The input projection X · W^T of every time step and direction is one GEMM up front, with the W and R
// biases folded in; each step then costs one GEMM H · R^T per direction (two for GRU with
// linear_before_reset = 0, whose hidden gate multiplies R by r (.) H) plus the gate math per batch row.
// Rows of a batch whose sequence has ended keep their state and leave Y zero; the reverse direction
// starts each sequence at its own last valid step.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "ops/cpu/recurrent/recurrent_activation.h"
#include "ops/cpu/recurrent/recurrent_matmul.h"

namespace tessera {

enum class RnnCell { kRnn, kGru, kLstm };

// The node's attributes, validated when the kernel is created.
struct RnnAttributes {
  RnnCell cell = RnnCell::kRnn;
  int gates = 1;  // gate blocks in W and R: RNN 1, GRU 3 (zrh), LSTM 4 (iofc)
  int num_directions = 1;
  bool reverse = false;      // direction == "reverse"
  int64_t hidden_size = -1;  // -1 when the attribute is absent (taken from R)
  bool has_clip = false;
  float clip = 0.0f;
  bool linear_before_reset = false;        // GRU
  bool input_forget = false;               // LSTM: f = 1 - i
  int layout = 0;                          // 0: [seq, batch, ...]; 1: [batch, seq, ...] (opset 14)
  std::vector<RnnActivation> activations;  // per direction: RNN f; GRU f, g; LSTM f, g, h
};

// One run's data. Optional inputs are null; unwanted outputs are null.
template <typename T>
struct RnnData {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  const T* x = nullptr;          // layout 0: [seq, batch, input]; layout 1: [batch, seq, input]
  const T* w = nullptr;          // [dirs, gates * hidden, input]
  const T* r = nullptr;          // [dirs, gates * hidden, hidden]
  const T* b = nullptr;          // [dirs, 2 * gates * hidden]: W biases then R biases
  const T* p = nullptr;          // LSTM peepholes [dirs, 3 * hidden]: i, o, f
  const T* initial_h = nullptr;  // layout 0: [dirs, batch, hidden]; layout 1: [batch, dirs, hidden]
  const T* initial_c = nullptr;
  bool weights_constant = false;  // W and R are initializers: their packed copies are reused across runs
  std::vector<int64_t> lengths;   // per batch row, each in [0, seq]
  T* y = nullptr;    // zero-filled unless every length is seq; layout 0: [seq, dirs, batch, hidden]; layout 1: [batch,
                     // seq, dirs, hidden]
  T* y_h = nullptr;  // layout 0: [dirs, batch, hidden]; layout 1: [batch, dirs, hidden]
  T* y_c = nullptr;
};

// `projection` is the kernel's scratch for the input projection, kept across runs (re-allocated only when
// too small) so that a large buffer is not faulted in again on every run.
template <typename T>
Status RunRecurrentLayer(const RnnAttributes& attrs, const RnnData<T>& data, RnnGemms& gemms, Tensor& projection,
                         ThreadPool& pool);

}  // namespace tessera
