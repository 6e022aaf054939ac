// Adagrad, Adam and Momentum (domain ai.onnx.preview.training, opset 1): one optimizer step over n
// tensors at once. Inputs are R (learning rate), T (update count), then n tensors of each per-tensor
// input group in order (X..., G..., [V...,] [H...]); outputs are the groups of new values in the same
// order. Every tensor of one index shares X's shape; arithmetic is in double, stored in X's dtype.
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/op_list.h"
#include "ops/cpu/common/scalar_io.h"

namespace tessera {
namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

struct OptimizerParams {
  double r = 0;  // learning rate, already adjusted for T where the op says so
  int64_t t = 0;
  double alpha = 0, beta = 0, epsilon = 0, norm = 0, norm_post = 0;
  bool nesterov = false;
};

// The per-tensor update: reads one element of each input group and writes one of each output group.
// `in` holds X, G and the state inputs; `out` the new X and the new states, in the op's order.
using StepFn = void (*)(const double* in, double* out, const OptimizerParams& p);

// Runs `step` over every element of every optimized tensor. `groups` is the number of per-tensor
// input groups (X, G and the states), `out_groups` the number of output groups.
template <typename T>
Status RunOptimizer(KernelContext& ctx, int64_t groups, int64_t out_groups, const OptimizerParams& p, StepFn step) {
  const int64_t n = (static_cast<int64_t>(ctx.input_count()) - 2) / groups;
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(static_cast<size_t>(2 + i));
    std::vector<const T*> in(static_cast<size_t>(groups));
    for (int64_t g = 0; g < groups; ++g) {
      const size_t index = static_cast<size_t>(2 + g * n + i);
      if (!ctx.has_input(index)) return KernelContext::Error("input " + std::to_string(index) + " is missing");
      const Tensor& t = ctx.input(index);
      if (t.dtype() != x.dtype() || t.shape() != x.shape()) {
        return KernelContext::Error("input " + std::to_string(index) + " (" + DTypeName(t.dtype()) + " " +
                                    ShapeToString(t.shape()) + ") must match optimized tensor " + std::to_string(i) +
                                    " (" + DTypeName(x.dtype()) + " " + ShapeToString(x.shape()) + ")");
      }
      in[static_cast<size_t>(g)] = t.data<T>();
    }
    std::vector<T*> out(static_cast<size_t>(out_groups));
    for (int64_t g = 0; g < out_groups; ++g) {
      TS_ASSIGN_OR_RETURN(Tensor * y,
                          ctx.AllocateUninitializedOutput(static_cast<size_t>(g * n + i), x.dtype(), x.shape()));
      out[static_cast<size_t>(g)] = y->data<T>();
    }
    double a[8], b[8];
    for (int64_t e = 0; e < x.element_count(); ++e) {
      for (int64_t g = 0; g < groups; ++g) a[g] = static_cast<double>(in[static_cast<size_t>(g)][e]);
      step(a, b, p);
      for (int64_t g = 0; g < out_groups; ++g) out[static_cast<size_t>(g)][e] = static_cast<T>(b[g]);
    }
  }
  return Status::Ok();
}

// Adagrad: in = {X, G, H}, out = {X_new, H_new}; p.r is already R / (1 + T * decay_factor).
void AdagradStep(const double* in, double* out, const OptimizerParams& p) {
  const double g = p.norm * in[0] + in[1];
  const double h = in[2] + g * g;
  out[0] = in[0] - p.r * g / (std::sqrt(h) + p.epsilon);
  out[1] = h;
}

// Adam: in = {X, G, V, H}, out = {X_new, V_new, H_new}; p.r is already bias-corrected for T > 0.
void AdamStep(const double* in, double* out, const OptimizerParams& p) {
  const double g = p.norm * in[0] + in[1];
  const double v = p.alpha * in[2] + (1 - p.alpha) * g;
  const double h = p.beta * in[3] + (1 - p.beta) * g * g;
  const double x = in[0] - p.r * v / (std::sqrt(h) + p.epsilon);
  out[0] = (1 - p.norm_post) * x;
  out[1] = v;
  out[2] = h;
}

// Momentum: in = {X, G, V}, out = {X_new, V_new}; beta is 1 on the first step (T == 0).
void MomentumStep(const double* in, double* out, const OptimizerParams& p) {
  const double g = p.norm * in[0] + in[1];
  const double v = p.alpha * in[2] + (p.t > 0 ? p.beta : 1.0) * g;
  out[0] = p.nesterov ? in[0] - p.r * (g + p.alpha * v) : in[0] - p.r * v;
  out[1] = v;
}

enum class Optimizer { kAdagrad, kAdam, kMomentum };

class OptimizerKernel : public Kernel {
 public:
  OptimizerKernel(Optimizer kind, OptimizerParams params, double decay) : kind_(kind), params_(params), decay_(decay) {}

  Status Run(KernelContext& ctx) override {
    const int64_t groups = kind_ == Optimizer::kAdam ? 4 : 3;
    const int64_t out_groups = kind_ == Optimizer::kAdam ? 3 : 2;
    const int64_t tensors = static_cast<int64_t>(ctx.input_count()) - 2;
    if (tensors <= 0 || tensors % groups != 0) {
      return KernelContext::Error("expects R, T and " + std::to_string(groups) + " inputs per optimized tensor, got " +
                                  std::to_string(ctx.input_count()) + " inputs");
    }
    if (static_cast<int64_t>(ctx.output_count()) != tensors / groups * out_groups) {
      return KernelContext::Error("expects " + std::to_string(out_groups) + " outputs per optimized tensor (" +
                                  std::to_string(tensors / groups * out_groups) + "), got " +
                                  std::to_string(ctx.output_count()));
    }
    OptimizerParams p = params_;
    TS_ASSIGN_OR_RETURN(p.r, ReadScalarFloat(ctx.input(0), "input 'R'"));
    TS_ASSIGN_OR_RETURN(p.t, ReadScalarInt(ctx.input(1), "input 'T'"));
    if (kind_ == Optimizer::kAdagrad) p.r /= 1.0 + static_cast<double>(p.t) * decay_;
    if (kind_ == Optimizer::kAdam && p.t > 0) {
      const double t = static_cast<double>(p.t);
      p.r *= std::sqrt(1 - std::pow(p.beta, t)) / (1 - std::pow(p.alpha, t));
    }
    const StepFn step = kind_ == Optimizer::kAdagrad ? AdagradStep
                        : kind_ == Optimizer::kAdam  ? AdamStep
                                                     : MomentumStep;
    return DispatchFloat(
        ctx.input(2).dtype(), [&](auto tag) { return RunOptimizer<decltype(tag)>(ctx, groups, out_groups, p, step); },
        "optimizer");
  }

 private:
  Optimizer kind_;
  OptimizerParams params_;
  double decay_;
};

StatusOr<std::unique_ptr<Kernel>> MakeAdagrad(const KernelInit& init) {
  OptimizerParams p;
  p.epsilon = init.node.GetFloat("epsilon", 1e-6f);
  p.norm = init.node.GetFloat("norm_coefficient", 0.0f);
  return std::unique_ptr<Kernel>(
      std::make_unique<OptimizerKernel>(Optimizer::kAdagrad, p, init.node.GetFloat("decay_factor", 0.0f)));
}

StatusOr<std::unique_ptr<Kernel>> MakeAdam(const KernelInit& init) {
  OptimizerParams p;
  p.alpha = init.node.GetFloat("alpha", 0.9f);
  p.beta = init.node.GetFloat("beta", 0.999f);
  p.epsilon = init.node.GetFloat("epsilon", 1e-6f);
  p.norm = init.node.GetFloat("norm_coefficient", 0.0f);
  p.norm_post = init.node.GetFloat("norm_coefficient_post", 0.0f);
  return std::unique_ptr<Kernel>(std::make_unique<OptimizerKernel>(Optimizer::kAdam, p, 0.0));
}

// Momentum's four attributes have no defaults in the schema: a model must give them all.
StatusOr<std::unique_ptr<Kernel>> MakeMomentum(const KernelInit& init) {
  for (const char* name : {"alpha", "beta", "norm_coefficient", "mode"}) {
    if (!init.node.HasAttribute(name)) return KernelContext::Error(std::string("attribute '") + name + "' is required");
  }
  const std::string mode = init.node.GetString("mode", "");
  if (mode != "standard" && mode != "nesterov") {
    return KernelContext::Error("attribute 'mode' must be 'standard' or 'nesterov', got '" + mode + "'");
  }
  OptimizerParams p;
  p.alpha = init.node.GetFloat("alpha", 0.0f);
  p.beta = init.node.GetFloat("beta", 0.0f);
  p.norm = init.node.GetFloat("norm_coefficient", 0.0f);
  p.nesterov = mode == "nesterov";
  return std::unique_ptr<Kernel>(std::make_unique<OptimizerKernel>(Optimizer::kMomentum, p, 0.0));
}

}  // namespace

void RegisterTrainingKernels(KernelRegistry& registry) {
  registry.Register(KernelDef{"Adagrad", kTrainingDomain, 1, kLatestOpset, "cpu", {}, MakeAdagrad});
  registry.Register(KernelDef{"Adam", kTrainingDomain, 1, kLatestOpset, "cpu", {}, MakeAdam});
  registry.Register(KernelDef{"Momentum", kTrainingDomain, 1, kLatestOpset, "cpu", {}, MakeMomentum});
}

}  // namespace tessera
