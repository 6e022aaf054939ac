// com.tessera FusedMatMul: Y = act(A x W + bias), made by the transformer fusion pass from a MatMul with a
// constant 2-D weight, the Add of a constant [N] bias, and optionally the erf form of GELU after it.
//
// Inputs: A (float32, rank >= 1, [..., K]), W (constant float32 [K, N]), bias (constant float32 [N]).
// Attribute `activation`: "" (none) or "gelu_erf". Output [..., N]. A's leading dims fold into the rows of
// one oneDNN matmul whose bias and GELU run as part of the primitive; W is packed once.
#include <atomic>
#include <memory>
#include <string>

#include "ops/cpu/matmul/matmul_dnnl.h"
#include "ops/cpu/matmul/matmul_family.h"
#include "ops/cpu/matmul/matmul_inputs.h"

namespace tessera {
namespace {

class FusedMatMulKernel : public Kernel {
 public:
  // With `weight_consumable` (KernelInit::constant_input_consumable) packing hands its pages back.
  FusedMatMulKernel(Tensor weight, Tensor bias, bool gelu_erf, bool weight_consumable)
      : weight_(std::move(weight)), bias_(std::move(bias)), k_(weight_.dim(0)), n_(weight_.dim(1)) {
    dnnl_.SetConstantB(weight_.data<float>(), weight_consumable);
    dnnl_.SetEpilogue(bias_.data<float>(), gelu_erf);
  }

  bool HasOwnCopyOfConstant(size_t input) const override { return input == 1 && weight_dropped_.load(); }

  Status Run(KernelContext& ctx) override {
    TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0}, "FusedMatMul"));
    const Tensor& a = ctx.input(0);
    const int64_t k = k_, n = n_;
    if (a.dtype() != DType::kFloat32 || a.rank() < 1 || a.shape().back() != k) {
      return KernelContext::Error("FusedMatMul input A must be float32 [..., " + std::to_string(k) + "], got " +
                                  DTypeName(a.dtype()) + " " + ShapeToString(a.shape()));
    }
    Shape out_shape = a.shape();
    out_shape.back() = n;
    const int64_t rows = a.element_count() / k;  // k > 0: the factory refuses empty weights
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, out_shape));
    if (rows == 0) return Status::Ok();
    const bool dropped = weight_dropped_.load();
    TS_RETURN_IF_ERROR(dnnl_.Run(a.data<float>(), ContiguousMatrix({rows, k}), dropped ? nullptr : weight_.data<float>(),
                                 ContiguousMatrix({k, n}), y->data<float>(), ContiguousMatrix({rows, n}),
                                 ctx.pool().threads()));
    // The packed copy is the weight from now on (Kernel::HasOwnCopyOfConstant).
    if (!dropped && dnnl_.DropConstantSource()) {
      weight_ = Tensor();
      weight_dropped_.store(true);
    }
    return Status::Ok();
  }

 private:
  Tensor weight_, bias_;  // the weight until dnnl_ has packed it; the bias for the epilogue's pointer
  int64_t k_, n_;
  std::atomic<bool> weight_dropped_{false};
  DnnlMatMul dnnl_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeFusedMatMulKernel(const KernelInit& init) {
  const Tensor* weight = init.constant_input ? init.constant_input(1) : nullptr;
  const Tensor* bias = init.constant_input ? init.constant_input(2) : nullptr;
  if (weight == nullptr || bias == nullptr || weight->dtype() != DType::kFloat32 || weight->rank() != 2 ||
      bias->dtype() != DType::kFloat32 || bias->rank() != 1 || bias->dim(0) != weight->dim(1) ||
      weight->element_count() == 0) {
    return InvalidArgument(
        "FusedMatMul needs a constant non-empty float32 [K, N] weight and a constant float32 [N] bias");
  }
  const std::string activation = init.node.GetString("activation", "");
  if (activation != "" && activation != "gelu_erf") {
    return InvalidArgument("FusedMatMul activation must be empty or gelu_erf, got '" + activation + "'");
  }
  const bool consumable = init.constant_input_consumable && init.constant_input_consumable(1);
  return std::unique_ptr<Kernel>(
      std::make_unique<FusedMatMulKernel>(*weight, *bias, activation == "gelu_erf", consumable));
}

}  // namespace tessera
