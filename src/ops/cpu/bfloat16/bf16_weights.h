// The bfloat16 copies of a kernel's float32 weight in the layouts its primitives want.
#pragma once

#include <atomic>
#include <dnnl.hpp>
#include <utility>

#include "ops/cpu/common/dnnl_context.h"
#include "tessera/tensor.h"

namespace tessera {

// Holds the float32 weight until its first bfloat16 copy is made, then that copy alone: a later layout is
// reordered from it (bfloat16 to bfloat16, the same values), so the float32 original can go
// (Kernel::HasOwnCopyOfConstant: dropped()). Callers serialize For() (the kernels' plan mutex).
class Bf16Weights {
 public:
  explicit Bf16Weights(Tensor w) : w_(std::move(w)), shape_(w_.shape()) {}

  // The weight in layout `want`; `w_user` describes the float32 weight as given. A plan in `plans` that
  // holds that layout already shares its copy. Throws dnnl::error.
  template <typename Plans>
  dnnl::memory For(const Plans& plans, const dnnl::memory::desc& want, const dnnl::memory::desc& w_user) {
    for (const auto& [key, other] : plans) {
      if (other->weights.get_desc() == want) return other->weights;
    }
    if (first_ && first_.get_desc() == want) return first_;
    dnnl::memory source = first_ ? first_ : dnnl::memory(w_user, DnnlEngine(), const_cast<void*>(w_.raw_data()));
    dnnl::memory converted(want, DnnlEngine());
    dnnl::reorder(source, converted).execute(DnnlStream(), source, converted);
    DnnlStream().wait();
    if (!first_) {
      first_ = converted;
      w_ = Tensor();
      dropped_.store(true);
    }
    return converted;
  }

  // The float32 weight's shape (it outlives the weight).
  const Shape& shape() const { return shape_; }
  // Whether the float32 weight is gone (the first bfloat16 copy made).
  bool dropped() const { return dropped_.load(); }

 private:
  Tensor w_;
  Shape shape_;
  dnnl::memory first_;
  std::atomic<bool> dropped_{false};
};

}  // namespace tessera
