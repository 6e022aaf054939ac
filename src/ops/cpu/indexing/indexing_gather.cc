// Gather, GatherElements and GatherND: read elements or slices of `data` at positions named by an
// index tensor. Gather is the embedding lookup of transformer models, so it copies whole contiguous
// rows (memcpy) and splits the rows over the thread pool.
#include <algorithm>
#include <string>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Gather: output = data.shape[:axis] + indices.shape + data.shape[axis+1:].
class GatherKernel : public Kernel {
 public:
  explicit GatherKernel(const Node& node) : axis_(node.GetInt("axis", 0)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    if (data.rank() == 0) return KernelContext::Error("input 'data' must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, data.rank(), "attribute 'axis'"));
    const IndexAxisSplit s = SplitShapeAt(data.shape(), axis);
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> idx, ReadNormalizedIndices(indices, s.axis, "input 'indices'"));
    Shape out_shape(data.shape().begin(), data.shape().begin() + axis);
    out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
    out_shape.insert(out_shape.end(), data.shape().begin() + axis + 1, data.shape().end());
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, data.dtype(), out_shape));
    if (out->element_count() == 0) return Status::Ok();
    const int64_t n = static_cast<int64_t>(idx.size());
    return DispatchByElementSize(
        data.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* src = data.data<T>();
          T* dst = out->data<T>();
          const int64_t rows = s.outer * n;
          const int64_t row_elems = s.inner;
          // About 16 KiB of copying per chunk keeps small gathers on one thread.
          const int64_t min_chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_elems * int64_t(sizeof(T))));
          ctx.pool().ParallelFor(rows, min_chunk, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) {
              const int64_t o = r / n, j = r % n;
              const T* from = src + (o * s.axis + idx[static_cast<size_t>(j)]) * row_elems;
              T* to = dst + r * row_elems;
              if (row_elems == 1) *to = *from;
              else CopyElements(from, to, row_elems);
            }
          });
          return Status::Ok();
        },
        "Gather");
  }

 private:
  int64_t axis_;
};

// GatherElements: output has the shape of `indices`; out[m] = data[m with m[axis] = indices[m]].
class GatherElementsKernel : public Kernel {
 public:
  explicit GatherElementsKernel(const Node& node) : axis_(node.GetInt("axis", 0)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    if (data.rank() == 0) return KernelContext::Error("input 'data' must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, CheckElementIndicesShape(data, indices, axis_));
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> idx, ReadNormalizedIndices(indices, data.dim(axis), "input 'indices'"));
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, data.dtype(), indices.shape()));
    if (out->element_count() == 0) return Status::Ok();
    const std::vector<int64_t> strides = ContiguousStrides(data.shape());
    const Shape& ishape = indices.shape();
    const size_t rank = ishape.size();
    const int64_t axis_stride = strides[static_cast<size_t>(axis)];
    return DispatchByElementSize(
        data.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* src = data.data<T>();
          T* dst = out->data<T>();
          // Walk the indices row by row (last dim innermost), rows split over the pool; `base` is the
          // data offset of a row without the axis term.
          const int64_t inner = ishape[rank - 1];
          const bool axis_is_last = static_cast<size_t>(axis) == rank - 1;
          const int64_t rows = out->element_count() / inner;
          ctx.pool().ParallelFor(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t begin, int64_t end) {
            std::vector<int64_t> pos(rank, 0);
            int64_t base = 0;
            for (int64_t d = static_cast<int64_t>(rank) - 2, r = begin; d >= 0; --d) {
              const size_t ud = static_cast<size_t>(d);
              pos[ud] = r % ishape[ud];
              r /= ishape[ud];
              if (d != axis) base += pos[ud] * strides[ud];
            }
            for (int64_t row = begin; row < end; ++row) {
              const int64_t* ri = idx.data() + row * inner;
              T* ro = dst + row * inner;
              if (axis_is_last) {
                for (int64_t k = 0; k < inner; ++k) ro[k] = src[base + ri[k]];
              } else {
                for (int64_t k = 0; k < inner; ++k) ro[k] = src[base + k + ri[k] * axis_stride];
              }
              for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
                const size_t ud = static_cast<size_t>(d);
                const int64_t step = d == axis ? 0 : strides[ud];
                ++pos[ud];
                base += step;
                if (pos[ud] < ishape[ud]) break;
                base -= step * ishape[ud];
                pos[ud] = 0;
              }
            }
          });
          return Status::Ok();
        },
        "GatherElements");
  }

 private:
  int64_t axis_;
};

// GatherND: each row of `indices` (its last dim, k values) names a slice of `data` after the first
// batch_dims dims; output = indices.shape[:-1] + data.shape[batch_dims + k:].
class GatherNDKernel : public Kernel {
 public:
  explicit GatherNDKernel(const Node& node) : batch_dims_(node.GetInt("batch_dims", 0)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const int64_t r = data.rank(), q = indices.rank(), b = batch_dims_;
    if (r < 1 || q < 1) return KernelContext::Error("inputs 'data' and 'indices' must have rank >= 1");
    if (b < 0 || b >= std::min(r, q)) {
      return KernelContext::Error("attribute 'batch_dims' " + std::to_string(b) + " must be in [0, min(rank(data), rank(indices)))");
    }
    for (int64_t d = 0; d < b; ++d) {
      if (data.dim(d) != indices.dim(d)) {
        return KernelContext::Error("batch dims of 'data' " + ShapeToString(data.shape()) + " and 'indices' " +
                                    ShapeToString(indices.shape()) + " differ");
      }
    }
    const int64_t k = indices.dim(q - 1);
    if (k < 1 || k > r - b) {
      return KernelContext::Error("last dim of 'indices' is " + std::to_string(k) + ", must be in [1, " + std::to_string(r - b) + "]");
    }
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> raw, ReadInt64Values(indices, "input 'indices'"));
    Shape out_shape(indices.shape().begin(), indices.shape().end() - 1);
    out_shape.insert(out_shape.end(), data.shape().begin() + b + k, data.shape().end());
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, data.dtype(), out_shape));
    const std::vector<int64_t> strides = ContiguousStrides(data.shape());
    int64_t batches = 1;
    for (int64_t d = 0; d < b; ++d) batches *= data.dim(d);
    const int64_t batch_stride = b > 0 ? strides[static_cast<size_t>(b - 1)] : 0;
    const int64_t slice = b + k < r ? strides[static_cast<size_t>(b + k - 1)] : 1;
    const int64_t tuples = static_cast<int64_t>(raw.size()) / k;
    const int64_t per_batch = batches > 0 ? tuples / batches : 0;
    // Resolve every tuple to a data offset first, so a bad index fails before anything is copied.
    std::vector<int64_t> offsets(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = (t / std::max<int64_t>(1, per_batch)) * batch_stride;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t dim = data.dim(b + j);
        int64_t v = raw[static_cast<size_t>(t * k + j)];
        if (v < -dim || v >= dim) return IndexOutOfRange("input 'indices'", v, t * k + j, dim);
        if (v < 0) v += dim;
        off += v * strides[static_cast<size_t>(b + j)];
      }
      offsets[static_cast<size_t>(t)] = off;
    }
    if (out->element_count() == 0) return Status::Ok();
    return DispatchByElementSize(
        data.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* src = data.data<T>();
          T* dst = out->data<T>();
          for (int64_t t = 0; t < tuples; ++t) CopyElements(src + offsets[static_cast<size_t>(t)], dst + t * slice, slice);
          return Status::Ok();
        },
        "GatherND");
  }

 private:
  int64_t batch_dims_;
};

}  // namespace

void RegisterGatherKernels(KernelRegistry& registry) {
  registry.Register("Gather", 1, kLatestOpset, MakeNodeKernelFactory<GatherKernel>());
  registry.Register("GatherElements", 11, kLatestOpset, MakeNodeKernelFactory<GatherElementsKernel>());
  registry.Register("GatherND", 11, kLatestOpset, MakeNodeKernelFactory<GatherNDKernel>());
}

}  // namespace tessera
