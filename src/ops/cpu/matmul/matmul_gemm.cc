// Gemm: Y = alpha * op(A) x op(B) + beta * C, with op = optional transpose and C broadcast to [M, N].
//
// Opsets 1 and 6 carry a `broadcast` attribute and require C; from 7 C broadcasts unidirectionally
// (we accept that everywhere, since a broadcast C is a superset of the old rules), from 11 C is optional.
// float32 runs on oneDNN: the transposes are strides, alpha an output scale, and beta * C is written
// into Y first and then summed into by the primitive's sum post-op. A constant B is pre-packed.
#include <memory>
#include <string>

#include "ops/cpu/matmul/matmul_dnnl.h"
#include "ops/cpu/matmul/matmul_family.h"
#include "ops/cpu/matmul/matmul_inputs.h"
#include "ops/cpu/matmul/matmul_reference.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Y[i, j] = beta * C[broadcast i, j] (+ Y[i, j] when `add`).
template <typename T>
Status ApplyBias(const Tensor& c, float beta, T* y, int64_t m, int64_t n, bool add) {
  using Traits = NumericTraits<T>;
  using Acc = typename Traits::Compute;
  const Shape out{m, n};
  if (c.rank() > 2) return KernelContext::Error("Gemm input C must have rank <= 2, got " + ShapeToString(c.shape()));
  for (size_t i = 0; i < c.shape().size(); ++i) {
    const int64_t d = c.shape()[i], want = out[out.size() - c.shape().size() + i];
    if (d != 1 && d != want) {
      return KernelContext::Error("Gemm input C " + ShapeToString(c.shape()) + " does not broadcast to " +
                                  ShapeToString(out));
    }
  }
  const std::vector<int64_t> s = BroadcastStrides(c.shape(), out);
  const T* cd = c.data<T>();
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      Acc v = Traits::Load(cd[i * s[0] + j * s[1]]);
      if (beta != 1.0f) v = static_cast<Acc>(static_cast<double>(beta) * static_cast<double>(v));
      T& dst = y[i * n + j];
      dst = Traits::Store(add ? Traits::Load(dst) + v : v);
    }
  }
  return Status::Ok();
}

class GemmKernel : public Kernel {
 public:
  GemmKernel(const Node& node, const Tensor* constant_b)
      : alpha_(node.GetFloat("alpha", 1.0f)),
        beta_(node.GetFloat("beta", 1.0f)),
        trans_a_(node.GetInt("transA", 0) != 0),
        trans_b_(node.GetInt("transB", 0) != 0),
        product_(alpha_, false),
        product_plus_bias_(alpha_, true) {
    if (constant_b != nullptr && constant_b->dtype() == DType::kFloat32) {
      constant_b_ = *constant_b;
      product_.SetConstantB(constant_b_.data<float>());
      product_plus_bias_.SetConstantB(constant_b_.data<float>());
    }
  }

  Status Run(KernelContext& ctx) override {
    TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1}, "Gemm"));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.rank() != 2 || b.rank() != 2) {
      return KernelContext::Error("Gemm inputs A and B must be 2-D, got A " + ShapeToString(a.shape()) + " and B " +
                                  ShapeToString(b.shape()));
    }
    if (a.dtype() != b.dtype()) {
      return KernelContext::Error(std::string("Gemm inputs must share a dtype, got A ") + DTypeName(a.dtype()) +
                                  " and B " + DTypeName(b.dtype()));
    }
    const int64_t m = trans_a_ ? a.dim(1) : a.dim(0), k = trans_a_ ? a.dim(0) : a.dim(1);
    const int64_t kb = trans_b_ ? b.dim(1) : b.dim(0), n = trans_b_ ? b.dim(0) : b.dim(1);
    if (k != kb) {
      return KernelContext::Error("Gemm inner dimensions differ: A " + ShapeToString(a.shape()) +
                                  (trans_a_ ? " (transposed)" : "") + " gives K=" + std::to_string(k) + " but B " +
                                  ShapeToString(b.shape()) + (trans_b_ ? " (transposed)" : "") +
                                  " gives K=" + std::to_string(kb));
    }
    const bool has_c = ctx.has_input(2) && beta_ != 0.0f;
    if (has_c && ctx.input(2).dtype() != a.dtype()) {
      return KernelContext::Error(std::string("Gemm input C must have A's dtype ") + DTypeName(a.dtype()) + ", got " +
                                  DTypeName(ctx.input(2).dtype()));
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), {m, n}));
    if (m == 0 || n == 0) return Status::Ok();
    return DispatchNumericWithHalf(
        a.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          T* yd = y->data<T>();
          if constexpr (std::is_same_v<T, float>) {
            if (has_c) TS_RETURN_IF_ERROR(ApplyBias<float>(ctx.input(2), beta_, yd, m, n, false));
            if (k == 0) return Status::Ok();
            const DnnlMatrixDesc ad{{m, k}, trans_a_ ? std::vector<int64_t>{1, m} : std::vector<int64_t>{k, 1}};
            const DnnlMatrixDesc bd{{k, n}, trans_b_ ? std::vector<int64_t>{1, k} : std::vector<int64_t>{n, 1}};
            DnnlMatMul& product = has_c ? product_plus_bias_ : product_;
            return product.Run(a.data<float>(), ad, b.data<float>(), bd, yd, ContiguousMatrix({m, n}),
                               ctx.pool().threads());
          } else {
            RunReference<T>(a, b, yd, m, k, n, ctx.pool());
            if (has_c) return ApplyBias<T>(ctx.input(2), beta_, yd, m, n, true);
            return Status::Ok();
          }
        },
        "Gemm");
  }

 private:
  template <typename T>
  void RunReference(const Tensor& a, const Tensor& b, T* y, int64_t m, int64_t k, int64_t n, ThreadPool& pool) {
    using Traits = NumericTraits<T>;
    using Acc = typename Traits::Compute;
    if (k == 0) return;
    // Materialise the transposes so the inner loop streams contiguous rows.
    std::vector<T> at, bt;
    const T* ad = a.data<T>();
    const T* bd = b.data<T>();
    if (trans_a_) {
      at.resize(static_cast<size_t>(m * k));
      GatherStridedView(ad, {m, k}, {1, m}, at.data());
      ad = at.data();
    }
    if (trans_b_) {
      bt.resize(static_cast<size_t>(k * n));
      GatherStridedView(bd, {k, n}, {1, k}, bt.data());
      bd = bt.data();
    }
    const double alpha = alpha_;
    pool.ParallelFor(m, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, k * n)), [&](int64_t begin, int64_t end) {
      std::vector<Acc> acc(static_cast<size_t>(std::min(n, kGemmColumnBlock)));
      ReferenceGemmRows<Acc>(
          ad, bd, y, begin, end, k, n, acc.data(), [](T v) { return Traits::Load(v); },
          [](T v) { return Traits::Load(v); },
          [alpha](Acc v) {
            return Traits::Store(alpha == 1.0 ? v : static_cast<Acc>(alpha * static_cast<double>(v)));
          });
    });
  }

  float alpha_, beta_;
  bool trans_a_, trans_b_;
  Tensor constant_b_;
  DnnlMatMul product_;            // Y = alpha * A x B
  DnnlMatMul product_plus_bias_;  // Y += alpha * A x B, Y holding beta * C
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeGemmKernel(const KernelInit& init) {
  const Tensor* b = init.constant_input ? init.constant_input(1) : nullptr;
  return std::unique_ptr<Kernel>(std::make_unique<GemmKernel>(init.node, b));
}

}  // namespace tessera
