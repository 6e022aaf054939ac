// oneDNN-backed GEMMs for the recurrent kernels (see recurrent_matmul.h).
#include "ops/cpu/recurrent/recurrent_matmul.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "ops/cpu/common/dnnl_context.h"
#include "ops/cpu/matmul/matmul_gemv_panels.h"

namespace tessera {

using dnnl::memory;

namespace {

// GEMMs below this many multiply-adds run on the calling thread alone (DnnlSerialScope), and the
// per-step recurrence pays a fork at every step. With sleeping workers (passive waiting) a fork wakes them,
// which costs as much as ~100 us of work: LSTM(256) at batch 2 (524K per step) took 5.2-6.5 ms at
// --threads 2 with a 100K limit and 1.3-1.5 ms on one thread (2026-11-30), and LSTM(512) at batch 1 (1M
// per step) 12.2-14.3 ms parallel against 10.7-12.4 serial. Spinning workers fork in about a microsecond:
// there LSTM(512) at batch 1 went from 9.2 ms serial to 6.1 ms split (2026-12-07).
constexpr int64_t kSerialMacsSleeping = 2000000;
constexpr int64_t kSerialMacsSpinning = int64_t{1} << 19;

// Primitives kept per weight matrix (one per distinct m and strides seen).
constexpr size_t kMaxPlans = 16;

}  // namespace

StatusOr<RnnMatMulF32::Plan*> RnnMatMulF32::FindPlan(int64_t m, int64_t lda, int64_t ldc, int64_t ldb, bool with_bias) {
  const auto key = std::make_tuple(m, lda, ldc, ldb, with_bias);
  if (auto it = plans_.find(key); it != plans_.end()) return &it->second;
  try {
    const memory::desc src_md({m, k_}, memory::data_type::f32, memory::dims{lda, 1});
    const memory::desc weights_any({k_, n_}, memory::data_type::f32, memory::format_tag::any);
    const memory::desc bias_md({1, n_}, memory::data_type::f32, memory::format_tag::ab);
    const memory::desc dst_md({m, n_}, memory::data_type::f32, memory::dims{ldc, 1});
    // ONNX's [n, k] weight rows, read as the k x n matrix B^T.
    const memory::desc weights_user_md({k_, n_}, memory::data_type::f32, memory::dims{1, ldb});
    const dnnl::matmul::desc desc = with_bias ? dnnl::matmul::desc(src_md, weights_any, bias_md, dst_md)
                                              : dnnl::matmul::desc(src_md, weights_any, dst_md);
    const dnnl::matmul::primitive_desc pd(desc, DnnlEngine());
    Plan plan;
    plan.primitive = dnnl::matmul(pd);
    plan.weights_desc = pd.weights_desc();
    plan.src = memory(src_md, DnnlEngine(), DNNL_MEMORY_NONE);
    plan.weights_user = memory(weights_user_md, DnnlEngine(), DNNL_MEMORY_NONE);
    if (with_bias) plan.bias = memory(bias_md, DnnlEngine(), DNNL_MEMORY_NONE);
    plan.dst = memory(dst_md, DnnlEngine(), DNNL_MEMORY_NONE);
    // Shapes that vary from run to run (dynamic batch or sequence) would otherwise grow the cache forever.
    if (plans_.size() >= kMaxPlans) plans_.clear();
    return &plans_.emplace(key, std::move(plan)).first->second;
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN matmul for a recurrent GEMM (m=") + std::to_string(m) +
                    ", n=" + std::to_string(n_) + ", k=" + std::to_string(k_) + "): " + e.what());
  }
}

Status RnnMatMulF32::Run(const float* a, int64_t m, int64_t lda, const float* b, int64_t ldb, const float* bias,
                         float* c, int64_t ldc) {
  if (m == 0 || n_ == 0) return Status::Ok();
  if (k_ == 0) {  // oneDNN rejects empty dims; the product is just the bias
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n_; ++j) c[i * ldc + j] = bias ? bias[j] : 0.0f;
    }
    return Status::Ok();
  }
  const DnnlSerialScope threads(m * n_ * k_ < (OpenMpWorkersSpin() ? kSerialMacsSpinning : kSerialMacsSleeping));
  auto plan_or = FindPlan(m, lda, ldc, ldb, bias != nullptr);
  if (!plan_or.ok()) return plan_or.status();
  Plan& plan = **plan_or;
  try {
    dnnl::stream& stream = DnnlStream();
    EnsurePacked(plan, b);
    plan.src.set_data_handle(const_cast<float*>(a));
    plan.dst.set_data_handle(c);
    if (bias != nullptr) plan.bias.set_data_handle(const_cast<float*>(bias));
    // Memory objects are handles: the cached map sees the data handles set above.
    if (plan.args.empty() || plan.args.at(DNNL_ARG_WEIGHTS).get() != packed_.get()) {
      plan.args = {{DNNL_ARG_SRC, plan.src}, {DNNL_ARG_WEIGHTS, packed_}, {DNNL_ARG_DST, plan.dst}};
      if (bias != nullptr) plan.args.emplace(DNNL_ARG_BIAS, plan.bias);
    }
    plan.primitive.execute(stream, plan.args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN matmul for a recurrent GEMM failed: ") + e.what());
  }
  return Status::Ok();
}

void RnnMatMulF32::EnsurePacked(Plan& plan, const float* b) {
  if (packed_from_ == b && packed_desc_ == plan.weights_desc) return;
  if (!packed_ || packed_desc_ != plan.weights_desc) {
    packed_desc_ = plan.weights_desc;
    packed_ = memory(packed_desc_, DnnlEngine());
  }
  plan.weights_user.set_data_handle(const_cast<float*>(b));
  dnnl::reorder(plan.weights_user, packed_).execute(DnnlStream(), plan.weights_user, packed_);
  packed_from_ = b;
}

Status RnnMatMulF32::RunRecurrence(const float* a, int64_t m, int64_t lda, const float* b, int64_t ldb, float* c,
                                   int64_t ldc, bool backward) {
  if (m < 1 || m > kPanelGemvMaxRows || n_ == 0 || k_ == 0) return Run(a, m, lda, b, ldb, nullptr, c, ldc);
  auto plan_or = FindPlan(m, lda, ldc, ldb, false);
  if (!plan_or.ok()) return plan_or.status();
  try {
    EnsurePacked(**plan_or, b);
    DnnlStream().wait();
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN reorder of a recurrence matrix failed: ") + e.what());
  }
  // oneDNN's panels of 64 columns, K padded to 16 (the layout PanelGemv reads), or some other layout.
  const dnnl_memory_desc_t& d = packed_desc_.data;
  const dnnl_blocking_desc_t& blocking = d.format_desc.blocking;
  const bool panels = d.ndims == 2 && d.format_kind == dnnl_blocked && blocking.inner_nblks == 2 &&
                      blocking.inner_idxs[0] == 0 && blocking.inner_blks[0] == 16 && blocking.inner_idxs[1] == 1 &&
                      blocking.inner_blks[1] == kPanelColumns && blocking.strides[0] == 16 * kPanelColumns &&
                      blocking.strides[1] == d.padded_dims[0] * kPanelColumns && d.offset0 == 0;
  if (!panels) return Run(a, m, lda, b, ldb, nullptr, c, ldc);
  PanelMatrix matrix;
  matrix.data = static_cast<const float*>(packed_.get_data_handle());
  matrix.k = d.dims[0];
  matrix.n = d.dims[1];
  matrix.k_padded = d.padded_dims[0];
  const int64_t count = (n_ + kPanelColumns - 1) / kPanelColumns;
  if (!backward) {
    PanelGemv(matrix, a, static_cast<int>(m), lda, 0, count, c, ldc);
  } else {
    for (int64_t p = count - 1; p >= 0; --p) PanelGemv(matrix, a, static_cast<int>(m), lda, p, p + 1, c, ldc);
  }
  return Status::Ok();
}

Status RnnGemms::RunRecurrence(int slot, const float* a, int64_t m, int64_t lda, const float* b, int64_t n, int64_t k,
                               int64_t ldb, float* c, int64_t ldc, bool backward) {
  auto it = slots_.find(slot);
  if (it == slots_.end() || it->second.matmul == nullptr || it->second.n != n || it->second.k != k) {
    Reserve(slot, n, k);
    it = slots_.find(slot);
  }
  return it->second.matmul->RunRecurrence(a, m, lda, b, ldb, c, ldc, backward);
}

void RnnMatMulF64(const double* a, int64_t m, int64_t lda, const double* b, int64_t n, int64_t k, int64_t ldb,
                  const double* bias, double* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    const double* row = a + i * lda;
    for (int64_t j = 0; j < n; ++j) {
      const double* w = b + j * ldb;
      double sum = bias ? bias[j] : 0.0;
      for (int64_t p = 0; p < k; ++p) sum += row[p] * w[p];
      c[i * ldc + j] = sum;
    }
  }
}

void RnnGemms::Reserve(int slot, int64_t n, int64_t k) {
  Slot& s = slots_[slot];
  if (s.matmul == nullptr || s.n != n || s.k != k) {
    s.n = n;
    s.k = k;
    s.matmul = std::make_unique<RnnMatMulF32>(n, k);
  }
}

Status RnnGemms::Run(int slot, const float* a, int64_t m, int64_t lda, const float* b, int64_t n, int64_t k,
                     int64_t ldb, const float* bias, float* c, int64_t ldc) {
  auto it = slots_.find(slot);
  if (it == slots_.end() || it->second.matmul == nullptr || it->second.n != n || it->second.k != k) {
    Reserve(slot, n, k);
    it = slots_.find(slot);
  }
  return it->second.matmul->Run(a, m, lda, b, ldb, bias, c, ldc);
}

Status RnnGemms::Run(int slot, const double* a, int64_t m, int64_t lda, const double* b, int64_t n, int64_t k,
                     int64_t ldb, const double* bias, double* c, int64_t ldc) {
  RnnMatMulF64(a, m, lda, b, n, k, ldb, bias, c, ldc);
  return Status::Ok();
}

}  // namespace tessera
