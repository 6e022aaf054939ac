// RandomNormal, RandomUniform, their *Like forms, Bernoulli and Multinomial.
//
// Each node owns one generator (mt19937_64), seeded from the `seed` attribute when given (so a model
// with seeds reproduces across sessions, though not ONNX Runtime's numbers) and from std::random_device
// otherwise. The generator advances across runs, so repeated runs draw fresh values. The executor never
// folds these nodes into constants.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "ops/cpu/generator/generator_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

enum class RandomOp { kNormal, kUniform, kNormalLike, kUniformLike, kBernoulli, kMultinomial };

class RandomKernel : public Kernel {
 public:
  RandomKernel(RandomOp op, const Node& node) : op_(op), node_(node) {
    const Attribute* seed = node.FindAttribute("seed");
    engine_.seed(seed ? static_cast<uint64_t>(static_cast<int64_t>(seed->f)) : std::random_device{}());
  }

  Status Run(KernelContext& ctx) override {
    std::lock_guard<std::mutex> lock(mutex_);  // the generator is shared by concurrent runs
    switch (op_) {
      case RandomOp::kBernoulli:
        return RunBernoulli(ctx);
      case RandomOp::kMultinomial:
        return RunMultinomial(ctx);
      default:
        return RunDistribution(ctx);
    }
  }

 private:
  StatusOr<DType> OutputDType(DType fallback) const {
    const Attribute* a = node_.FindAttribute("dtype");
    if (a == nullptr) return fallback;
    if (!IsKnownDType(static_cast<int32_t>(a->i))) {
      return KernelContext::Error("attribute 'dtype' " + std::to_string(a->i) + " is not a known dtype");
    }
    return static_cast<DType>(a->i);
  }

  Status RunDistribution(KernelContext& ctx) {
    const bool like = op_ == RandomOp::kNormalLike || op_ == RandomOp::kUniformLike;
    Shape shape;
    DType dtype;
    if (like) {
      shape = ctx.input(0).shape();
      TS_ASSIGN_OR_RETURN(dtype, OutputDType(ctx.input(0).dtype()));
    } else {
      if (!node_.HasAttribute("shape")) return KernelContext::Error("attribute 'shape' is required");
      shape = node_.GetInts("shape");
      for (int64_t d : shape) {
        if (d < 0) return KernelContext::Error("attribute 'shape' " + ShapeToString(shape) + " has a negative dim");
      }
      TS_ASSIGN_OR_RETURN(dtype, OutputDType(DType::kFloat32));
    }
    const bool normal = op_ == RandomOp::kNormal || op_ == RandomOp::kNormalLike;
    const double a = normal ? node_.GetFloat("mean", 0.0f) : node_.GetFloat("low", 0.0f);
    const double b = normal ? node_.GetFloat("scale", 1.0f) : node_.GetFloat("high", 1.0f);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, dtype, shape));
    return DispatchFloatWithHalf(
        dtype,
        [&](auto tag) {
          using T = decltype(tag);
          T* out = y->data<T>();
          const int64_t n = y->element_count();
          if (normal) {
            std::normal_distribution<double> dist(a, b);
            for (int64_t i = 0; i < n; ++i) out[i] = StoreGenerated<T>(dist(engine_));
          } else {
            std::uniform_real_distribution<double> dist(a, b);
            for (int64_t i = 0; i < n; ++i) out[i] = StoreGenerated<T>(dist(engine_));
          }
          return Status::Ok();
        },
        node_.op_type.c_str());
  }

  Status RunBernoulli(KernelContext& ctx) {
    const Tensor& p = ctx.input(0);
    TS_ASSIGN_OR_RETURN(DType dtype, OutputDType(p.dtype()));
    TS_ASSIGN_OR_RETURN(std::vector<float> probs, ReadFloatValues(p, "input 'input'"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, dtype, p.shape()));
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    return DispatchGenerated(
        dtype,
        [&](auto tag) {
          using T = decltype(tag);
          T* out = y->data<T>();
          for (size_t i = 0; i < probs.size(); ++i) out[i] = StoreGenerated<T>(dist(engine_) < probs[i] ? 1.0 : 0.0);
          return Status::Ok();
        },
        "Bernoulli");
  }

  // Draws `sample_size` class indices per batch row from the softmax of the row's logits.
  Status RunMultinomial(KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 2) return KernelContext::Error("input must be [batch, classes], got " + ShapeToString(x.shape()));
    const int64_t batch = x.dim(0), classes = x.dim(1), samples = node_.GetInt("sample_size", 1);
    if (samples < 0)
      return KernelContext::Error("attribute 'sample_size' must be >= 0, got " + std::to_string(samples));
    TS_ASSIGN_OR_RETURN(DType dtype, OutputDType(DType::kInt32));
    if (dtype != DType::kInt32 && dtype != DType::kInt64) {
      return KernelContext::Error(std::string("attribute 'dtype' must be int32 or int64, got ") + DTypeName(dtype));
    }
    if (classes == 0 && batch * samples > 0) return KernelContext::Error("input has no classes to draw from");
    TS_ASSIGN_OR_RETURN(std::vector<float> logits, ReadFloatValues(x, "input 'input'"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, dtype, {batch, samples}));
    std::vector<double> cdf(static_cast<size_t>(classes));
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    for (int64_t b = 0; b < batch; ++b) {
      const float* row = logits.data() + b * classes;
      const double mx = *std::max_element(row, row + classes);
      double total = 0;
      for (int64_t c = 0; c < classes; ++c) cdf[static_cast<size_t>(c)] = total += std::exp(row[c] - mx);
      for (int64_t s = 0; s < samples; ++s) {
        const double u = dist(engine_) * total;
        const int64_t c = std::min<int64_t>(classes - 1, std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
        if (dtype == DType::kInt32) {
          y->data<int32_t>()[b * samples + s] = static_cast<int32_t>(c);
        } else {
          y->data<int64_t>()[b * samples + s] = c;
        }
      }
    }
    return Status::Ok();
  }

  RandomOp op_;
  const Node node_;  // a copy: the kernel reads its attributes on every run
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

KernelFactory RandomFactory(RandomOp op) {
  return [op](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<RandomKernel>(op, init.node));
  };
}

}  // namespace

void RegisterRandomKernels(KernelRegistry& registry) {
  registry.Register("RandomNormal", 1, kLatestOpset, RandomFactory(RandomOp::kNormal));
  registry.Register("RandomUniform", 1, kLatestOpset, RandomFactory(RandomOp::kUniform));
  registry.Register("RandomNormalLike", 1, kLatestOpset, RandomFactory(RandomOp::kNormalLike));
  registry.Register("RandomUniformLike", 1, kLatestOpset, RandomFactory(RandomOp::kUniformLike));
  registry.Register("Bernoulli", 15, kLatestOpset, RandomFactory(RandomOp::kBernoulli));
  registry.Register("Multinomial", 7, kLatestOpset, RandomFactory(RandomOp::kMultinomial));
}

}  // namespace tessera
