// Softmax, LogSoftmax and Hardmax.
//
// Before opset 13 these coerce the input to 2-D at `axis` (default 1) and normalise each row of
// prod(dims[axis:]) elements; from opset 13 they normalise along the single dim `axis` (default -1).
// Either way the input is viewed as [outer, K, inner]: inner == 1 means contiguous rows, which take the
// vectorised float32 path (softmax_rows.cc); otherwise whole vectors of `inner` values are processed
// at a time so the loops stay unit-stride. Softmax subtracts each row's maximum before exponentiating.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/softmax/softmax_math.h"
#include "ops/op_helpers.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

enum class SoftmaxMode { kSoftmax, kLogSoftmax, kHardmax };

// One [K, inner] slab: x and y point at its first element. `max`, `sum` and `argmax` hold `inner` values.
template <typename T, typename C = typename NumericTraits<T>::Compute>
void SoftmaxSlab(const T* x, T* y, int64_t k_size, int64_t inner, SoftmaxMode mode, C* max, C* sum, int64_t* argmax) {
  using Traits = NumericTraits<T>;
  std::fill(sum, sum + inner, C(0));
  std::fill(argmax, argmax + inner, 0);
  for (int64_t i = 0; i < inner; ++i) max[i] = Traits::Load(x[i]);
  for (int64_t k = 1; k < k_size; ++k) {
    for (int64_t i = 0; i < inner; ++i) {
      C v = Traits::Load(x[k * inner + i]);
      if (v > max[i]) {
        max[i] = v;
        argmax[i] = k;
      }
    }
  }
  if (mode == SoftmaxMode::kHardmax) {
    for (int64_t k = 0; k < k_size; ++k) {
      for (int64_t i = 0; i < inner; ++i) y[k * inner + i] = Traits::Store(C(argmax[i] == k ? 1 : 0));
    }
    return;
  }
  for (int64_t k = 0; k < k_size; ++k) {
    for (int64_t i = 0; i < inner; ++i) {
      C e = std::exp(Traits::Load(x[k * inner + i]) - max[i]);
      sum[i] += e;
      if (mode == SoftmaxMode::kSoftmax) y[k * inner + i] = Traits::Store(e);
    }
  }
  for (int64_t k = 0; k < k_size; ++k) {
    for (int64_t i = 0; i < inner; ++i) {
      if (mode == SoftmaxMode::kSoftmax) {
        y[k * inner + i] = Traits::Store(Traits::Load(y[k * inner + i]) / sum[i]);
      } else {
        y[k * inner + i] = Traits::Store(Traits::Load(x[k * inner + i]) - max[i] - std::log(sum[i]));
      }
    }
  }
}

template <typename T>
void RunSoftmax(const T* x, T* y, int64_t outer, int64_t k_size, int64_t inner, SoftmaxMode mode, ThreadPool& pool) {
  const int64_t slab = k_size * inner;
  const int64_t min_chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, slab));
  if constexpr (std::is_same_v<T, float>) {
    if (inner == 1 && mode != SoftmaxMode::kHardmax) {
      pool.ParallelFor(outer, min_chunk, [&](int64_t begin, int64_t end) {
        SoftmaxRowsF32(x + begin * slab, y + begin * slab, end - begin, k_size, mode == SoftmaxMode::kLogSoftmax);
      });
      return;
    }
  }
  pool.ParallelFor(outer, min_chunk, [&](int64_t begin, int64_t end) {
    std::vector<typename NumericTraits<T>::Compute> scratch(static_cast<size_t>(2 * inner));
    std::vector<int64_t> argmax(static_cast<size_t>(inner));
    for (int64_t o = begin; o < end; ++o) {
      SoftmaxSlab<T>(x + o * slab, y + o * slab, k_size, inner, mode, scratch.data(), scratch.data() + inner, argmax.data());
    }
  });
}

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(SoftmaxMode mode, const Node& node)
      : mode_(mode), coerce_2d_(node.opset < 13), axis_(node.GetInt("axis", node.opset < 13 ? 1 : -1)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return KernelContext::Error("input must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
    int64_t outer = 1, k_size = 1, inner = 1;
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (d < axis) outer *= x.dim(d);
      else if (d == axis || coerce_2d_) k_size *= x.dim(d);
      else inner *= x.dim(d);
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    if (y->element_count() == 0) return Status::Ok();
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          RunSoftmax<T>(x.data<T>(), y->data<T>(), outer, k_size, inner, mode_, ctx.pool());
          return Status::Ok();
        },
        "Softmax");
  }

 private:
  SoftmaxMode mode_;
  bool coerce_2d_;
  int64_t axis_;
};

KernelFactory SoftmaxFactory(SoftmaxMode mode) {
  return [mode](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<SoftmaxKernel>(mode, init.node));
  };
}

}  // namespace

void RegisterSoftmaxKernels(KernelRegistry& registry) {
  registry.Register("Softmax", 1, kLatestOpset, SoftmaxFactory(SoftmaxMode::kSoftmax));
  registry.Register("LogSoftmax", 1, kLatestOpset, SoftmaxFactory(SoftmaxMode::kLogSoftmax));
  registry.Register("Hardmax", 1, kLatestOpset, SoftmaxFactory(SoftmaxMode::kHardmax));
}

}  // namespace tessera
