// ArgMax, ArgMin, CumSum and CumProd: ops that walk one axis of a tensor viewed as [outer, K, inner].
#include <algorithm>
#include <string>

#include "ops/cpu/reduction/reduction_factories.h"
#include "ops/cpu/reduction/reduction_ops.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Dims of `shape` before, at and after `axis`.
struct AxisSplit {
  int64_t outer = 1, axis = 1, inner = 1;
};

AxisSplit SplitAt(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    int64_t n = shape[static_cast<size_t>(d)];
    if (d < axis) s.outer *= n;
    else if (d == axis) s.axis = n;
    else s.inner *= n;
  }
  return s;
}

// Whether `v` replaces `best`: strictly better, or equal when the last index is wanted.
template <bool kMax, bool kLast, typename C>
inline bool Better(C v, C best) {
  if constexpr (kLast) {
    return kMax ? v >= best : v <= best;
  } else {
    return kMax ? v > best : v < best;
  }
}

template <bool kMax, bool kLast, typename T>
void ArgReduce(const T* x, int64_t* y, AxisSplit s, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  const int64_t per_outer = s.axis * s.inner;
  pool.ParallelFor(s.outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, per_outer)), [&](int64_t begin, int64_t end) {
    std::vector<C> best(static_cast<size_t>(s.inner));
    for (int64_t o = begin; o < end; ++o) {
      const T* base = x + o * per_outer;
      int64_t* out = y + o * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) {
        best[static_cast<size_t>(i)] = Traits::Load(base[i]);
        out[i] = 0;
      }
      for (int64_t k = 1; k < s.axis; ++k) {
        const T* row = base + k * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) {
          C v = Traits::Load(row[i]);
          if (Better<kMax, kLast>(v, best[static_cast<size_t>(i)])) {
            best[static_cast<size_t>(i)] = v;
            out[i] = k;
          }
        }
      }
    }
  });
}

class ArgReduceKernel : public Kernel {
 public:
  ArgReduceKernel(bool is_max, const Node& node)
      : is_max_(is_max),
        axis_(node.GetInt("axis", 0)),
        keepdims_(node.GetInt("keepdims", 1) != 0),
        select_last_(node.GetInt("select_last_index", 0) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return KernelContext::Error("input 'data' must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
    const AxisSplit s = SplitAt(x.shape(), axis);
    if (s.axis == 0 && s.outer * s.inner > 0) {
      return KernelContext::Error("cannot take the arg" + std::string(is_max_ ? "max" : "min") +
                                  " over axis " + std::to_string(axis) + " of size 0");
    }
    Shape out_shape = x.shape();
    if (keepdims_) {
      out_shape[static_cast<size_t>(axis)] = 1;
    } else {
      out_shape.erase(out_shape.begin() + axis);
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kInt64, out_shape));
    if (y->element_count() == 0) return Status::Ok();
    return DispatchNumericWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          int64_t* out = y->data<int64_t>();
          const T* in = x.data<T>();
          if (is_max_) {
            select_last_ ? ArgReduce<true, true>(in, out, s, ctx.pool()) : ArgReduce<true, false>(in, out, s, ctx.pool());
          } else {
            select_last_ ? ArgReduce<false, true>(in, out, s, ctx.pool()) : ArgReduce<false, false>(in, out, s, ctx.pool());
          }
          return Status::Ok();
        },
        is_max_ ? "ArgMax" : "ArgMin");
  }

 private:
  bool is_max_;
  int64_t axis_;
  bool keepdims_;
  bool select_last_;
};

template <typename T>
// Running sums (or, with `product`, running products; CumProd-26). Integers wrap in uint64, as CumSum does.
void CumulativeScan(const T* x, T* y, AxisSplit s, bool product, bool exclusive, bool reverse, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using Acc = reduce::WrapAcc<typename Traits::Compute>;
  using C = typename Traits::Compute;
  const int64_t per_outer = s.axis * s.inner;
  pool.ParallelFor(s.outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, per_outer)), [&](int64_t begin, int64_t end) {
    std::vector<Acc> acc(static_cast<size_t>(s.inner));
    for (int64_t o = begin; o < end; ++o) {
      std::fill(acc.begin(), acc.end(), Acc(product ? 1 : 0));
      for (int64_t step = 0; step < s.axis; ++step) {
        const int64_t k = reverse ? s.axis - 1 - step : step;
        const T* in = x + o * per_outer + k * s.inner;
        T* out = y + o * per_outer + k * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) {
          Acc before = acc[static_cast<size_t>(i)];
          const Acc v = static_cast<Acc>(Traits::Load(in[i]));
          Acc after = product ? before * v : before + v;
          acc[static_cast<size_t>(i)] = after;
          out[i] = Traits::Store(static_cast<C>(exclusive ? before : after));
        }
      }
    }
  });
}

class CumulativeKernel : public Kernel {
 public:
  CumulativeKernel(const Node& node, bool product)
      : product_(product), exclusive_(node.GetInt("exclusive", 0) != 0), reverse_(node.GetInt("reverse", 0) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (!ctx.has_input(1)) return KernelContext::Error("input 'axis' is required");
    const Tensor& axis_tensor = ctx.input(1);
    if (axis_tensor.rank() > 1 || axis_tensor.element_count() != 1) {
      return KernelContext::Error("input 'axis' must be a scalar, got shape " + ShapeToString(axis_tensor.shape()));
    }
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> axis_values, ReadInt64Values(axis_tensor, "input 'axis'"));
    if (x.rank() == 0) return KernelContext::Error("input 'x' must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_values[0], x.rank(), "input 'axis'"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    if (y->element_count() == 0) return Status::Ok();
    const AxisSplit s = SplitAt(x.shape(), axis);
    return DispatchNumericWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          CumulativeScan<T>(x.data<T>(), y->data<T>(), s, product_, exclusive_, reverse_, ctx.pool());
          return Status::Ok();
        },
        product_ ? "CumProd" : "CumSum");
  }

 private:
  bool product_;
  bool exclusive_;
  bool reverse_;
};

}  // namespace

KernelFactory MakeArgReduceFactory(bool is_max) {
  return [is_max](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<ArgReduceKernel>(is_max, init.node));
  };
}

KernelFactory MakeCumulativeFactory(bool product) {
  return [product](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<CumulativeKernel>(init.node, product));
  };
}

}  // namespace tessera
