// Slice and Pad against per-element references over seeded random shapes: Slice with random starts,
// ends (past either end), negative axes and steps of either sign; Pad with random begin/end pads
// (negative ones crop) in every mode, so the dim-by-dim border fill is checked where borders meet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "testing/one_node_model.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

Tensor Iota(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(ShapeElementCount(shape)));
  std::iota(v.begin(), v.end(), 1.0f);
  return Tensor::FromVector(DType::kFloat32, shape, v);
}
Tensor Int64s(const std::vector<int64_t>& v) {
  return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v);
}

// Calls fn(index) for every index of `shape` in row-major order.
template <typename F>
void ForEachIndex(const Shape& shape, F&& fn) {
  const int64_t n = ShapeElementCount(shape);
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t o = 0; o < n; ++o) {
    fn(index, o);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

TEST(ShapeSliceTest, RandomWindowsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<unsigned>(hi - lo + 1));
  };
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t rank = pick(1, 4);
    Shape shape;
    for (int64_t d = 0; d < rank; ++d) shape.push_back(pick(1, 6));
    std::vector<int64_t> axes(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
    std::shuffle(axes.begin(), axes.end(), rng);
    axes.resize(static_cast<size_t>(pick(1, rank)));
    std::vector<int64_t> starts, ends, steps, neg_axes;
    std::vector<int64_t> begin(static_cast<size_t>(rank), 0), step(static_cast<size_t>(rank), 1);
    Shape out = shape;
    for (int64_t a : axes) {
      const int64_t dim = shape[static_cast<size_t>(a)];
      int64_t s = pick(-dim - 2, dim + 2), e = pick(-dim - 2, dim + 2), st = pick(1, 3) * (rng() % 2 ? 1 : -1);
      starts.push_back(s);
      ends.push_back(e);
      steps.push_back(st);
      neg_axes.push_back(rng() % 2 ? a - rank : a);
      // Reference: walk numpy's clamped range.
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      s = st > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
      e = st > 0 ? std::clamp<int64_t>(e, 0, dim) : std::clamp<int64_t>(e, -1, dim - 1);
      int64_t count = 0;
      for (int64_t i = s; st > 0 ? i < e : i > e; i += st) ++count;
      begin[static_cast<size_t>(a)] = s;
      step[static_cast<size_t>(a)] = st;
      out[static_cast<size_t>(a)] = count;
    }
    const Tensor x = Iota(shape);
    auto result = OneNodeModel("Slice", 13)
                      .Input("x", x)
                      .Input("starts", Int64s(starts))
                      .Input("ends", Int64s(ends))
                      .Input("axes", Int64s(neg_axes))
                      .Input("steps", Int64s(steps))
                      .Output("y", static_cast<int>(rank))
                      .Run();
    ASSERT_TRUE(result.ok()) << result.status().message();
    const Tensor& y = (*result)[0];
    ASSERT_EQ(y.shape(), out) << "input " << ShapeToString(shape) << " starts " << ShapeToString(starts) << " ends "
                              << ShapeToString(ends) << " axes " << ShapeToString(neg_axes) << " steps "
                              << ShapeToString(steps);
    const std::vector<int64_t> strides = ContiguousStrides(shape);
    ForEachIndex(out, [&](const std::vector<int64_t>& index, int64_t o) {
      int64_t src = 0;
      for (size_t d = 0; d < index.size(); ++d) src += (begin[d] + index[d] * step[d]) * strides[d];
      ASSERT_EQ(y.data<float>()[o], x.data<float>()[src]) << "at output " << o;
    });
  }
}

// Source index of border position i for a kept axis of n elements, as numpy.pad defines the modes.
int64_t PadSource(const std::string& mode, int64_t i, int64_t n) {
  if (mode == "edge") return std::clamp<int64_t>(i, 0, n - 1);
  if (mode == "wrap") return ((i % n) + n) % n;
  while (i < 0 || i >= n) {  // reflect, bouncing for pads wider than the axis
    if (n == 1) return 0;
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  }
  return i;
}

TEST(ShapePadTest, RandomPadsInEveryModeMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<unsigned>(hi - lo + 1));
  };
  const char* modes[] = {"constant", "reflect", "edge"};
  for (int trial = 0; trial < 36; ++trial) {
    const std::string mode = modes[trial % 3];
    const int64_t rank = pick(1, 4);
    Shape shape;
    std::vector<int64_t> pads(static_cast<size_t>(2 * rank));
    for (int64_t d = 0; d < rank; ++d) shape.push_back(pick(2, 5));
    Shape kept(static_cast<size_t>(rank)), out(static_cast<size_t>(rank));
    for (int64_t d = 0; d < rank; ++d) {
      const size_t u = static_cast<size_t>(d);
      // Crop at most one element per side so the kept part is never empty.
      pads[u] = pick(-1, 3);
      pads[u + static_cast<size_t>(rank)] = pick(-1, 3);
      kept[u] = shape[u] - std::max<int64_t>(0, -pads[u]) - std::max<int64_t>(0, -pads[u + static_cast<size_t>(rank)]);
      out[u] = shape[u] + pads[u] + pads[u + static_cast<size_t>(rank)];
    }
    const Tensor x = Iota(shape);
    auto result = OneNodeModel("Pad", 13)
                      .Input("x", x)
                      .Input("pads", Int64s(pads))
                      .Input("value", Tensor::FromVector<float>(DType::kFloat32, {}, {-5.0f}))
                      .Output("y", static_cast<int>(rank))
                      .String("mode", mode)
                      .Run();
    ASSERT_TRUE(result.ok()) << result.status().message();
    const Tensor& y = (*result)[0];
    ASSERT_EQ(y.shape(), out);
    const std::vector<int64_t> strides = ContiguousStrides(shape);
    ForEachIndex(out, [&](const std::vector<int64_t>& index, int64_t o) {
      int64_t src = 0;
      bool border = false;
      for (size_t d = 0; d < index.size(); ++d) {
        const int64_t crop_begin = std::max<int64_t>(0, -pads[d]);
        int64_t i = index[d] - std::max<int64_t>(0, pads[d]);  // position relative to the kept part
        if (i < 0 || i >= kept[d]) {
          border = true;
          if (mode != "constant") i = PadSource(mode, i, kept[d]);
        }
        src += (crop_begin + i) * strides[d];
      }
      const float want = border && mode == "constant" ? -5.0f : x.data<float>()[src];
      ASSERT_EQ(y.data<float>()[o], want)
          << mode << " input " << ShapeToString(shape) << " pads " << ShapeToString(pads) << " at output " << o;
    });
  }
}

}  // namespace
}  // namespace tessera
