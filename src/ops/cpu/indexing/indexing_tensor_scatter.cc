// TensorScatter (opset 24): writes `update` into a copy of `past_cache` along the sequence axis, at a
// per-batch offset: present[b, ..., write_indices[b] + s, ...] = update[b, ..., s, ...]. It models the
// in-place KV-cache update of decoders with a fixed-size cache (shape [batch, ..., max_sequence_length,
// ...]); `write_indices` ([batch], int64) defaults to zeros. mode "linear" requires every write to land
// inside the cache; "circular" wraps the position modulo max_sequence_length.
//
// The copy is the whole cache; the executor hands the kernel a donated input when the caller gave one
// (Session::DonateInputs), and then only the update is written.
#include <cstring>
#include <string>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class TensorScatterKernel : public Kernel {
 public:
  explicit TensorScatterKernel(const Node& node)
      : axis_(node.GetInt("axis", -2)), circular_(node.GetString("mode", "linear") == "circular") {}

  Status Run(KernelContext& ctx) override {
    const Tensor& past = ctx.input(0);
    const Tensor& update = ctx.input(1);
    if (past.dtype() != update.dtype()) {
      return KernelContext::Error(std::string("inputs 'past_cache' (") + DTypeName(past.dtype()) + ") and 'update' (" +
                                  DTypeName(update.dtype()) + ") must have the same dtype");
    }
    if (past.rank() < 2 || update.rank() != past.rank()) {
      return KernelContext::Error("inputs 'past_cache' " + ShapeToString(past.shape()) + " and 'update' " +
                                  ShapeToString(update.shape()) + " must have the same rank, at least 2");
    }
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, past.rank(), "attribute 'axis'"));
    if (axis == 0) return KernelContext::Error("attribute 'axis' must not be the batch axis 0");
    for (int64_t d = 0; d < past.rank(); ++d) {
      if (d != axis && past.dim(d) != update.dim(d)) {
        return KernelContext::Error("input 'update' " + ShapeToString(update.shape()) + " must match 'past_cache' " +
                                    ShapeToString(past.shape()) + " on every axis but " + std::to_string(axis));
      }
    }
    const int64_t batch = past.dim(0), max_len = past.dim(axis), len = update.dim(axis);
    if (len > max_len) {
      return KernelContext::Error("input 'update' has " + std::to_string(len) + " positions on axis " +
                                  std::to_string(axis) + ", more than the cache's " + std::to_string(max_len));
    }
    std::vector<int64_t> starts(static_cast<size_t>(batch), 0);
    if (ctx.has_input(2)) {
      const Tensor& w = ctx.input(2);
      if (w.rank() != 1 || w.dim(0) != batch) {
        return KernelContext::Error("input 'write_indices' must have shape [" + std::to_string(batch) + "], got " +
                                    ShapeToString(w.shape()));
      }
      TS_ASSIGN_OR_RETURN(starts, ReadInt64Values(w, "input 'write_indices'"));
    }
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t start = starts[static_cast<size_t>(b)];
      if (start < 0 || (!circular_ && start + len > max_len) || (circular_ && max_len == 0 && len > 0)) {
        return KernelContext::Error("input 'write_indices'[" + std::to_string(b) + "] = " + std::to_string(start) +
                                    " writes " + std::to_string(len) + " positions outside the cache's " +
                                    std::to_string(max_len) + (circular_ ? "" : " (mode \"linear\")"));
      }
    }
    Tensor donated;  // shares the donated cache's buffer, which this node alone reads
    Tensor* out = &donated;
    if (ctx.input_writable(0)) {
      donated = past;
      ctx.SetOutput(0, donated);
    } else {
      TS_ASSIGN_OR_RETURN(out, ctx.AllocateUninitializedOutput(0, past.dtype(), past.shape()));
      TS_RETURN_IF_ERROR(CopyElements(past, *out));
    }
    // View both as [batch, middle, positions, inner] with `middle` the axes between batch and `axis`.
    int64_t middle = 1, inner = 1;
    for (int64_t d = 1; d < axis; ++d) middle *= past.dim(d);
    for (int64_t d = axis + 1; d < past.rank(); ++d) inner *= past.dim(d);
    return DispatchByElementSize(
        past.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* src = update.data<T>();
          T* dst = out->data<T>();
          for (int64_t b = 0; b < batch; ++b) {
            for (int64_t m = 0; m < middle; ++m) {
              const int64_t row = b * middle + m;
              for (int64_t s = 0; s < len; ++s) {
                int64_t pos = starts[static_cast<size_t>(b)] + s;
                if (circular_) pos %= max_len;
                const T* from = src + (row * len + s) * inner;
                T* to = dst + (row * max_len + pos) * inner;
                for (int64_t i = 0; i < inner; ++i) to[i] = from[i];
              }
            }
          }
          return Status::Ok();
        },
        "TensorScatter");
  }

 private:
  // Copies every element of `from` into `to` (same dtype and shape), strings included.
  static Status CopyElements(const Tensor& from, Tensor& to) {
    if (from.dtype() != DType::kString) {
      if (from.byte_size()) std::memcpy(to.raw_data(), from.raw_data(), from.byte_size());
      return Status::Ok();
    }
    const std::string* src = from.data<std::string>();
    std::string* dst = to.data<std::string>();
    for (int64_t i = 0; i < from.element_count(); ++i) dst[i] = src[i];
    return Status::Ok();
  }

  int64_t axis_;
  bool circular_;
};

}  // namespace

void RegisterTensorScatterKernels(KernelRegistry& registry) {
  registry.Register("TensorScatter", 24, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    const std::string mode = init.node.GetString("mode", "linear");
    if (mode != "linear" && mode != "circular") {
      return KernelContext::Error("attribute 'mode' must be \"linear\" or \"circular\", got \"" + mode + "\"");
    }
    return std::unique_ptr<Kernel>(std::make_unique<TensorScatterKernel>(init.node));
  });
}

}  // namespace tessera
