// TopK: the k largest (or smallest) values along an axis and their int64 indices.
//
// Opset 1 takes k as an attribute, opset 10+ as a one-element input; `largest` and `sorted` arrive in
// opset 11. Equal values keep the lower index first (the ONNX tests expect it), and NaN ranks above
// every number so the comparison stays a strict weak order.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

template <typename C>
inline bool IsNan(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  else return false;
}

// Whether (va, ia) comes before (vb, ib) in the output.
template <bool kLargest, typename C>
inline bool RanksBefore(C va, int64_t ia, C vb, int64_t ib) {
  const bool na = IsNan(va), nb = IsNan(vb);
  if (na || nb) {
    if (na && nb) return ia < ib;
    return kLargest ? na : nb;  // NaN is the largest value
  }
  if (va != vb) return kLargest ? va > vb : va < vb;
  return ia < ib;
}

template <bool kLargest, typename T>
void TopKRows(const T* x, T* values, int64_t* indices, IndexAxisSplit s, int64_t k, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  const int64_t rows = s.outer * s.inner;
  const int64_t min_chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.axis));
  pool.ParallelFor(rows, min_chunk, [&](int64_t begin, int64_t end) {
    std::vector<std::pair<C, int64_t>> row(static_cast<size_t>(s.axis));
    auto before = [](const std::pair<C, int64_t>& a, const std::pair<C, int64_t>& b) {
      return RanksBefore<kLargest>(a.first, a.second, b.first, b.second);
    };
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / s.inner, i = r % s.inner;
      const T* in = x + o * s.axis * s.inner + i;
      for (int64_t j = 0; j < s.axis; ++j) row[static_cast<size_t>(j)] = {Traits::Load(in[j * s.inner]), j};
      // Small k (sampling from a vocabulary): select in O(n), then sort the k winners. The order is
      // total (ties broken by index), so the result does not depend on the algorithm.
      if (k * 4 < s.axis) {
        if (k > 0) std::nth_element(row.begin(), row.begin() + (k - 1), row.end(), before);
        std::sort(row.begin(), row.begin() + k, before);
      } else {
        std::sort(row.begin(), row.end(), before);
      }
      T* vout = values + o * k * s.inner + i;
      int64_t* iout = indices + o * k * s.inner + i;
      for (int64_t j = 0; j < k; ++j) {
        vout[j * s.inner] = Traits::Store(row[static_cast<size_t>(j)].first);
        iout[j * s.inner] = row[static_cast<size_t>(j)].second;
      }
    }
  });
}

class TopKKernel : public Kernel {
 public:
  explicit TopKKernel(const Node& node)
      : axis_(node.GetInt("axis", -1)),
        k_attribute_(node.GetInt("k", -1)),
        largest_(node.GetInt("largest", 1) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return KernelContext::Error("input 'X' must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
    int64_t k = k_attribute_;
    if (ctx.opset() >= 10) {
      if (!ctx.has_input(1)) return KernelContext::Error("input 'K' is required");
      const Tensor& kt = ctx.input(1);
      if (kt.element_count() != 1) {
        return KernelContext::Error("input 'K' must hold one value, got shape " + ShapeToString(kt.shape()));
      }
      TS_ASSIGN_OR_RETURN(std::vector<int64_t> kv, ReadInt64Values(kt, "input 'K'"));
      k = kv[0];
    }
    const IndexAxisSplit s = SplitShapeAt(x.shape(), axis);
    if (k < 0 || k > s.axis) {
      return KernelContext::Error("k = " + std::to_string(k) + " must be in [0, " + std::to_string(s.axis) +
                                  "] (the size of axis " + std::to_string(axis) + ")");
    }
    Shape out_shape = x.shape();
    out_shape[static_cast<size_t>(axis)] = k;
    TS_ASSIGN_OR_RETURN(Tensor * values, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
    TS_ASSIGN_OR_RETURN(Tensor * indices, ctx.AllocateUninitializedOutput(1, DType::kInt64, out_shape));
    if (values->element_count() == 0) return Status::Ok();
    return DispatchNumericWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          if (largest_) TopKRows<true>(x.data<T>(), values->data<T>(), indices->data<int64_t>(), s, k, ctx.pool());
          else TopKRows<false>(x.data<T>(), values->data<T>(), indices->data<int64_t>(), s, k, ctx.pool());
          return Status::Ok();
        },
        "TopK");
  }

 private:
  int64_t axis_;
  int64_t k_attribute_;
  bool largest_;
  // `sorted` = 0 allows any order; the sorted order is one of them, so it is not stored.
};

}  // namespace

void RegisterTopKKernels(KernelRegistry& registry) {
  registry.Register("TopK", 1, kLatestOpset, MakeNodeKernelFactory<TopKKernel>());
}

}  // namespace tessera
