// oneDNN-backed float32 MaxPool/AveragePool (see pool_dnnl.h).
#include "ops/cpu/pool/pool_dnnl.h"

#include <dnnl.hpp>
#include <string>
#include <unordered_map>

#include "ops/cpu/common/dnnl_context.h"

namespace tessera {

using dnnl::memory;

struct DnnlPool::Plan {
  bool supported = false;
  dnnl::primitive prim;
  memory::desc src, dst, scratch;
};

DnnlPool::DnnlPool(bool max, bool count_include_pad, bool channels_last)
    : max_(max), count_include_pad_(count_include_pad), channels_last_(channels_last) {}

DnnlPool::~DnnlPool() = default;

StatusOr<bool> DnnlPool::Run(const WindowGeometry& g, const Shape& x_shape, const float* x, float* y) {
  std::shared_ptr<Plan> plan;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(x_shape);
    if (it == plans_.end()) {
      if (plans_.size() >= 32) plans_.clear();  // shapes that change every run must not grow the cache forever
      auto p = std::make_shared<Plan>();
      memory::dims strides, kernel, dilation, pad_l, pad_r;
      bool overhang = false;
      for (size_t i = 0; i < static_cast<size_t>(g.rank); ++i) {
        strides.push_back(g.stride[i]);
        kernel.push_back(g.kernel[i]);
        dilation.push_back(g.dilation[i] - 1);
        pad_l.push_back(g.pad_begin[i]);
        // ceil_mode's last window may reach past the end pad: extend the pad so oneDNN's floor-based
        // output size matches.
        const int64_t reach = (g.out[i] - 1) * g.stride[i] + g.DilatedKernel(i) - g.in[i] - g.pad_begin[i];
        overhang |= reach > g.pad_end[i];
        pad_r.push_back(std::max(reach, g.pad_end[i]));
      }
      const auto f32 = memory::data_type::f32;
      const auto tag = x_shape.size() == 3   ? memory::format_tag::abc
                       : x_shape.size() == 4 ? (channels_last_ ? memory::format_tag::acdb : memory::format_tag::abcd)
                                             : memory::format_tag::abcde;
      memory::dims dst_dims = {x_shape[0], x_shape[1]};
      dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
      p->src = memory::desc(memory::dims(x_shape.begin(), x_shape.end()), f32, tag);
      p->dst = memory::desc(dst_dims, f32, tag);
      const auto algorithm = max_                 ? dnnl::algorithm::pooling_max
                             : count_include_pad_ ? dnnl::algorithm::pooling_avg_include_padding
                                                  : dnnl::algorithm::pooling_avg_exclude_padding;
      if (!(overhang && !max_ && count_include_pad_)) {
        try {
          dnnl::primitive_attr attr;
          attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
          dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, p->src, p->dst, strides,
                                           kernel, dilation, pad_l, pad_r);
          dnnl::pooling_v2_forward::primitive_desc pd(d, attr, DnnlEngine());
          p->scratch = pd.scratchpad_desc();
          // oneDNN's reference pooling is no faster than the window loops.
          p->supported = std::string(pd.impl_info_str()).find("ref") == std::string::npos;
          if (p->supported) p->prim = dnnl::pooling_v2_forward(pd);
        } catch (const dnnl::error&) {
          p->supported = false;
        }
      }
      it = plans_.emplace(x_shape, std::move(p)).first;
    }
    plan = it->second;
  }
  if (!plan->supported) return false;
  std::shared_ptr<Buffer> scratch;
  if (plan->scratch.get_size() > 0) {
    TS_ASSIGN_OR_RETURN(scratch, Buffer::Allocate(plan->scratch.get_size()));
  }
  try {
    dnnl::engine& engine = DnnlEngine();
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(plan->src, engine, const_cast<float*>(x))},
                                            {DNNL_ARG_DST, memory(plan->dst, engine, y)}};
    if (scratch) args[DNNL_ARG_SCRATCHPAD] = memory(plan->scratch, engine, scratch->data());
    plan->prim.execute(DnnlStream(), args);
    DnnlStream().wait();
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN pooling failed: ") + e.what());
  }
  return true;
}

}  // namespace tessera
