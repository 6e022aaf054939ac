// Unique: the distinct elements of a tensor (or distinct slices along `axis`) with the index of each
// one's first occurrence, the inverse mapping and the counts, as numpy.unique returns them.
//
// With an axis, a slice j is every element (o, j, i) of the [outer, axis, inner] view, compared in
// row-major (o, i) order: the order numpy gets by moving the axis to the front and flattening.
// sorted = 1 orders the results ascending; sorted = 0 keeps the order of first occurrence.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <string_view>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Calls fn with a value of the storage type: numeric (16-bit floats compare through float), bool, string.
template <typename F>
Status DispatchComparable(DType dtype, F&& fn) {
  if (dtype == DType::kBool) return fn(uint8_t{});
  if (dtype == DType::kString) return fn(std::string{});
  return DispatchNumericWithHalf(dtype, fn, "Unique");
}

template <typename T>
inline auto CompareKey(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return std::string_view(v);
  else return NumericTraits<T>::Load(v);
}

// a < b, with NaN above every number and equal to itself, so sorting sees a strict weak order.
template <typename K>
inline bool KeyLess(const K& a, const K& b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

// Groups of equal slices: `order` lists slice ids sorted (stably) by content; `group_start` the
// offsets in `order` where a new distinct value begins.
template <typename T>
struct UniqueGroups {
  std::vector<int64_t> order;
  std::vector<int64_t> group_start;
};

template <typename T>
UniqueGroups<T> GroupSlices(const T* x, IndexAxisSplit s) {
  // Negative: slice a sorts before slice b; 0: equal.
  auto compare = [&](int64_t a, int64_t b) -> int {
    for (int64_t o = 0; o < s.outer; ++o) {
      const T* pa = x + (o * s.axis + a) * s.inner;
      const T* pb = x + (o * s.axis + b) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) {
        const auto ka = CompareKey(pa[i]), kb = CompareKey(pb[i]);
        if (KeyLess(ka, kb)) return -1;
        if (KeyLess(kb, ka)) return 1;
      }
    }
    return 0;
  };
  UniqueGroups<T> g;
  g.order.resize(static_cast<size_t>(s.axis));
  std::iota(g.order.begin(), g.order.end(), int64_t{0});
  std::stable_sort(g.order.begin(), g.order.end(), [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
  for (size_t p = 0; p < g.order.size(); ++p) {
    if (p == 0 || compare(g.order[p - 1], g.order[p]) != 0) g.group_start.push_back(static_cast<int64_t>(p));
  }
  return g;
}

class UniqueKernel : public Kernel {
 public:
  explicit UniqueKernel(const Node& node)
      : has_axis_(node.HasAttribute("axis")), axis_(node.GetInt("axis", 0)), sorted_(node.GetInt("sorted", 1) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    IndexAxisSplit s{1, x.element_count(), 1};
    int64_t axis = 0;
    if (has_axis_) {
      if (x.rank() == 0) return KernelContext::Error("input 'X' must have rank >= 1 when 'axis' is set");
      TS_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
      s = SplitShapeAt(x.shape(), axis);
    }
    return DispatchComparable(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* src = x.data<T>();
      const UniqueGroups<T> g = GroupSlices(src, s);
      const size_t groups = g.group_start.size();
      // first[u]: first occurrence of group u (stable sort puts it at the group's start).
      std::vector<int64_t> first(groups), counts(groups), output_rank(groups);
      for (size_t u = 0; u < groups; ++u) {
        const int64_t start = g.group_start[u];
        const int64_t end = u + 1 < groups ? g.group_start[u + 1] : static_cast<int64_t>(g.order.size());
        first[u] = g.order[static_cast<size_t>(start)];
        counts[u] = end - start;
      }
      // Output position of each group: sorted order, or order of first occurrence.
      std::vector<int64_t> out_group(groups);  // output position -> group
      std::iota(out_group.begin(), out_group.end(), int64_t{0});
      if (!sorted_) {
        std::sort(out_group.begin(), out_group.end(), [&](int64_t a, int64_t b) {
          return first[static_cast<size_t>(a)] < first[static_cast<size_t>(b)];
        });
      }
      for (size_t p = 0; p < groups; ++p) output_rank[static_cast<size_t>(out_group[p])] = static_cast<int64_t>(p);

      const int64_t n = static_cast<int64_t>(groups);
      Shape y_shape{n};
      if (has_axis_) {
        y_shape = x.shape();
        y_shape[static_cast<size_t>(axis)] = n;
      }
      TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), y_shape));
      // The three index outputs are optional and may be missing from the node's output list.
      std::vector<int64_t> discard(static_cast<size_t>(std::max<int64_t>(n, s.axis)));
      auto index_output = [&](size_t i, int64_t size) -> StatusOr<int64_t*> {
        if (i >= ctx.output_count()) return discard.data();
        TS_ASSIGN_OR_RETURN(Tensor * t, ctx.AllocateUninitializedOutput(i, DType::kInt64, {size}));
        return t->data<int64_t>();
      };
      TS_ASSIGN_OR_RETURN(int64_t * indices, index_output(1, n));
      TS_ASSIGN_OR_RETURN(int64_t * inverse, index_output(2, s.axis));
      TS_ASSIGN_OR_RETURN(int64_t * count_out, index_output(3, n));
      T* dst = y->data<T>();
      for (int64_t p = 0; p < n; ++p) {
        const size_t u = static_cast<size_t>(out_group[static_cast<size_t>(p)]);
        indices[p] = first[u];
        count_out[p] = counts[u];
        for (int64_t o = 0; o < s.outer; ++o) {
          CopyElements(src + (o * s.axis + first[u]) * s.inner, dst + (o * n + p) * s.inner, s.inner);
        }
      }
      for (size_t u = 0; u < groups; ++u) {
        const size_t end = u + 1 < groups ? static_cast<size_t>(g.group_start[u + 1]) : g.order.size();
        for (size_t q = static_cast<size_t>(g.group_start[u]); q < end; ++q) {
          inverse[g.order[q]] = output_rank[u];
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool has_axis_;
  int64_t axis_;
  bool sorted_;
};

}  // namespace

void RegisterUniqueKernels(KernelRegistry& registry) {
  registry.Register("Unique", 11, kLatestOpset, MakeNodeKernelFactory<UniqueKernel>());
}

}  // namespace tessera
