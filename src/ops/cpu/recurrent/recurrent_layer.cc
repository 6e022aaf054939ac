// The time loop of RNN, GRU and LSTM (see recurrent_layer.h).
#include "ops/cpu/recurrent/recurrent_layer.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include "ops/cpu/recurrent/recurrent_cells.h"
#include "tessera/tensor.h"

namespace tessera {
namespace {

template <typename T>
constexpr DType kDType = std::is_same_v<T, float> ? DType::kFloat32 : DType::kFloat64;

// Scratch goes through Tensor so that absurd sizes fail with ResourceExhausted instead of an OOM kill.
template <typename T>
StatusOr<Tensor> Scratch(int64_t rows, int64_t cols, bool zero) {
  return zero ? Tensor::Allocate(kDType<T>, {rows, cols}) : Tensor::AllocateUninitialized(kDType<T>, {rows, cols});
}

// Gemm slots: 0 is the input projection; each direction has slots for R (or Rzr) and Rh, and, for an LSTM
// split across threads, one slot per thread's range of hidden units and gate.
constexpr int kProjectionSlot = 0;
int RecurrenceSlot(int direction, int part) { return 1 + direction * 2 + part; }
constexpr int kMaxSplitParts = 64;
int SplitSlot(int direction, int part, int gate) { return 8 + (direction * kMaxSplitParts + part) * 4 + gate; }

// An LSTM step of at least this many multiply-adds (batch x 4 hidden x hidden) splits its hidden units
// across threads inside one parallel region (DirectionRunner::RunLstmSplit); below, a step is a few
// microseconds and one thread does it. LSTM(512) at batch 1 (1M per step) gained nothing from a second
// thread on the per-step GEMM path with sleeping workers, since every step paid a fork.
constexpr int64_t kSplitLstmMacs = int64_t{1} << 18;
// Past this, the per-step GEMM and the cell rows have enough work to split on their own.
constexpr int64_t kSplitLstmMaxMacs = int64_t{1} << 24;

template <typename T>
class DirectionRunner {
 public:
  DirectionRunner(const RnnAttributes& attrs, const RnnData<T>& data, RnnGemms& gemms, ThreadPool& pool, int d,
                  const T* proj, const T* bias_rh)
      : a_(attrs), data_(data), gemms_(gemms), pool_(pool), d_(d), proj_(proj) {
    gh_ = attrs.gates * data.hidden;
    params_.hidden = data.hidden;
    params_.act = &attrs.activations[static_cast<size_t>(d) * ActivationsPerDirection()];
    params_.has_clip = attrs.has_clip;
    params_.clip = static_cast<T>(attrs.clip);
    params_.peephole = data.p ? data.p + d * 3 * data.hidden : nullptr;
    params_.rb_hidden = bias_rh;
    params_.input_forget = attrs.input_forget;
    backward_ = attrs.reverse || d == 1;
  }

  Status Run() {
    const int64_t batch = data_.batch, hidden = data_.hidden;
    const bool lstm = a_.cell == RnnCell::kLstm;
    TS_ASSIGN_OR_RETURN(Tensor h_a, Scratch<T>(batch, hidden, true));
    TS_ASSIGN_OR_RETURN(Tensor h_b, Scratch<T>(batch, hidden, true));
    TS_ASSIGN_OR_RETURN(Tensor c_a, Scratch<T>(lstm ? batch : 0, hidden, true));
    TS_ASSIGN_OR_RETURN(Tensor c_b, Scratch<T>(lstm ? batch : 0, hidden, true));
    TS_ASSIGN_OR_RETURN(Tensor rec, Scratch<T>(batch, gh_, false));
    const bool gru_reset_first = a_.cell == RnnCell::kGru && !a_.linear_before_reset;
    TS_ASSIGN_OR_RETURN(Tensor reset_h, Scratch<T>(gru_reset_first ? batch : 0, hidden, true));
    T* h = h_a.data<T>();
    T* h_next = h_b.data<T>();
    T* c = c_a.data<T>();
    T* c_next = c_b.data<T>();
    for (int64_t b = 0; b < batch; ++b) {
      if (data_.initial_h) std::memcpy(h + b * hidden, data_.initial_h + StateOffset(b), hidden * sizeof(T));
      if (lstm && data_.initial_c) std::memcpy(c + b * hidden, data_.initial_c + StateOffset(b), hidden * sizeof(T));
    }
    const int64_t steps = data_.lengths.empty() ? 0 : *std::max_element(data_.lengths.begin(), data_.lengths.end());
    const T* r = data_.r + d_ * gh_ * hidden;
    if (SplitsAcrossThreads()) {
      TS_RETURN_IF_ERROR(RunLstmSplit(h, h_next, c, c_next, steps, r));
      if (steps % 2 == 1) {  // the split loop swaps its own copies of the pointers
        std::swap(h, h_next);
        std::swap(c, c_next);
      }
      return WriteFinalState(h, c);
    }
    // Rows per parallel chunk: the gate math of a step is small next to its GEMM, so only split it when
    // each thread gets at least 64K gate values (waking the pool costs about as much as 10K of them).
    const int64_t min_chunk = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, gh_));
    T* rec_data = rec.data<T>();
    for (int64_t s = 0; s < steps; ++s) {
      if (gru_reset_first) {
        TS_RETURN_IF_ERROR(gemms_.Run(RecurrenceSlot(d_, 0), h, batch, hidden, r, 2 * hidden, hidden, hidden,
                                      static_cast<const T*>(nullptr), rec_data, gh_));
        T* rh = reset_h.data<T>();
        ForActiveRows(s, min_chunk, [&](int64_t b, int64_t t) {
          T* row = rec_data + b * gh_;
          GruUpdateResetRow(params_, ProjRow(t, b), row);
          const T* reset = row + hidden;
          for (int64_t i = 0; i < hidden; ++i) rh[b * hidden + i] = reset[i] * h[b * hidden + i];
        });
        TS_RETURN_IF_ERROR(gemms_.Run(RecurrenceSlot(d_, 1), rh, batch, hidden, r + 2 * hidden * hidden, hidden, hidden,
                                      hidden, static_cast<const T*>(nullptr), rec_data + 2 * hidden, gh_));
      } else {
        TS_RETURN_IF_ERROR(gemms_.RunRecurrence(RecurrenceSlot(d_, 0), h, batch, hidden, r, gh_, hidden, hidden,
                                                rec_data, gh_, s % 2 == 1));
      }
      ForAllRows(s, min_chunk, [&](int64_t b, int64_t t) {
        T* h_out = h_next + b * hidden;
        if (t < 0) {  // this row's sequence has ended: carry its state
          std::memcpy(h_out, h + b * hidden, hidden * sizeof(T));
          if (lstm) std::memcpy(c_next + b * hidden, c + b * hidden, hidden * sizeof(T));
          return;
        }
        T* row = rec_data + b * gh_;
        const T* proj = ProjRow(t, b);
        switch (a_.cell) {
          case RnnCell::kRnn: RnnCellRow(params_, proj, row, h_out); break;
          case RnnCell::kLstm: LstmCellRow(params_, proj, row, c + b * hidden, h_out, c_next + b * hidden); break;
          case RnnCell::kGru:
            if (!gru_reset_first) GruUpdateResetRow(params_, proj, row);
            GruHiddenRow(params_, a_.linear_before_reset, proj, row, h + b * hidden, h_out);
            break;
        }
        if (data_.y) std::memcpy(data_.y + OutputOffset(t, b), h_out, hidden * sizeof(T));
      });
      std::swap(h, h_next);
      std::swap(c, c_next);
    }
    return WriteFinalState(h, c);
  }

 private:
  Status WriteFinalState(const T* h, const T* c) {
    const int64_t hidden = data_.hidden;
    for (int64_t b = 0; b < data_.batch; ++b) {
      if (data_.y_h) std::memcpy(data_.y_h + StateOffset(b), h + b * hidden, hidden * sizeof(T));
      if (data_.y_c) std::memcpy(data_.y_c + StateOffset(b), c + b * hidden, hidden * sizeof(T));
    }
    return Status::Ok();
  }

  bool SplitsAcrossThreads() const {
    const int64_t macs = data_.batch * gh_ * data_.hidden;
    return std::is_same_v<T, float> && a_.cell == RnnCell::kLstm && pool_.threads() > 1 && data_.hidden >= 32 &&
           macs >= kSplitLstmMacs && macs <= kSplitLstmMaxMacs;
  }

  // The LSTM time loop with the hidden units split across the pool's threads: each part (a contiguous,
  // 16-aligned range of units) runs the four gate products for its rows of R and the cell math for its
  // units, and the threads meet at a SpinBarrier once per step, since the next step reads all of h. One
  // parallel region serves the whole sequence, so sleeping OpenMP workers are woken once, not per step.
  Status RunLstmSplit(T* h, T* h_next, T* c, T* c_next, int64_t steps, const T* r) {
    const int64_t batch = data_.batch, hidden = data_.hidden;
    const int parts = static_cast<int>(std::min<int64_t>({pool_.threads(), hidden / 16, kMaxSplitParts}));
    std::vector<int64_t> bounds(static_cast<size_t>(parts) + 1);
    for (int p = 0; p <= parts; ++p) bounds[static_cast<size_t>(p)] = hidden / 16 * p / parts * 16;
    bounds.back() = hidden;
    std::vector<Tensor> rec(static_cast<size_t>(parts)), proj(static_cast<size_t>(parts));
    std::vector<std::vector<T>> peephole(static_cast<size_t>(parts));
    for (int p = 0; p < parts; ++p) {
      const int64_t j0 = bounds[static_cast<size_t>(p)], len = bounds[static_cast<size_t>(p) + 1] - j0;
      for (int g = 0; g < 4; ++g) gemms_.Reserve(SplitSlot(d_, p, g), len, hidden);
      TS_ASSIGN_OR_RETURN(rec[static_cast<size_t>(p)], Scratch<T>(batch, 4 * len, false));
      TS_ASSIGN_OR_RETURN(proj[static_cast<size_t>(p)], Scratch<T>(1, 4 * len, false));
      if (params_.peephole != nullptr) {  // [3 * hidden] (i, o, f) -> this part's units of each
        std::vector<T>& mine = peephole[static_cast<size_t>(p)];
        for (int g = 0; g < 3; ++g)
          for (int64_t i = 0; i < len; ++i) mine.push_back(params_.peephole[g * hidden + j0 + i]);
      }
    }
    std::vector<Status> errors(static_cast<size_t>(parts));
    pool_.RunTeam([&](int thread, int team, SpinBarrier& barrier) {
      T *hc = h, *hn = h_next, *cc = c, *cn = c_next;
      for (int64_t s = 0; s < steps; ++s) {
        for (int p = thread; p < parts; p += team) {
          const size_t up = static_cast<size_t>(p);
          if (!errors[up].ok()) continue;  // keep meeting the others at the barrier
          errors[up] = RunLstmPart(s, p, bounds[up], bounds[up + 1], r, hc, hn, cc, cn, rec[up].template data<T>(),
                                   proj[up].template data<T>(), peephole[up]);
        }
        barrier.Wait();
        std::swap(hc, hn);
        std::swap(cc, cn);
      }
    });
    for (const Status& e : errors) TS_RETURN_IF_ERROR(e);
    return Status::Ok();
  }

  // One step of units [j0, j1) for every batch row: rec = h . R[gate rows of these units]^T, then the cell.
  Status RunLstmPart(int64_t s, int p, int64_t j0, int64_t j1, const T* r, const T* h, T* h_next, const T* c,
                     T* c_next, T* rec, T* proj, const std::vector<T>& peephole) {
    const int64_t batch = data_.batch, hidden = data_.hidden, len = j1 - j0;
    // The gates' rows of R (and each gate's panels), taken in turn forward and backward: a part's R (2 MB
    // for LSTM(512)) outgrows a core's L2, and reading it in one order every step evicts each gate before it
    // is read again, while the reversed order starts with the gates read last, still in L2 (LSTM(512),
    // batch 1, 2 threads: 6.5 -> 5.4 ms for the gate order alone).
    for (int i = 0; i < 4; ++i) {
      const int g = s % 2 == 0 ? i : 3 - i;
      TS_RETURN_IF_ERROR(gemms_.RunRecurrence(SplitSlot(d_, p, g), h, batch, hidden, r + (g * hidden + j0) * hidden,
                                              len, hidden, hidden, rec + g * len, 4 * len, s % 2 == 1));
    }
    RnnCellParams<T> part = params_;
    part.hidden = len;
    part.peephole = peephole.empty() ? nullptr : peephole.data();
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t t = TimeOf(s, b), at = b * hidden + j0;
      if (t < 0) {  // this row's sequence has ended: carry its state
        std::memcpy(h_next + at, h + at, len * sizeof(T));
        std::memcpy(c_next + at, c + at, len * sizeof(T));
        continue;
      }
      const T* full = ProjRow(t, b);
      for (int g = 0; g < 4; ++g) std::memcpy(proj + g * len, full + g * hidden + j0, len * sizeof(T));
      LstmCellRow(part, proj, rec + b * 4 * len, c + at, h_next + at, c_next + at);
      if (data_.y) std::memcpy(data_.y + OutputOffset(t, b) + j0, h_next + at, len * sizeof(T));
    }
    return Status::Ok();
  }

  size_t ActivationsPerDirection() const { return a_.activations.size() / static_cast<size_t>(a_.num_directions); }

  // Time index of batch row b at step s, or -1 past its length.
  int64_t TimeOf(int64_t s, int64_t b) const {
    const int64_t len = data_.lengths[static_cast<size_t>(b)];
    if (s >= len) return -1;
    return backward_ ? len - 1 - s : s;
  }
  const T* ProjRow(int64_t t, int64_t b) const {
    const int64_t row = a_.layout == 0 ? t * data_.batch + b : b * data_.seq + t;
    return proj_ + row * a_.num_directions * gh_ + d_ * gh_;
  }
  int64_t StateOffset(int64_t b) const {
    const int64_t dirs = a_.num_directions;
    return (a_.layout == 0 ? d_ * data_.batch + b : b * dirs + d_) * data_.hidden;
  }
  int64_t OutputOffset(int64_t t, int64_t b) const {
    const int64_t dirs = a_.num_directions;
    return (a_.layout == 0 ? (t * dirs + d_) * data_.batch + b : (b * data_.seq + t) * dirs + d_) * data_.hidden;
  }
  // fn(b, t) for every batch row, t = -1 for rows past their length.
  template <typename F>
  void ForAllRows(int64_t s, int64_t min_chunk, F&& fn) {
    pool_.ParallelFor(data_.batch, min_chunk, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) fn(b, TimeOf(s, b));
    });
  }
  template <typename F>
  void ForActiveRows(int64_t s, int64_t min_chunk, F&& fn) {
    ForAllRows(s, min_chunk, [&](int64_t b, int64_t t) {
      if (t >= 0) fn(b, t);
    });
  }

  const RnnAttributes& a_;
  const RnnData<T>& data_;
  RnnGemms& gemms_;
  ThreadPool& pool_;
  int d_;
  const T* proj_;
  int64_t gh_ = 0;
  bool backward_ = false;
  RnnCellParams<T> params_;
};

}  // namespace

template <typename T>
Status RunRecurrentLayer(const RnnAttributes& attrs, const RnnData<T>& data, RnnGemms& gemms, Tensor& projection,
                         ThreadPool& pool) {
  const int dirs = attrs.num_directions;
  const int64_t hidden = data.hidden, gh = attrs.gates * hidden, rows = data.seq * data.batch;
  // Folded biases per projection column: Wb + Rb, except GRU's Rbh under linear_before_reset, which is
  // applied inside r (.) (H·Rh^T + Rbh) at each step.
  std::vector<T> bias(static_cast<size_t>(dirs * gh), T(0));
  const bool split_rbh = attrs.cell == RnnCell::kGru && attrs.linear_before_reset;
  if (data.b) {
    for (int d = 0; d < dirs; ++d) {
      const T* wb = data.b + d * 2 * gh;
      const T* rb = wb + gh;
      for (int64_t j = 0; j < gh; ++j) {
        const bool rbh = split_rbh && j >= 2 * hidden;
        bias[static_cast<size_t>(d * gh + j)] = wb[j] + (rbh ? T(0) : rb[j]);
      }
    }
  }
  // Weights fed at run time may differ from the last run's; within a run they are fixed.
  if (!data.weights_constant) gemms.InvalidatePackedWeights();
  if (projection.dtype() != kDType<T> || projection.element_count() < rows * dirs * gh) {
    projection = Tensor();  // release the old buffer before taking the new one
    TS_ASSIGN_OR_RETURN(projection, Scratch<T>(rows, dirs * gh, false));
  }
  Tensor& proj = projection;
  TS_RETURN_IF_ERROR(gemms.Run(kProjectionSlot, data.x, rows, data.input, data.w, dirs * gh, data.input, data.input,
                               bias.data(), proj.data<T>(), dirs * gh));
  for (int d = 0; d < dirs; ++d) {
    const T* bias_rh = split_rbh && data.b ? data.b + d * 2 * gh + gh + 2 * hidden : nullptr;
    TS_RETURN_IF_ERROR(DirectionRunner<T>(attrs, data, gemms, pool, d, proj.data<T>(), bias_rh).Run());
  }
  return Status::Ok();
}

template Status RunRecurrentLayer<float>(const RnnAttributes&, const RnnData<float>&, RnnGemms&, Tensor&, ThreadPool&);
template Status RunRecurrentLayer<double>(const RnnAttributes&, const RnnData<double>&, RnnGemms&, Tensor&,
                                          ThreadPool&);

}  // namespace tessera
