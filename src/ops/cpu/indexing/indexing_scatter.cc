// Scatter (opset 9-10, deprecated), ScatterElements and ScatterND: the output is a copy of `data` with
// the elements or slices named by `indices` replaced by, or combined with (reduction add/mul/max/min),
// the matching `updates`. Updates are applied in index order, so duplicate indices with a reduction
// accumulate deterministically; with reduction "none" the last update wins.
#include <algorithm>
#include <string>
#include <type_traits>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

StatusOr<ScatterReduction> ParseReduction(const Node& node) {
  const std::string r = node.GetString("reduction", "none");
  if (r == "none") return ScatterReduction::kNone;
  if (r == "add") return ScatterReduction::kAdd;
  if (r == "mul") return ScatterReduction::kMul;
  if (r == "max") return ScatterReduction::kMax;
  if (r == "min") return ScatterReduction::kMin;
  return KernelContext::Error("attribute 'reduction' must be none, add, mul, max or min, got '" + r + "'");
}

template <ScatterReduction kR, typename T>
inline void Combine(T& dst, const T& src) {
  if constexpr (kR == ScatterReduction::kNone) {
    dst = src;
  } else {
    using Traits = NumericTraits<T>;
    using C = typename Traits::Compute;
    const C a = Traits::Load(dst), b = Traits::Load(src);
    C r;
    if constexpr (std::is_integral_v<C> && (kR == ScatterReduction::kAdd || kR == ScatterReduction::kMul)) {
      // Wrap around like numpy instead of signed overflow (undefined) on untrusted data: compute in
      // uint64_t, whose conversion back to C is modular.
      const uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
      r = static_cast<C>(kR == ScatterReduction::kAdd ? ua + ub : ua * ub);
    } else if constexpr (kR == ScatterReduction::kAdd) r = static_cast<C>(a + b);
    else if constexpr (kR == ScatterReduction::kMul) r = static_cast<C>(a * b);
    else if constexpr (kR == ScatterReduction::kMax) r = std::max(a, b);
    else r = std::min(a, b);
    dst = Traits::Store(r);
  }
}

// Calls fn(tag, reduction constant) with the element type: any dtype for "none", numeric ones otherwise.
template <typename F>
Status DispatchScatter(DType dtype, ScatterReduction reduction, F&& fn, const char* what) {
  auto with = [&](auto r) {
    return DispatchNumericWithHalf(dtype, [&](auto tag) { return fn(tag, r); }, what);
  };
  switch (reduction) {
    case ScatterReduction::kNone:
      return DispatchByElementSize(dtype, [&](auto tag) {
        return fn(tag, std::integral_constant<ScatterReduction, ScatterReduction::kNone>{});
      }, what);
    case ScatterReduction::kAdd: return with(std::integral_constant<ScatterReduction, ScatterReduction::kAdd>{});
    case ScatterReduction::kMul: return with(std::integral_constant<ScatterReduction, ScatterReduction::kMul>{});
    case ScatterReduction::kMax: return with(std::integral_constant<ScatterReduction, ScatterReduction::kMax>{});
    case ScatterReduction::kMin: return with(std::integral_constant<ScatterReduction, ScatterReduction::kMin>{});
  }
  return Internal("unknown scatter reduction");
}

// Scatter and ScatterElements: out[m with m[axis] = indices[m]] (op)= updates[m], over every position m
// of `indices` (which has the shape of `updates`).
class ScatterElementsKernel : public Kernel {
 public:
  ScatterElementsKernel(const Node& node, ScatterReduction reduction)
      : axis_(node.GetInt("axis", 0)), reduction_(reduction) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const Tensor& updates = ctx.input(2);
    if (data.rank() == 0) return KernelContext::Error("input 'data' must have rank >= 1, got a scalar");
    if (indices.shape() != updates.shape()) {
      return KernelContext::Error("inputs 'indices' " + ShapeToString(indices.shape()) + " and 'updates' " +
                                  ShapeToString(updates.shape()) + " must have the same shape");
    }
    if (updates.dtype() != data.dtype()) {
      return KernelContext::Error(std::string("input 'updates' has dtype ") + DTypeName(updates.dtype()) +
                                  ", 'data' has " + DTypeName(data.dtype()));
    }
    TS_ASSIGN_OR_RETURN(int64_t axis, CheckElementIndicesShape(data, indices, axis_));
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> idx, ReadNormalizedIndices(indices, data.dim(axis), "input 'indices'"));
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, data.dtype(), data.shape()));
    const std::vector<int64_t> strides = ContiguousStrides(data.shape());
    const Shape& ishape = indices.shape();
    const size_t rank = ishape.size();
    return DispatchScatter(
        data.dtype(), reduction_,
        [&](auto tag, auto r) {
          using T = decltype(tag);
          constexpr ScatterReduction kR = decltype(r)::value;
          T* dst = out->data<T>();
          CopyElements(data.data<T>(), dst, data.element_count());
          const T* upd = updates.data<T>();
          const int64_t total = updates.element_count();
          if (total == 0) return Status::Ok();
          std::vector<int64_t> pos(rank, 0);
          for (int64_t e = 0; e < total; ++e) {
            int64_t off = 0;
            for (size_t d = 0; d < rank; ++d) {
              off += (static_cast<int64_t>(d) == axis ? idx[static_cast<size_t>(e)] : pos[d]) * strides[d];
            }
            Combine<kR>(dst[off], upd[e]);
            for (size_t d = rank; d-- > 0;) {
              if (++pos[d] < ishape[d]) break;
              pos[d] = 0;
            }
          }
          return Status::Ok();
        },
        "ScatterElements");
  }

 private:
  int64_t axis_;
  ScatterReduction reduction_;
};

// ScatterND: each row of `indices` (k values) names a slice of `data`; updates has shape
// indices.shape[:-1] + data.shape[k:].
class ScatterNDKernel : public Kernel {
 public:
  explicit ScatterNDKernel(ScatterReduction reduction) : reduction_(reduction) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const Tensor& updates = ctx.input(2);
    const int64_t r = data.rank(), q = indices.rank();
    if (r < 1 || q < 1) return KernelContext::Error("inputs 'data' and 'indices' must have rank >= 1");
    if (updates.dtype() != data.dtype()) {
      return KernelContext::Error(std::string("input 'updates' has dtype ") + DTypeName(updates.dtype()) +
                                  ", 'data' has " + DTypeName(data.dtype()));
    }
    const int64_t k = indices.dim(q - 1);
    if (k < 1 || k > r) {
      return KernelContext::Error("last dim of 'indices' is " + std::to_string(k) + ", must be in [1, " + std::to_string(r) + "]");
    }
    Shape want(indices.shape().begin(), indices.shape().end() - 1);
    want.insert(want.end(), data.shape().begin() + k, data.shape().end());
    if (updates.shape() != want) {
      return KernelContext::Error("input 'updates' has shape " + ShapeToString(updates.shape()) + ", expected " +
                                  ShapeToString(want));
    }
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> raw, ReadInt64Values(indices, "input 'indices'"));
    const std::vector<int64_t> strides = ContiguousStrides(data.shape());
    const int64_t slice = strides[static_cast<size_t>(k - 1)];
    const int64_t tuples = static_cast<int64_t>(raw.size()) / k;
    std::vector<int64_t> offsets(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t dim = data.dim(j);
        int64_t v = raw[static_cast<size_t>(t * k + j)];
        if (v < -dim || v >= dim) return IndexOutOfRange("input 'indices'", v, t * k + j, dim);
        if (v < 0) v += dim;
        off += v * strides[static_cast<size_t>(j)];
      }
      offsets[static_cast<size_t>(t)] = off;
    }
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, data.dtype(), data.shape()));
    return DispatchScatter(
        data.dtype(), reduction_,
        [&](auto tag, auto red) {
          using T = decltype(tag);
          constexpr ScatterReduction kR = decltype(red)::value;
          T* dst = out->data<T>();
          CopyElements(data.data<T>(), dst, data.element_count());
          const T* upd = updates.data<T>();
          for (int64_t t = 0; t < tuples; ++t) {
            T* to = dst + offsets[static_cast<size_t>(t)];
            const T* from = upd + t * slice;
            for (int64_t i = 0; i < slice; ++i) Combine<kR>(to[i], from[i]);
          }
          return Status::Ok();
        },
        "ScatterND");
  }

 private:
  ScatterReduction reduction_;
};

template <bool kElements>
KernelFactory MakeScatterFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(ScatterReduction reduction, ParseReduction(init.node));
    if constexpr (kElements) {
      return std::unique_ptr<Kernel>(std::make_unique<ScatterElementsKernel>(init.node, reduction));
    } else {
      return std::unique_ptr<Kernel>(std::make_unique<ScatterNDKernel>(reduction));
    }
  };
}

}  // namespace

void RegisterScatterKernels(KernelRegistry& registry) {
  // Scatter was renamed ScatterElements at opset 11; models that keep the old name still load.
  registry.Register("Scatter", 9, kLatestOpset, MakeScatterFactory<true>());
  registry.Register("ScatterElements", 11, kLatestOpset, MakeScatterFactory<true>());
  registry.Register("ScatterND", 11, kLatestOpset, MakeScatterFactory<false>());
}

}  // namespace tessera
