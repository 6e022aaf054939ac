// ReverseSequence: reverses the first sequence_lens[b] steps of each batch entry b along the time
// axis and copies the rest unchanged. The input is [time, batch, ...] (time_axis 0, batch_axis 1) or
// [batch, time, ...] (time_axis 1, batch_axis 0).
#include <string>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class ReverseSequenceKernel : public Kernel {
 public:
  explicit ReverseSequenceKernel(const Node& node)
      : time_axis_(node.GetInt("time_axis", 0)), batch_axis_(node.GetInt("batch_axis", 1)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& lens_t = ctx.input(1);
    if (!((time_axis_ == 0 && batch_axis_ == 1) || (time_axis_ == 1 && batch_axis_ == 0))) {
      return KernelContext::Error("attributes 'time_axis' " + std::to_string(time_axis_) + " and 'batch_axis' " +
                                  std::to_string(batch_axis_) + " must be 0 and 1 in some order");
    }
    if (x.rank() < 2) return KernelContext::Error("input 'input' must have rank >= 2, got " + ShapeToString(x.shape()));
    const int64_t steps = x.dim(time_axis_), batch = x.dim(batch_axis_);
    if (lens_t.rank() != 1 || lens_t.dim(0) != batch) {
      return KernelContext::Error("input 'sequence_lens' must have shape [" + std::to_string(batch) + "], got " +
                                  ShapeToString(lens_t.shape()));
    }
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> lens, ReadInt64Values(lens_t, "input 'sequence_lens'"));
    for (size_t b = 0; b < lens.size(); ++b) {
      if (lens[b] < 0 || lens[b] > steps) {
        return KernelContext::Error("input 'sequence_lens' value " + std::to_string(lens[b]) + " at position " +
                                    std::to_string(b) + " is out of range [0, " + std::to_string(steps) + "]");
      }
    }
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    if (out->element_count() == 0) return Status::Ok();
    int64_t inner = 1;
    for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dim(d);
    // Offset of (t, b) in elements.
    const int64_t t_stride = time_axis_ == 0 ? batch * inner : inner;
    const int64_t b_stride = time_axis_ == 0 ? inner : steps * inner;
    return DispatchByElementSize(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* src = x.data<T>();
          T* dst = out->data<T>();
          for (int64_t b = 0; b < batch; ++b) {
            const int64_t len = lens[static_cast<size_t>(b)];
            for (int64_t t = 0; t < steps; ++t) {
              const int64_t from = t < len ? len - 1 - t : t;
              CopyElements(src + from * t_stride + b * b_stride, dst + t * t_stride + b * b_stride, inner);
            }
          }
          return Status::Ok();
        },
        "ReverseSequence");
  }

 private:
  int64_t time_axis_;
  int64_t batch_axis_;
};

}  // namespace

void RegisterReverseSequenceKernels(KernelRegistry& registry) {
  registry.Register("ReverseSequence", 10, kLatestOpset, MakeNodeKernelFactory<ReverseSequenceKernel>());
}

}  // namespace tessera
