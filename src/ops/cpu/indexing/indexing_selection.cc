// NonZero, Compress and OneHot: ops that turn masks into positions and positions into masks.
#include <algorithm>
#include <cmath>
#include <string>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Fills `mask` with whether each element of `x` is nonzero (bool, every numeric dtype, 16-bit floats
// by their bits so that -0.0 counts as zero).
Status NonZeroMask(const Tensor& x, std::vector<uint8_t>& mask) {
  const int64_t n = x.element_count();
  mask.resize(static_cast<size_t>(n));
  if (x.dtype() == DType::kBool) {
    const uint8_t* p = x.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) mask[static_cast<size_t>(i)] = p[i] != 0;
    return Status::Ok();
  }
  if (x.dtype() == DType::kFloat16 || x.dtype() == DType::kBFloat16) {
    const uint16_t p_mask = 0x7fff;
    const uint16_t* p = x.data<uint16_t>();
    for (int64_t i = 0; i < n; ++i) mask[static_cast<size_t>(i)] = (p[i] & p_mask) != 0;
    return Status::Ok();
  }
  return DispatchNumeric(
      x.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        for (int64_t i = 0; i < n; ++i) mask[static_cast<size_t>(i)] = p[i] != T(0);
        return Status::Ok();
      },
      "NonZero");
}

// NonZero: int64 [rank, count] with the coordinates of every nonzero element in row-major order.
// A scalar is read as shape [1], as numpy's and ONNX Runtime's NonZero do.
Status RunNonZero(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<uint8_t> mask;
  TS_RETURN_IF_ERROR(NonZeroMask(x, mask));
  const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t count = 0;
  for (uint8_t m : mask) count += m;
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, DType::kInt64, {rank, count}));
  int64_t* y = out->data<int64_t>();
  std::vector<int64_t> pos(static_cast<size_t>(rank), 0);
  int64_t c = 0;
  for (size_t e = 0; e < mask.size(); ++e) {
    if (mask[e]) {
      for (int64_t d = 0; d < rank; ++d) y[d * count + c] = pos[static_cast<size_t>(d)];
      ++c;
    }
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++pos[static_cast<size_t>(d)] < shape[static_cast<size_t>(d)]) break;
      pos[static_cast<size_t>(d)] = 0;
    }
  }
  return Status::Ok();
}

// Compress: the slices along `axis` (or the elements of the flattened input when there is no axis)
// whose entry in the bool `condition` is true. A shorter condition drops the slices past its end.
class CompressKernel : public Kernel {
 public:
  explicit CompressKernel(const Node& node)
      : has_axis_(node.HasAttribute("axis")), axis_(node.GetInt("axis", 0)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& input = ctx.input(0);
    const Tensor& condition = ctx.input(1);
    if (condition.dtype() != DType::kBool || condition.rank() != 1) {
      return KernelContext::Error(std::string("input 'condition' must be a 1-D bool tensor, got ") +
                                  DTypeName(condition.dtype()) + " " + ShapeToString(condition.shape()));
    }
    IndexAxisSplit s{1, input.element_count(), 1};
    int64_t axis = 0;
    if (has_axis_) {
      if (input.rank() == 0) return KernelContext::Error("input 'input' must have rank >= 1 when 'axis' is set");
      TS_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis_, input.rank(), "attribute 'axis'"));
      s = SplitShapeAt(input.shape(), axis);
    }
    if (condition.dim(0) > s.axis) {
      return KernelContext::Error("input 'condition' has " + std::to_string(condition.dim(0)) +
                                  " entries, more than the " + std::to_string(s.axis) + " slices it selects from");
    }
    const uint8_t* cond = condition.data<uint8_t>();
    std::vector<int64_t> kept;
    for (int64_t j = 0; j < condition.dim(0); ++j) {
      if (cond[j]) kept.push_back(j);
    }
    const int64_t n = static_cast<int64_t>(kept.size());
    Shape out_shape{n};
    if (has_axis_) {
      out_shape = input.shape();
      out_shape[static_cast<size_t>(axis)] = n;
    }
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, input.dtype(), out_shape));
    if (out->element_count() == 0) return Status::Ok();
    return DispatchByElementSize(
        input.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* src = input.data<T>();
          T* dst = out->data<T>();
          for (int64_t o = 0; o < s.outer; ++o) {
            for (int64_t j = 0; j < n; ++j) {
              CopyElements(src + (o * s.axis + kept[static_cast<size_t>(j)]) * s.inner, dst + (o * n + j) * s.inner, s.inner);
            }
          }
          return Status::Ok();
        },
        "Compress");
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

// Reads every element of a numeric tensor as int64 (OneHot accepts float indices and depth).
Status ReadAsInt64(const Tensor& t, const char* what, std::vector<int64_t>& out) {
  out.resize(static_cast<size_t>(t.element_count()));
  return DispatchNumericWithHalf(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for (size_t i = 0; i < out.size(); ++i) {
          const auto v = NumericTraits<T>::Load(p[i]);
          if constexpr (std::is_floating_point_v<decltype(v)>) {
            // Outside int64's range the conversion is undefined behaviour, so refuse it.
            if (!(std::fabs(static_cast<double>(v)) < 9.2e18)) {
              return KernelContext::Error(std::string(what) + " value " + std::to_string(v) + " at position " +
                                          std::to_string(i) + " is not a representable index");
            }
          }
          out[i] = static_cast<int64_t>(v);
        }
        return Status::Ok();
      },
      what);
}

// OneHot: output rank = rank(indices) + 1 with a new dim of size `depth` at `axis`; an index i (or
// i + depth when negative) selects values[1], every other position values[0]. Indices outside
// [-depth, depth) give an all-off row, as the spec says.
class OneHotKernel : public Kernel {
 public:
  explicit OneHotKernel(const Node& node) : axis_(node.GetInt("axis", -1)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& indices = ctx.input(0);
    const Tensor& depth_t = ctx.input(1);
    const Tensor& values = ctx.input(2);
    if (depth_t.element_count() != 1) {
      return KernelContext::Error("input 'depth' must hold one value, got shape " + ShapeToString(depth_t.shape()));
    }
    if (values.element_count() != 2) {
      return KernelContext::Error("input 'values' must hold [off_value, on_value], got shape " + ShapeToString(values.shape()));
    }
    std::vector<int64_t> depth_v, idx;
    TS_RETURN_IF_ERROR(ReadAsInt64(depth_t, "input 'depth'", depth_v));
    const int64_t depth = depth_v[0];
    if (depth < 1) return KernelContext::Error("input 'depth' must be >= 1, got " + std::to_string(depth));
    TS_RETURN_IF_ERROR(ReadAsInt64(indices, "input 'indices'", idx));
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, indices.rank() + 1, "attribute 'axis'"));
    Shape out_shape = indices.shape();
    out_shape.insert(out_shape.begin() + axis, depth);
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, values.dtype(), out_shape));
    if (out->element_count() == 0) return Status::Ok();
    // indices viewed as [outer, inner] around the new axis; output as [outer, depth, inner].
    const IndexAxisSplit s = SplitShapeAt(out_shape, axis);
    return DispatchByElementSize(
        values.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T off = values.data<T>()[0], on = values.data<T>()[1];
          T* dst = out->data<T>();
          const int64_t total = out->element_count();
          for (int64_t e = 0; e < total; ++e) dst[e] = off;
          for (int64_t o = 0; o < s.outer; ++o) {
            for (int64_t i = 0; i < s.inner; ++i) {
              int64_t v = idx[static_cast<size_t>(o * s.inner + i)];
              if (v < -depth || v >= depth) continue;
              if (v < 0) v += depth;
              dst[(o * depth + v) * s.inner + i] = on;
            }
          }
          return Status::Ok();
        },
        "OneHot");
  }

 private:
  int64_t axis_;
};

}  // namespace

void RegisterSelectionKernels(KernelRegistry& registry) {
  registry.Register("NonZero", 9, kLatestOpset, MakeFunctionKernel(RunNonZero));
  registry.Register("Compress", 9, kLatestOpset, MakeNodeKernelFactory<CompressKernel>());
  registry.Register("OneHot", 9, kLatestOpset, MakeNodeKernelFactory<OneHotKernel>());
}

}  // namespace tessera
