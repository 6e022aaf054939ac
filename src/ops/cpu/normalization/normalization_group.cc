// GroupNormalization (opsets 18 and 21): X [N, C, D1, ...] is normalised over each group of C/num_groups
// channels and all spatial positions, then scaled and shifted. Opset 21 gives `scale` and `bias` one
// value per channel ([C]); opset 18 gave one per group ([num_groups]), the form ONNX later deprecated
// because exporters meant per channel; an opset-18 node with [C] parameters is read per channel too.
// Statistics are accumulated in double whatever `stash_type` asks (it only sets a floor on precision).
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/normalization/normalization_common.h"

namespace tessera {
namespace {

class GroupNormKernel : public Kernel {
 public:
  GroupNormKernel(const Node& node, int64_t groups)
      : epsilon_(node.GetFloat("epsilon", 1e-5f)), groups_(groups), opset_(node.opset) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(1) || !ctx.has_input(2)) return KernelContext::Error("inputs 'scale' and 'bias' are required");
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) return KernelContext::Error("input 'X' must have rank >= 2, got " + ShapeToString(x.shape()));
    const int64_t n = x.dim(0), c = x.dim(1);
    if (c % groups_ != 0) {
      return KernelContext::Error("input 'X' has " + std::to_string(c) + " channels, not a multiple of num_groups " +
                                  std::to_string(groups_));
    }
    int64_t inner = 1;
    for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t per_group = c / groups_;
    const int64_t param_count = ctx.input(1).element_count();
    const bool per_channel = opset_ >= 21 || param_count == c;
    const int64_t expected = per_channel ? c : groups_;
    TS_ASSIGN_OR_RETURN(auto scale, ReadParam<double>(ctx.input(1), "input 'scale'", expected));
    TS_ASSIGN_OR_RETURN(auto bias, ReadParam<double>(ctx.input(2), "input 'bias'", expected));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* src = x.data<T>();
          T* dst = y->data<T>();
          const int64_t group_size = per_group * inner;
          ctx.pool().ParallelFor(n * groups_, 1, [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
              const T* in = src + row * group_size;
              T* out = dst + row * group_size;
              double sum = 0, sum_sq = 0;
              for (int64_t i = 0; i < group_size; ++i) sum += static_cast<double>(Traits::Load(in[i]));
              const double mean = group_size ? sum / static_cast<double>(group_size) : 0.0;
              for (int64_t i = 0; i < group_size; ++i) {
                const double d = static_cast<double>(Traits::Load(in[i])) - mean;
                sum_sq += d * d;
              }
              const double var = group_size ? sum_sq / static_cast<double>(group_size) : 0.0;
              const double inv = 1.0 / std::sqrt(var + static_cast<double>(epsilon_));
              const int64_t g = row % groups_;
              for (int64_t k = 0; k < per_group; ++k) {
                const size_t p = static_cast<size_t>(per_channel ? g * per_group + k : g);
                const double a = scale[p] * inv, b = bias[p] - mean * a;
                for (int64_t i = k * inner; i < (k + 1) * inner; ++i) {
                  out[i] = Traits::Store(static_cast<C>(static_cast<double>(Traits::Load(in[i])) * a + b));
                }
              }
            }
          });
          return Status::Ok();
        },
        "GroupNormalization");
  }

 private:
  float epsilon_;
  int64_t groups_;
  int opset_;
};

}  // namespace

KernelFactory MakeGroupNormalizationFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    if (!init.node.HasAttribute("num_groups")) return KernelContext::Error("attribute 'num_groups' is required");
    const int64_t groups = init.node.GetInt("num_groups", 0);
    if (groups <= 0) {
      return KernelContext::Error("attribute 'num_groups' must be positive, got " + std::to_string(groups));
    }
    return std::unique_ptr<Kernel>(std::make_unique<GroupNormKernel>(init.node, groups));
  };
}

}  // namespace tessera
