// Clip: y = min(max(x, lo), hi).
//
// Before opset 11 the bounds are float attributes `min` and `max` (defaults: the float range); from 11
// they are optional one-element inputs of the input's dtype (integers since opset 12), absent meaning
// unbounded. When lo > hi every element becomes hi (numpy's clip order). NaN inputs stay NaN.
#include <limits>

#include "ops/cpu/common/broadcast.h"
#include "ops/cpu/elementwise/elementwise_registration.h"

namespace tessera {
namespace {

template <typename T>
void ClipRange(const T* x, T* y, int64_t n, ComputeOf<T> lo, ComputeOf<T> hi, ThreadPool& pool) {
  ForEachElementRange(n, pool, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      ComputeOf<T> v = LoadValue(x[i]);
      v = v < lo ? lo : v;
      y[i] = StoreValue<T>(v > hi ? hi : v);
    }
  });
}

class ClipKernel : public Kernel {
 public:
  explicit ClipKernel(const Node& node) : bounds_from_attributes_(node.opset < 11) {
    attr_min_ = node.GetFloat("min", std::numeric_limits<float>::lowest());
    attr_max_ = node.GetFloat("max", std::numeric_limits<float>::max());
  }

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    return DispatchTypeClass<TypeClass::kNumeric>(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          using C = ComputeOf<T>;
          // An absent bound is unbounded: +-inf for floats, so infinite inputs pass through.
          using Limits = std::numeric_limits<C>;
          C lo = Limits::has_infinity ? -Limits::infinity() : Limits::lowest();
          C hi = Limits::has_infinity ? Limits::infinity() : Limits::max();
          if (bounds_from_attributes_) {
            if constexpr (std::is_floating_point_v<C>) {
              lo = static_cast<C>(attr_min_);
              hi = static_cast<C>(attr_max_);
            }
          } else {
            for (size_t i = 1; i <= 2; ++i) {
              if (!ctx.has_input(i)) continue;
              const Tensor& bound = ctx.input(i);
              const char* name = i == 1 ? "min" : "max";
              if (bound.dtype() != x.dtype()) {
                return KernelContext::Error(std::string("input '") + name + "' has dtype " + DTypeName(bound.dtype()) +
                                            ", expected the input's " + DTypeName(x.dtype()));
              }
              if (bound.element_count() != 1) {
                return KernelContext::Error(std::string("input '") + name + "' must hold one value, got shape " +
                                            ShapeToString(bound.shape()));
              }
              (i == 1 ? lo : hi) = LoadValue(bound.data<T>()[0]);
            }
          }
          ClipRange<T>(x.data<T>(), y->data<T>(), x.element_count(), lo, hi, ctx.pool());
          return Status::Ok();
        },
        "Clip");
  }

 private:
  bool bounds_from_attributes_;
  float attr_min_, attr_max_;
};

}  // namespace

void RegisterElementwiseClipKernels(KernelRegistry& registry) {
  registry.Register("Clip", 1, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<ClipKernel>(init.node));
  });
}

}  // namespace tessera
