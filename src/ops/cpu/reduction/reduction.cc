// Reduction kernels: the ten Reduce* ops (this file), ArgMax/ArgMin, CumSum and CumProd (reduction_arg.cc).
//
// Axes come from the `axes` attribute up to ReduceSum-11 and the other Reduce*-13, and from the
// optional second input from ReduceSum-13 and the others' opset 18. An empty axes list reduces every
// axis unless noop_with_empty_axes is set (input forms only), in which case the input passes through.
#include <string>

#include "ops/cpu/reduction/reduction_factories.h"
#include "ops/cpu/reduction/reduction_ops.h"
#include "ops/op_helpers.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

template <template <typename> class Op, typename T>
Status ReduceWith(const Tensor& x, const ReducePlan& plan, Tensor& y, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  using R = Op<C>;
  T* out = y.data<T>();
  reduce::RunPlan<R>(x.data<T>(), plan, nullptr, pool, [&](int64_t i, typename R::Acc acc) {
    out[i] = Traits::Store(R::Finish(acc, plan.count, 0));
  });
  return Status::Ok();
}

// LogSumExp needs each output's maximum first; an infinite or empty maximum shifts by zero instead.
template <typename T>
Status ReduceLogSumExp(const Tensor& x, const ReducePlan& plan, Tensor& y, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  using R = reduce::LogSumExp<C>;
  using Acc = typename R::Acc;
  std::vector<Acc> shift(static_cast<size_t>(y.element_count()));
  reduce::RunPlan<reduce::MaxAcc<C, Acc>>(x.data<T>(), plan, nullptr, pool, [&](int64_t i, Acc m) {
    shift[static_cast<size_t>(i)] = std::isfinite(m) ? m : Acc(0);
  });
  T* out = y.data<T>();
  reduce::RunPlan<R>(x.data<T>(), plan, shift.data(), pool, [&](int64_t i, Acc acc) {
    out[i] = Traits::Store(R::Finish(acc, plan.count, shift[static_cast<size_t>(i)]));
  });
  return Status::Ok();
}

class ReduceKernel : public Kernel {
 public:
  ReduceKernel(ReduceKind kind, const Node& node, bool axes_from_input)
      : kind_(kind),
        keepdims_(node.GetInt("keepdims", 1) != 0),
        noop_with_empty_axes_(axes_from_input && node.GetInt("noop_with_empty_axes", 0) != 0),
        axes_from_input_(axes_from_input),
        attr_axes_(node.GetInts("axes")) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> axes = attr_axes_;
    if (axes_from_input_ && ctx.has_input(1)) {
      const Tensor& axes_tensor = ctx.input(1);
      if (axes_tensor.rank() > 1) {
        return KernelContext::Error("input 'axes' must be 1-D, got shape " + ShapeToString(axes_tensor.shape()));
      }
      TS_ASSIGN_OR_RETURN(axes, ReadInt64Values(axes_tensor, "input 'axes'"));
    }
    // noop_with_empty_axes reduces over no axis: each element on its own. That is the input itself for
    // the plain reductions; ReduceSumSquare, ReduceL1, ReduceLogSum, ... still transform each element.
    const bool over_no_axis = axes.empty() && noop_with_empty_axes_;
    if (over_no_axis && (kind_ == ReduceKind::kSum || kind_ == ReduceKind::kMean || kind_ == ReduceKind::kMax ||
                         kind_ == ReduceKind::kMin || kind_ == ReduceKind::kProd)) {
      ctx.SetOutput(0, x);
      return Status::Ok();
    }
    const int64_t rank = x.rank();
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty() && !over_no_axis);
    for (int64_t axis : axes) {
      TS_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis, rank, "axes value"));
      if (reduced[static_cast<size_t>(a)] && !axes.empty()) {
        return KernelContext::Error("axes contains axis " + std::to_string(axis) + " twice");
      }
      reduced[static_cast<size_t>(a)] = true;
    }
    Shape out_shape;
    for (int64_t d = 0; d < rank; ++d) {
      if (!reduced[static_cast<size_t>(d)]) {
        out_shape.push_back(x.dim(d));
      } else if (keepdims_) {
        out_shape.push_back(1);
      }
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out_shape));
    if (y->element_count() == 0) return Status::Ok();
    ReducePlan plan = MakeReducePlan(x.shape(), reduced);
    if (x.dtype() == DType::kBool) {
      // ReduceMax and ReduceMin take booleans from opset 20: any and all, over the 0/1 bytes.
      if (kind_ == ReduceKind::kMax) return ReduceWith<reduce::Max, uint8_t>(x, plan, *y, ctx.pool());
      if (kind_ == ReduceKind::kMin) return ReduceWith<reduce::Min, uint8_t>(x, plan, *y, ctx.pool());
      return KernelContext::Error("input 'data' is bool, which only ReduceMax and ReduceMin (opset 20+) take");
    }
    return DispatchNumericWithHalf(
        x.dtype(), [&](auto tag) { return Reduce<decltype(tag)>(x, plan, *y, ctx.pool()); }, "Reduce");
  }

 private:
  template <typename T>
  Status Reduce(const Tensor& x, const ReducePlan& plan, Tensor& y, ThreadPool& pool) const {
    switch (kind_) {
      case ReduceKind::kSum: return ReduceWith<reduce::Sum, T>(x, plan, y, pool);
      case ReduceKind::kMean: return ReduceWith<reduce::Mean, T>(x, plan, y, pool);
      case ReduceKind::kMax: return ReduceWith<reduce::Max, T>(x, plan, y, pool);
      case ReduceKind::kMin: return ReduceWith<reduce::Min, T>(x, plan, y, pool);
      case ReduceKind::kProd: return ReduceWith<reduce::Prod, T>(x, plan, y, pool);
      case ReduceKind::kL1: return ReduceWith<reduce::L1, T>(x, plan, y, pool);
      case ReduceKind::kL2: return ReduceWith<reduce::L2, T>(x, plan, y, pool);
      case ReduceKind::kLogSum: return ReduceWith<reduce::LogSum, T>(x, plan, y, pool);
      case ReduceKind::kLogSumExp: return ReduceLogSumExp<T>(x, plan, y, pool);
      case ReduceKind::kSumSquare: return ReduceWith<reduce::SumSquare, T>(x, plan, y, pool);
    }
    return Internal("unknown reduce kind");
  }

  ReduceKind kind_;
  bool keepdims_;
  bool noop_with_empty_axes_;
  bool axes_from_input_;
  std::vector<int64_t> attr_axes_;
};

// `input_axes_since`: the opset from which axes is an input rather than an attribute.
void RegisterReduce(KernelRegistry& registry, const char* op, ReduceKind kind, int input_axes_since) {
  registry.Register(op, 1, kLatestOpset, [kind, input_axes_since](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    const bool from_input = init.node.opset >= input_axes_since;
    if (from_input && init.node.HasAttribute("axes")) {
      return KernelContext::Error("attribute 'axes' is not allowed from opset " + std::to_string(input_axes_since) +
                                  "; axes is an input");
    }
    return std::unique_ptr<Kernel>(std::make_unique<ReduceKernel>(kind, init.node, from_input));
  });
}

}  // namespace

void RegisterReductionKernels(KernelRegistry& registry) {
  RegisterReduce(registry, "ReduceSum", ReduceKind::kSum, 13);
  RegisterReduce(registry, "ReduceMean", ReduceKind::kMean, 18);
  RegisterReduce(registry, "ReduceMax", ReduceKind::kMax, 18);
  RegisterReduce(registry, "ReduceMin", ReduceKind::kMin, 18);
  RegisterReduce(registry, "ReduceProd", ReduceKind::kProd, 18);
  RegisterReduce(registry, "ReduceL1", ReduceKind::kL1, 18);
  RegisterReduce(registry, "ReduceL2", ReduceKind::kL2, 18);
  RegisterReduce(registry, "ReduceLogSum", ReduceKind::kLogSum, 18);
  RegisterReduce(registry, "ReduceLogSumExp", ReduceKind::kLogSumExp, 18);
  RegisterReduce(registry, "ReduceSumSquare", ReduceKind::kSumSquare, 18);
  registry.Register("ArgMax", 1, kLatestOpset, MakeArgReduceFactory(/*is_max=*/true));
  registry.Register("ArgMin", 1, kLatestOpset, MakeArgReduceFactory(/*is_max=*/false));
  registry.Register("CumSum", 11, kLatestOpset, MakeCumulativeFactory(false));
  registry.Register("CumProd", 26, kLatestOpset, MakeCumulativeFactory(true));
}

}  // namespace tessera
