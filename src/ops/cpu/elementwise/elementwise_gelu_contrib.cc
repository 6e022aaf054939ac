// ONNX Runtime's com.microsoft GELU ops, which transformer exporters emit before ONNX had Gelu (opset 20):
// - Gelu(X): x * Phi(x) with the exact erf form.
// - BiasGelu(A, B): Gelu(A + B), B a 1-D bias over A's last axis.
// - FastGelu(X, bias?): the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) of
//   X (+ bias over the last axis).
// Float types compute in float32 (double in double).
#include <cmath>
#include <memory>
#include <string>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/elementwise/elementwise_registration.h"

namespace tessera {
namespace {

enum class GeluForm { kErf, kBiasErf, kFastTanh };

class ContribGeluKernel : public Kernel {
 public:
  explicit ContribGeluKernel(GeluForm form) : form_(form) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0)) return KernelContext::Error("input 0 is required");
    const Tensor& x = ctx.input(0);
    const Tensor* bias = nullptr;
    if (form_ == GeluForm::kBiasErf && !ctx.has_input(1)) return KernelContext::Error("input 'B' is required");
    if (form_ != GeluForm::kErf && ctx.has_input(1)) bias = &ctx.input(1);
    const int64_t last = x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
    if (bias != nullptr) {
      if (bias->rank() != 1 || bias->dim(0) != last || bias->dtype() != x.dtype()) {
        return KernelContext::Error("the bias must be 1-D with the input's last dim " + std::to_string(last) +
                                    " and its dtype, got " + DTypeName(bias->dtype()) + " " +
                                    ShapeToString(bias->shape()));
      }
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* in = x.data<T>();
          const T* b = bias ? bias->data<T>() : nullptr;
          T* out = y->data<T>();
          const bool tanh_form = form_ == GeluForm::kFastTanh;
          ctx.pool().ParallelFor(x.element_count(), 16384, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
              C v = Traits::Load(in[i]);
              if (b) v += Traits::Load(b[i % last]);
              C r;
              if (tanh_form) {
                r = C(0.5) * v * (C(1) + std::tanh(C(0.7978845608028654) * (v + C(0.044715) * v * v * v)));
              } else {
                r = C(0.5) * v * (C(1) + std::erf(v * C(0.7071067811865476)));
              }
              out[i] = Traits::Store(r);
            }
          });
          return Status::Ok();
        },
        form_ == GeluForm::kFastTanh ? "FastGelu" : "Gelu");
  }

 private:
  GeluForm form_;
};

KernelFactory ContribGeluFactory(GeluForm form) {
  return [form](const KernelInit&) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<ContribGeluKernel>(form));
  };
}

}  // namespace

void RegisterElementwiseContribGeluKernels(KernelRegistry& registry) {
  const std::string microsoft = "com.microsoft";
  registry.Register(KernelDef{"Gelu", microsoft, 1, kLatestOpset, "cpu", {}, ContribGeluFactory(GeluForm::kErf)});
  registry.Register(KernelDef{"BiasGelu", microsoft, 1, kLatestOpset, "cpu", {}, ContribGeluFactory(GeluForm::kBiasErf)});
  registry.Register(KernelDef{"FastGelu", microsoft, 1, kLatestOpset, "cpu", {}, ContribGeluFactory(GeluForm::kFastTanh)});
}

}  // namespace tessera
