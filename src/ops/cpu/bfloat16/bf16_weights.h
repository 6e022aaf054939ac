// The bfloat16 copy of a kernel's float32 weight in the layout a primitive wants, made once per layout.
#pragma once

#include <dnnl.hpp>

#include "ops/cpu/common/dnnl_context.h"
#include "tessera/tensor.h"

namespace tessera {

// `plans` maps input shapes to plans that each hold `weights`; a plan for a new input shape usually wants the
// layout an earlier one already converted, so that copy is shared instead of made again. Throws dnnl::error.
template <typename Plans>
dnnl::memory Bf16WeightsFor(const Plans& plans, const dnnl::memory::desc& want, const dnnl::memory::desc& w_user,
                            const Tensor& w) {
  for (const auto& [key, other] : plans) {
    if (other->weights.get_desc() == want) return other->weights;
  }
  dnnl::memory source(w_user, DnnlEngine(), const_cast<void*>(w.raw_data()));
  dnnl::memory converted(want, DnnlEngine());
  dnnl::reorder(source, converted).execute(DnnlStream(), source, converted);  // float32 -> bfloat16
  DnnlStream().wait();
  return converted;
}

}  // namespace tessera
