// Dropout. In inference (every opset before 12, and from 12 whenever training_mode is false or the
// ratio is 0) the output aliases the input and the mask is all true.
//
// In training mode the output is random. With the `seed` attribute it is drawn exactly as the ONNX
// reference does (numpy's legacy RandomState: MT19937 seeded with `seed`, one 53-bit uniform double per
// element in row-major order, kept where u >= ratio), so seeded results are reproducible and match the
// reference; without a seed each run draws a fresh sequence.
#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>

#include "core/half.h"
#include "ops/cpu/control_flow/control_flow_common.h"
#include "ops/op_helpers.h"

namespace tessera {

namespace {

// numpy's random_sample(): 53 random bits from two 32-bit MT19937 draws.
double UniformDouble(std::mt19937& rng) {
  const uint32_t a = rng() >> 5, b = rng() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

// Fills the mask from `rng` and writes y = mask ? x * scale : 0, with the arithmetic in float
// (double for float64 inputs) like the numpy reference.
template <typename T, typename Load, typename Store>
void DropoutTraining(const T* x, T* y, bool* mask, int64_t n, double ratio, std::mt19937& rng, Load load, Store store) {
  using C = decltype(load(x[0]));
  const C scale = C(1) / (C(1) - static_cast<C>(ratio));
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = UniformDouble(rng) >= ratio;
    mask[i] = keep;
    y[i] = store(keep ? load(x[i]) * scale : C(0));
  }
}

class DropoutKernel : public Kernel {
 public:
  explicit DropoutKernel(std::optional<int64_t> seed) : seed_(seed) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0)) return KernelContext::Error("input 'data' is missing");
    const Tensor& x = ctx.input(0);
    double ratio = 0.5;
    bool training = false;
    if (ctx.opset() >= 12) {
      if (ctx.has_input(1)) {
        TS_ASSIGN_OR_RETURN(auto r, ReadFloatValues(ctx.input(1), "input 'ratio'"));
        if (r.size() != 1)
          return KernelContext::Error("input 'ratio' must hold one value, got " + std::to_string(r.size()));
        ratio = r[0];
      }
      if (ctx.has_input(2)) {
        TS_ASSIGN_OR_RETURN(training, ReadCondition(ctx.input(2), "input 'training_mode'"));
      }
    }
    if (!training || ratio == 0) return RunInference(ctx, x);
    if (!(ratio > 0 && ratio < 1)) {
      return KernelContext::Error("input 'ratio' must be in [0, 1) in training mode, got " + std::to_string(ratio));
    }
    std::mt19937 rng(seed_ ? static_cast<uint32_t>(*seed_) : std::random_device{}());
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    // The mask is drawn either way; when the node does not list it, it goes to a scratch tensor.
    Tensor scratch;
    Tensor* mask = &scratch;
    if (ctx.output_count() > 1) {
      TS_ASSIGN_OR_RETURN(mask, ctx.AllocateUninitializedOutput(1, DType::kBool, x.shape()));
    } else {
      TS_ASSIGN_OR_RETURN(scratch, Tensor::AllocateUninitialized(DType::kBool, x.shape()));
    }
    const int64_t n = x.element_count();
    auto same = [](auto v) { return v; };
    switch (x.dtype()) {
      case DType::kFloat32:
        DropoutTraining(x.data<float>(), y->data<float>(), mask->data<bool>(), n, ratio, rng, same, same);
        break;
      case DType::kFloat64:
        DropoutTraining(x.data<double>(), y->data<double>(), mask->data<bool>(), n, ratio, rng, same, same);
        break;
      case DType::kFloat16:
        DropoutTraining(x.data<uint16_t>(), y->data<uint16_t>(), mask->data<bool>(), n, ratio, rng, HalfToFloat,
                        FloatToHalf);
        break;
      case DType::kBFloat16:
        DropoutTraining(x.data<uint16_t>(), y->data<uint16_t>(), mask->data<bool>(), n, ratio, rng, BFloat16ToFloat,
                        FloatToBFloat16);
        break;
      default:
        return KernelContext::Error(std::string("training-mode dropout takes float tensors, got ") +
                                    DTypeName(x.dtype()));
    }
    return Status::Ok();
  }

 private:
  // y aliases x; the mask (when wanted) is all true, typed bool from opset 10 and like x before.
  static Status RunInference(KernelContext& ctx, const Tensor& x) {
    ctx.SetOutput(0, x);
    if (!ctx.wants_output(1)) return Status::Ok();
    if (ctx.opset() >= 10) {
      TS_ASSIGN_OR_RETURN(Tensor * mask, ctx.AllocateUninitializedOutput(1, DType::kBool, x.shape()));
      std::fill_n(mask->data<bool>(), mask->element_count(), true);
      return Status::Ok();
    }
    TS_ASSIGN_OR_RETURN(Tensor * mask, ctx.AllocateOutput(1, x.dtype(), x.shape()));
    const int64_t n = mask->element_count();
    switch (x.dtype()) {
      case DType::kFloat32:
        std::fill_n(mask->data<float>(), n, 1.0f);
        break;
      case DType::kFloat64:
        std::fill_n(mask->data<double>(), n, 1.0);
        break;
      case DType::kFloat16:
        std::fill_n(mask->data<uint16_t>(), n, FloatToHalf(1.0f));
        break;
      default:
        return KernelContext::Error(std::string("Dropout takes float tensors, got ") + DTypeName(x.dtype()));
    }
    return Status::Ok();
  }

  std::optional<int64_t> seed_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> CreateDropoutKernel(const KernelInit& init) {
  std::optional<int64_t> seed;
  if (init.node.HasAttribute("seed")) seed = init.node.GetInt("seed", 0);
  return std::unique_ptr<Kernel>(std::make_unique<DropoutKernel>(seed));
}

}  // namespace tessera
