// MatMul (numpy.matmul semantics) and the registration of the MatMul family (MatMul, Gemm, Einsum,
// com.tessera FusedMatMul).
//
// float32 runs on oneDNN's matmul primitive, built per input shapes and cached (DnnlMatMul); a constant
// B is pre-packed once, and one to four rows of A (decode) then read that packed copy with PanelGemv
// (matmul_gemv_panels.h), which streams it faster than oneDNN's matmul does at M = 1. float16/bfloat16
// widen to float32 for oneDNN too. Other dtypes run the plain blocked loops of matmul_reference.h. K == 0
// gives zeros (an empty sum).
#include <atomic>
#include <memory>

#include "ops/cpu/matmul/matmul_batched.h"
#include "ops/cpu/matmul/matmul_family.h"
#include "ops/cpu/matmul/matmul_gemv_panels.h"
#include "ops/cpu/matmul/matmul_inputs.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

class MatMulKernel : public Kernel {
 public:
  // With `b_consumable` (KernelInit::constant_input_consumable) packing hands B's pages back as it goes.
  MatMulKernel(const Tensor* constant_b, bool b_consumable) {
    if (constant_b != nullptr && constant_b->dtype() == DType::kFloat32 && constant_b->rank() <= 2) {
      constant_b_ = *constant_b;  // keeps the initializer's memory alive until oneDNN has packed it
      b_shape_ = constant_b->shape();
      dnnl_.SetConstantB(constant_b_.data<float>(), b_consumable);
    }
  }

  bool HasOwnCopyOfConstant(size_t input) const override { return input == 1 && b_dropped_.load(); }

  Status Run(KernelContext& ctx) override {
    const bool packed_b = b_dropped_.load();
    TS_RETURN_IF_ERROR(packed_b ? RequirePresentInputs(ctx, {0}, "MatMul") : RequirePresentInputs(ctx, {0, 1}, "MatMul"));
    const Tensor& a = ctx.input(0);
    // Once B is packed, the constant input may be gone: its shape and dtype are the kernel's to know.
    const Shape& b_shape = packed_b ? b_shape_ : ctx.input(1).shape();
    const DType b_dtype = packed_b ? DType::kFloat32 : ctx.input(1).dtype();
    if (a.dtype() != b_dtype) {
      return KernelContext::Error(std::string("MatMul inputs must share a dtype, got A ") + DTypeName(a.dtype()) +
                                  " and B " + DTypeName(b_dtype));
    }
    TS_ASSIGN_OR_RETURN(MatMulPlan plan, PlanMatMul(a.shape(), b_shape));
    const bool empty = ShapeElementCount(plan.out_shape) == 0;
    if (plan.k == 0 || empty) return ctx.AllocateOutput(0, a.dtype(), plan.out_shape).status();
    TS_ASSIGN_OR_RETURN(Tensor * c, ctx.AllocateUninitializedOutput(0, a.dtype(), plan.out_shape));
    if (a.dtype() == DType::kFloat32) {
      if (packed_b && b_shape_.size() == 2 && RunPanelGemv(ctx, a, *c, plan)) return Status::Ok();
      TS_RETURN_IF_ERROR(DnnlBatchedMatMul(dnnl_, a.data<float>(), packed_b ? nullptr : ctx.input(1).data<float>(),
                                           c->data<float>(), plan, b_shape.size() > 2, ctx.pool().threads()));
      if (!packed_b && constant_b_.defined() && dnnl_.DropConstantSource()) {
        constant_b_ = Tensor();
        b_dropped_.store(true);
      }
      return Status::Ok();
    }
    const Tensor& b = ctx.input(1);
    if (a.dtype() == DType::kFloat16 || a.dtype() == DType::kBFloat16) return RunHalf(ctx, a, b, *c, plan);
    return DispatchNumericWithHalf(
        a.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          ReferenceBatchedMatMul<T>(a.data<T>(), b.data<T>(), c->data<T>(), plan, ctx.pool());
          return Status::Ok();
        },
        "MatMul");
  }

 private:
  // A few rows of A (decode) against the packed constant B: read B once, panel by panel, split over the
  // pool. Returns false, computing nothing, where oneDNN must run (more rows, B packed in another layout).
  bool RunPanelGemv(KernelContext& ctx, const Tensor& a, Tensor& c, const MatMulPlan& plan) {
    const int64_t rows = a.element_count() / plan.k;
    if (rows < 1 || rows > kPanelGemvMaxRows) return false;
    const PanelMatrix b = dnnl_.PackedPanels();
    if (b.data == nullptr || b.k != plan.k || b.n != plan.n) return false;
    const int64_t panels = (b.n + kPanelColumns - 1) / kPanelColumns;
    // A fork and join of the pool costs about what one core takes to stream 64 KiB: smaller products (a
    // small decoder's layers) stay on the calling thread.
    constexpr int64_t kMinParallelWork = int64_t{64} << 10;
    const int64_t panel_work = b.k_padded * kPanelColumns * static_cast<int64_t>(sizeof(float)) * rows;
    ctx.pool().ParallelFor(panels, (kMinParallelWork + panel_work - 1) / panel_work, [&](int64_t p0, int64_t p1) {
      PanelGemv(b, a.data<float>(), static_cast<int>(rows), plan.k, p0, p1, c.data<float>(), plan.n);
    });
    return true;
  }

  // 16-bit floats widen to float32 for oneDNN (exact) and round once at the end, which is both faster and
  // more accurate than accumulating in the plain loops.
  Status RunHalf(KernelContext& ctx, const Tensor& a, const Tensor& b, Tensor& c, const MatMulPlan& plan) {
    return DispatchFloatWithHalf(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
        using Traits = NumericTraits<T>;
        auto widen = [](const Tensor& t) {
          std::vector<float> v(static_cast<size_t>(t.element_count()));
          for (size_t i = 0; i < v.size(); ++i) v[i] = Traits::Load(t.data<T>()[i]);
          return v;
        };
        const std::vector<float> af = widen(a), bf = widen(b);
        std::vector<float> cf(static_cast<size_t>(c.element_count()));
        TS_RETURN_IF_ERROR(
            DnnlBatchedMatMul(half_dnnl_, af.data(), bf.data(), cf.data(), plan, b.rank() > 2, ctx.pool().threads()));
        for (size_t i = 0; i < cf.size(); ++i) c.data<T>()[i] = Traits::Store(cf[i]);
      }
      return Status::Ok();
    });
  }

  Tensor constant_b_;  // until dnnl_ has packed it
  Shape b_shape_;
  std::atomic<bool> b_dropped_{false};  // B lives on only packed inside dnnl_
  DnnlMatMul half_dnnl_;  // float32 primitives for 16-bit float inputs (no pre-packed B)
  DnnlMatMul dnnl_;
};

StatusOr<std::unique_ptr<Kernel>> MakeMatMulKernel(const KernelInit& init) {
  const bool consumable = init.constant_input_consumable && init.constant_input_consumable(1);
  return std::unique_ptr<Kernel>(
      std::make_unique<MatMulKernel>(init.constant_input ? init.constant_input(1) : nullptr, consumable));
}

}  // namespace

void RegisterMatMulKernels(KernelRegistry& registry) {
  registry.Register("MatMul", 1, kLatestOpset, MakeMatMulKernel);
  registry.Register("Gemm", 1, kLatestOpset, MakeGemmKernel);
  registry.Register("Einsum", 12, kLatestOpset, MakeEinsumKernel);
  KernelDef fused;
  fused.op_type = "FusedMatMul";
  fused.domain = "com.tessera";
  fused.since_opset = 1;
  fused.factory = MakeFusedMatMulKernel;
  registry.Register(std::move(fused));
}

}  // namespace tessera
