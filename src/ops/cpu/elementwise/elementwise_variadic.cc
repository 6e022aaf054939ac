// Variadic ops that broadcast all their inputs together: Max, Min, Sum, Mean (one or more inputs of one
// dtype) and Where (condition, X, Y; any dtype, strings included).
//
// Max/Min/Sum/Mean fold the inputs pairwise into the output: the first two are combined into it, then
// every further input is accumulated in place, so no temporaries are needed. Max and Min propagate NaN
// like numpy's maximum/minimum. Mean divides the sum once at the end.
#include <cstring>
#include <string>

#include "ops/cpu/elementwise/elementwise_binary_kernel.h"
#include "ops/cpu/elementwise/elementwise_registration.h"

namespace tessera {
namespace {

struct MaxOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return (a >= b || a != a) ? a : b;
    else return a > b ? a : b;
  }
};
struct MinOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return (a <= b || a != a) ? a : b;
    else return a < b ? a : b;
  }
};
struct SumOp {
  template <typename T>
  T operator()(T a, T b) const { return WrapAdd(a, b); }
};

// o[i] = f(o[i], b[i]) where o already has the plan's output shape (plan inputs: o, b).
template <typename T, typename F>
void AccumulateBinaryPlan(const BroadcastPlan& plan, T* o, const T* b, ThreadPool& pool, const F& f) {
  const bool b_runs = plan.inner_stride[1] != 0;
  ForEachBroadcastRun(plan, pool, [&](int64_t out, const int64_t* in, int64_t n) {
    T* po = o + out;
    const T* pb = b + in[1];
    if (b_runs) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(po[i], pb[i]);
    } else {
      const T bv = pb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = f(po[i], bv);
    }
  });
}

// Storage-level f for compute-level op (16-bit floats convert around it).
template <typename T, typename Op>
auto StorageOp(const Op& op) {
  return [op](T a, T b) -> T {
    if constexpr (kIsHalf<T>) return StoreValue<T>(op(LoadValue(a), LoadValue(b)));
    else return op(a, b);
  };
}

enum class VariadicKind { kMax, kMin, kSum, kMean };

template <typename Op, TypeClass kTypes>
Status RunVariadic(KernelContext& ctx, const Op& op, VariadicKind kind, const char* name) {
  const size_t n = ctx.input_count();
  if (n == 0) return KernelContext::Error(std::string(name) + " needs at least one input");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) return KernelContext::Error("input " + std::to_string(i) + " is missing");
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) {
      return KernelContext::Error("input " + std::to_string(i) + " has dtype " + DTypeName(ctx.input(i).dtype()) +
                                  ", expected " + DTypeName(ctx.input(0).dtype()) + " like input 0");
    }
    shapes.push_back(ctx.input(i).shape());
  }
  Shape out_shape = shapes[0];
  for (size_t i = 1; i < n; ++i) {
    auto merged = BroadcastShapes(out_shape, shapes[i]);
    if (!merged.ok()) {
      return KernelContext::Error("input " + std::to_string(i) + " of shape " + ShapeToString(shapes[i]) +
                                  " does not broadcast with the shape " + ShapeToString(out_shape) + " of the inputs before it");
    }
    out_shape = *merged;
  }
  const DType dtype = ctx.input(0).dtype();
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, dtype, out_shape));
  return DispatchTypeClass<kTypes>(
      dtype,
      [&](auto tag) -> Status {
        using T = decltype(tag);
        T* po = out->data<T>();
        const auto f = StorageOp<T>(op);
        if (n == 1) {
          std::memcpy(po, ctx.input(0).data<T>(), out->byte_size());
        } else {
          const BroadcastPlan first = PlanBroadcastTo({shapes[0], shapes[1]}, out_shape);
          RunBinaryPlan(first, ctx.input(0).data<T>(), ctx.input(1).data<T>(), po, ctx.pool(), f);
          for (size_t i = 2; i < n; ++i) {
            const BroadcastPlan plan = PlanBroadcastTo({out_shape, shapes[i]}, out_shape);
            AccumulateBinaryPlan(plan, po, ctx.input(i).data<T>(), ctx.pool(), f);
          }
        }
        if (kind == VariadicKind::kMean && n > 1) {
          using C = ComputeOf<T>;
          const C divisor = static_cast<C>(n);
          ForEachElementRange(out->element_count(), ctx.pool(), [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) po[i] = StoreValue<T>(LoadValue(po[i]) / divisor);
          });
        }
        return Status::Ok();
      },
      name);
}

// out = cond ? x : y over a three-way broadcast; T is any storage type (std::string for strings).
template <typename T>
void RunWhereTyped(const BroadcastPlan& plan, const uint8_t* cond, const T* x, const T* y, T* out, ThreadPool& pool) {
  const bool all_runs = plan.inner_stride[0] && plan.inner_stride[1] && plan.inner_stride[2];
  ForEachBroadcastRun(plan, pool, [&](int64_t o, const int64_t* in, int64_t n) {
    const uint8_t* pc = cond + in[0];
    const T* px = x + in[1];
    const T* py = y + in[2];
    T* po = out + o;
    if (all_runs) {
      for (int64_t i = 0; i < n; ++i) po[i] = pc[i] ? px[i] : py[i];
    } else {
      const int64_t sc = plan.inner_stride[0], sx = plan.inner_stride[1], sy = plan.inner_stride[2];
      for (int64_t i = 0; i < n; ++i) po[i] = pc[i * sc] ? px[i * sx] : py[i * sy];
    }
  });
}

Status RunWhere(KernelContext& ctx) {
  const Tensor& cond = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (cond.dtype() != DType::kBool) {
    return KernelContext::Error(std::string("input 'condition' must be bool, got ") + DTypeName(cond.dtype()));
  }
  if (x.dtype() != y.dtype()) {
    return KernelContext::Error(std::string("inputs 'X' and 'Y' must have the same dtype, got ") + DTypeName(x.dtype()) +
                                " and " + DTypeName(y.dtype()));
  }
  Shape out_shape;
  TS_ASSIGN_OR_RETURN(BroadcastPlan plan, PlanBroadcast({cond.shape(), x.shape(), y.shape()}, out_shape));
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
  return DispatchByElementSize(
      x.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        RunWhereTyped<T>(plan, cond.data<uint8_t>(), x.data<T>(), y.data<T>(), out->data<T>(), ctx.pool());
        return Status::Ok();
      },
      "Where");
}

template <typename Op, TypeClass kTypes>
KernelFactory VariadicFactory(VariadicKind kind, const char* name) {
  return MakeFunctionKernel([kind, name](KernelContext& ctx) { return RunVariadic<Op, kTypes>(ctx, Op{}, kind, name); });
}

}  // namespace

void RegisterElementwiseVariadicKernels(KernelRegistry& registry) {
  registry.Register("Max", 1, kLatestOpset, VariadicFactory<MaxOp, TypeClass::kNumeric>(VariadicKind::kMax, "Max"));
  registry.Register("Min", 1, kLatestOpset, VariadicFactory<MinOp, TypeClass::kNumeric>(VariadicKind::kMin, "Min"));
  registry.Register("Sum", 1, kLatestOpset, VariadicFactory<SumOp, TypeClass::kNumeric>(VariadicKind::kSum, "Sum"));
  registry.Register("Mean", 1, kLatestOpset, VariadicFactory<SumOp, TypeClass::kFloat>(VariadicKind::kMean, "Mean"));
  registry.Register("Where", 9, kLatestOpset, MakeFunctionKernel(RunWhere));
}

}  // namespace tessera
