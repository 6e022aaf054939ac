// com.microsoft MatMulNBits: Y = A x W^T (+ bias) with W blockwise quantized to 4 or 8 bits (see
// matmul_nbits_weights.h for the layout). Inputs: A [..., K] (float32, float16, bfloat16), B, scales,
// optional zero_points, g_idx and bias [N]; Y is A's dtype with shape A.shape[:-1] + [N].
//
// Creation validates the attributes and, when B, scales, zero_points and g_idx are initializers (the
// exported form), the weights, once. Two algorithms, chosen by the rows M of A:
// - M <= kNBitsGemvMaxRows (decode): NBitsGemv reads the packed weight once, dequantizing in registers,
//   split over N across the pool. The weight is never expanded.
// - larger M (prefill) or a g_idx that reorders the blocks: tiles of columns of W are dequantized to
//   float32 (about 8 MiB each) and multiplied by oneDNN, so the full-precision weight never exists at once.
// accuracy_level 4 lets the product quantize A to int8 (the attribute's definition): every M then runs
// on VNNI (matmul_nbits_gemv_int8.cc) where the CPU has it, reading the weight once, prefill included,
// from panels of 16 columns laid out at creation (matmul_nbits_panels.h) that replace B, scales and zero
// points; other levels accumulate in float32.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/matmul/matmul_dnnl.h"
#include "ops/cpu/quantization/matmul_nbits_panels.h"
#include "ops/cpu/quantization/matmul_nbits_weights.h"
#include "ops/cpu/quantization/quant_family.h"

namespace tessera {
namespace {

constexpr int64_t kTileBytes = int64_t{8} << 20;  // float32 bytes of one dequantized tile of W
// The least work (weight bytes times rows of A) worth handing to another pool thread: a fork and join of
// the pool costs microseconds, about what one core takes to stream 64 KiB, so the small layers of a small
// decoder (8 KiB of 4-bit weight at 128 x 128) run on the calling thread.
constexpr int64_t kMinParallelWork = int64_t{64} << 10;

// Columns per chunk of a ParallelFor over N: at least 16, and at least kMinParallelWork of work.
int64_t ColumnsPerChunk(const NBitsWeights& w, int64_t rows) {
  const int64_t work_per_column = std::max<int64_t>(1, w.k_blocks * w.blob_size * rows);
  return std::max<int64_t>(16, (kMinParallelWork + work_per_column - 1) / work_per_column);
}

// What the threads of the int8 product share, behind one pointer so that the std::function holding the
// lambda stores it in place (no allocation per call). Each thread takes runs of `grab` panels from `next`
// until none are left: on a machine shared with other jobs a thread that is descheduled for a while
// leaves its share to the others instead of holding up the join (the fixed halves of ParallelFor did).
struct Int8Product {
  const NBitsPanels* w;
  const NBitsQuantizedRows* a;
  float* y;
  int64_t grab;
  std::atomic<int64_t> next{0};
};

class MatMulNBitsKernel : public Kernel {
 public:
  // `panels`, when packed (the constant weight at accuracy_level 4 on a VNNI CPU), replaces `weights`.
  MatMulNBitsKernel(NBitsAttributes attrs, bool prepared, NBitsWeights weights, NBitsPanels panels)
      : attrs_(attrs), prepared_(prepared), weights_(std::move(weights)), panels_(std::move(panels)) {}

  bool HasOwnCopyOfConstant(size_t input) const override { return prepared_ && input >= 1 && input <= 4; }

  Status Run(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    if (a.dtype() != DType::kFloat32 && a.dtype() != DType::kFloat16 && a.dtype() != DType::kBFloat16) {
      return KernelContext::Error(std::string("input 'A' must be float32, float16 or bfloat16, got ") +
                                  DTypeName(a.dtype()));
    }
    if (a.rank() < 1 || a.dim(a.rank() - 1) != attrs_.K) {
      return KernelContext::Error("input 'A' must have last dim K=" + std::to_string(attrs_.K) + ", got shape " +
                                  ShapeToString(a.shape()));
    }
    NBitsWeights run_weights;
    NBitsPanels run_panels;
    const NBitsWeights* w = &weights_;
    const NBitsPanels* panels = panels_.records ? &panels_ : nullptr;
    if (!prepared_) {
      if (!ctx.has_input(1) || !ctx.has_input(2)) return KernelContext::Error("inputs 'B' and 'scales' are required");
      TS_RETURN_IF_ERROR(BuildNBitsWeights(attrs_, ctx.input(1), ctx.input(2), ctx.has_input(3) ? &ctx.input(3) : nullptr,
                                           ctx.has_input(4) ? &ctx.input(4) : nullptr, run_weights));
      w = &run_weights;
      if (attrs_.accuracy_level == 4 && NBitsPanelsSupport(run_weights)) {
        TS_RETURN_IF_ERROR(PackNBitsPanels(run_weights, run_panels));
        panels = &run_panels;
      }
    }
    std::vector<float> bias;
    if (ctx.has_input(5)) {
      const Tensor& b = ctx.input(5);
      if (b.element_count() != attrs_.N) {
        return KernelContext::Error("input 'bias' must have N=" + std::to_string(attrs_.N) + " elements, got shape " +
                                    ShapeToString(b.shape()));
      }
      TS_RETURN_IF_ERROR(ReadBias(b, bias));
    }
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(attrs_.N);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, a.dtype(), out_shape));
    const int64_t m = attrs_.K == 0 ? 0 : a.element_count() / attrs_.K;
    if (m == 0) return Status::Ok();
    std::vector<float> y_scratch;
    float* yf = a.dtype() == DType::kFloat32 ? y->data<float>() : nullptr;
    if (yf == nullptr) {
      y_scratch.resize(static_cast<size_t>(m * attrs_.N));
      yf = y_scratch.data();
    }
    if (panels != nullptr) {
      RunInt8(ctx, a, *panels, m, yf);
    } else if (m <= kNBitsGemvMaxRows && w->g_idx.empty()) {
      RunGemv(ctx, a, *w, m, yf);
    } else {
      TS_RETURN_IF_ERROR(RunTiled(ctx, a, *w, m, yf));
    }
    if (!bias.empty()) {
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t n = 0; n < attrs_.N; ++n) yf[r * attrs_.N + n] += bias[static_cast<size_t>(n)];
      }
    }
    if (a.dtype() != DType::kFloat32) StoreFloats(yf, *y);
    return Status::Ok();
  }

 private:
  static Status ReadBias(const Tensor& b, std::vector<float>& out) {
    out.resize(static_cast<size_t>(b.element_count()));
    return DispatchFloatWithHalf(
        b.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(NumericTraits<T>::Load(b.data<T>()[i]));
          return Status::Ok();
        },
        "input 'bias'");
  }

  // Row r of A as float32 into dst[0, K), zero-filled to `width`.
  static void LoadRow(const Tensor& a, int64_t r, int64_t k, int64_t width, float* dst) {
    (void)DispatchFloatWithHalf(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = a.data<T>() + r * k;
      for (int64_t i = 0; i < k; ++i) dst[i] = static_cast<float>(NumericTraits<T>::Load(src[i]));
      return Status::Ok();
    });
    std::fill(dst + k, dst + width, 0.0f);
  }

  static void StoreFloats(const float* src, Tensor& y) {
    (void)DispatchFloatWithHalf(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* dst = y.data<T>();
      for (int64_t i = 0; i < y.element_count(); ++i) dst[i] = NumericTraits<T>::Store(src[i]);
      return Status::Ok();
    });
  }

  void RunInt8(KernelContext& ctx, const Tensor& a, const NBitsPanels& w, int64_t m, float* y) {
    const int64_t width = w.k_blocks * w.block_size;
    if (a_padded_.size() < static_cast<size_t>(m * width)) a_padded_.resize(static_cast<size_t>(m * width));
    for (int64_t r = 0; r < m; ++r) LoadRow(a, r, attrs_.K, width, a_padded_.data() + r * width);
    QuantizeNBitsRows(w, a_padded_.data(), static_cast<int>(m), quantized_a_);
    const int64_t work_per_panel = std::max<int64_t>(1, w.k_blocks * w.record_bytes * m);
    const int64_t min_panels = std::max<int64_t>(1, (kMinParallelWork + work_per_panel - 1) / work_per_panel);
    const int64_t threads = std::min<int64_t>(ctx.pool().threads(), w.panels / min_panels);
    if (threads <= 1) {
      NBitsGemvInt8(w, quantized_a_, 0, w.panels, y, w.N);
      return;
    }
    // About four runs per thread: few atomics, and a late thread's last run is small.
    Int8Product job{&w, &quantized_a_, y, std::max(min_panels, w.panels / (4 * threads))};
    ctx.pool().ParallelFor(threads, 1, [&job](int64_t, int64_t) {
      const int64_t panels = job.w->panels;
      for (int64_t p0 = job.next.fetch_add(job.grab); p0 < panels; p0 = job.next.fetch_add(job.grab)) {
        NBitsGemvInt8(*job.w, *job.a, p0, std::min(panels, p0 + job.grab), job.y, job.w->N);
      }
    });
  }

  void RunGemv(KernelContext& ctx, const Tensor& a, const NBitsWeights& w, int64_t m, float* y) {
    const int64_t width = w.k_blocks * w.block_size;
    a_padded_.resize(static_cast<size_t>(m * width));
    block_sums_.resize(static_cast<size_t>(m * w.k_blocks));
    for (int64_t r = 0; r < m; ++r) {
      float* row = a_padded_.data() + r * width;
      LoadRow(a, r, attrs_.K, width, row);
      for (int64_t g = 0; g < w.k_blocks; ++g) {
        float s = 0.0f;
        for (int64_t j = 0; j < w.block_size; ++j) s += row[g * w.block_size + j];
        block_sums_[static_cast<size_t>(r * w.k_blocks + g)] = s;
      }
    }
    ctx.pool().ParallelFor(w.N, ColumnsPerChunk(w, m), [&](int64_t n0, int64_t n1) {
      NBitsGemv(w, a_padded_.data(), block_sums_.data(), static_cast<int>(m), n0, n1, y, w.N);
    });
  }

  Status RunTiled(KernelContext& ctx, const Tensor& a, const NBitsWeights& w, int64_t m, float* y) {
    const int64_t k = attrs_.K, n_total = w.N;
    const float* af = a.dtype() == DType::kFloat32 ? a.data<float>() : nullptr;
    if (af == nullptr) {
      a_padded_.resize(static_cast<size_t>(m * k));
      for (int64_t r = 0; r < m; ++r) LoadRow(a, r, k, k, a_padded_.data() + r * k);
      af = a_padded_.data();
    }
    const int64_t tile = std::min(n_total, std::max<int64_t>(16, kTileBytes / (4 * k) / 16 * 16));
    tile_.resize(static_cast<size_t>(tile * k));
    c_tile_.resize(static_cast<size_t>(m * tile));
    for (int64_t n0 = 0; n0 < n_total; n0 += tile) {
      const int64_t nt = std::min(tile, n_total - n0);
      ctx.pool().ParallelFor(nt, 8, [&](int64_t b, int64_t e) {
        DequantizeNBitsRows(w, n0 + b, n0 + e, tile_.data() + b * k, k);
      });
      // The tile holds W rows, i.e. B = W^T as a column-major [K, nt] matrix.
      const DnnlMatrixDesc a_desc = ContiguousMatrix({m, k});
      const DnnlMatrixDesc b_desc{{k, nt}, {1, k}};
      const DnnlMatrixDesc c_desc = ContiguousMatrix({m, nt});
      TS_RETURN_IF_ERROR(matmul_.Run(af, a_desc, tile_.data(), b_desc, c_tile_.data(), c_desc, ctx.pool().threads()));
      for (int64_t r = 0; r < m; ++r) {
        std::memcpy(y + r * n_total + n0, c_tile_.data() + r * nt, static_cast<size_t>(nt) * sizeof(float));
      }
    }
    return Status::Ok();
  }

  NBitsAttributes attrs_;
  bool prepared_;
  NBitsWeights weights_;
  NBitsPanels panels_;
  DnnlMatMul matmul_;
  // Per-run scratch kept between runs (a kernel runs one call at a time).
  std::vector<float> a_padded_, block_sums_, tile_, c_tile_;
  NBitsQuantizedRows quantized_a_;
};

bool InputGiven(const Node& node, size_t i) {
  return i < node.explicit_input_count && i < node.inputs.size() && node.inputs[i] != kNoValue;
}

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeMatMulNBitsKernel(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(NBitsAttributes attrs, ReadNBitsAttributes(init.node));
  if (!InputGiven(init.node, 0) || !InputGiven(init.node, 1) || !InputGiven(init.node, 2)) {
    return KernelContext::Error("inputs 'A', 'B' and 'scales' are required");
  }
  // The weights are read once when every input that defines them is a constant.
  const Tensor* b = init.constant_input(1);
  const Tensor* scales = init.constant_input(2);
  const Tensor* zp = InputGiven(init.node, 3) ? init.constant_input(3) : nullptr;
  const Tensor* g_idx = InputGiven(init.node, 4) ? init.constant_input(4) : nullptr;
  const bool all_constant = b != nullptr && scales != nullptr && (!InputGiven(init.node, 3) || zp != nullptr) &&
                            (!InputGiven(init.node, 4) || g_idx != nullptr);
  NBitsWeights weights;
  NBitsPanels panels;
  if (all_constant) {
    TS_RETURN_IF_ERROR(BuildNBitsWeights(attrs, *b, *scales, zp, g_idx, weights));
    if (attrs.accuracy_level == 4 && NBitsPanelsSupport(weights)) {
      TS_RETURN_IF_ERROR(PackNBitsPanels(weights, panels));
      weights = NBitsWeights();  // the panels are the weight from now on: B is held once
    }
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<MatMulNBitsKernel>(attrs, all_constant, std::move(weights), std::move(panels)));
}

}  // namespace tessera
