// oneDNN-backed float32 Conv/ConvTranspose (see conv_dnnl.h).
#include "ops/cpu/conv/conv_dnnl.h"

#include <dnnl.hpp>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include "ops/cpu/common/dnnl_context.h"

namespace tessera {

using dnnl::memory;

struct DnnlConv::Plan {
  bool supported = false;
  dnnl::primitive prim;
  memory::desc src_user, src, dst_user, dst, w_user, w, bias, scratch;
  dnnl::reorder src_reorder, dst_reorder, w_reorder;  // valid only where the layouts differ
  dnnl::reorder addend_reorder;  // plain z into dst's layout, for a sum post-op with reorder_dst
  bool reorder_src = false, reorder_dst = false, reorder_w = false;
  bool manual_post_ops = false;  // the primitive was built without the post-ops: Run applies them
  bool winograd = false;         // weights are in oneDNN's Winograd layout, which nothing reorders out of
  std::shared_ptr<memory> packed_w;  // constant weights in `w`'s layout
  bool packed_w_is_user = false;     // packed_w wraps the constant itself (no reorder was needed)
  std::string impl;
  // ConvTranspose whose output reaches past what the deconvolution covers (output_padding beyond the end
  // pad, or a large output_shape): oneDNN computes the covered part, the rest is bias only.
  bool tail = false;
  Shape covered;  // dims oneDNN computes, [N, M, spatial...]
  bool serial = false;  // built and run on the calling thread alone (kSerialConvMacs*)
  // oneDNN memory objects and the argument map for runs with packed weights, made once and re-pointed at
  // each run's buffers: creating them per run (five memory objects, a hash map) was a fifth of
  // MobileNetV3-small's time at 48x192. One run at a time holds them (`bound_busy`); a concurrent run of the
  // same plan builds its own.
  struct Bound {
    bool ready = false;
    memory src_user, dst_user, src, dst, scratch, bias;
    std::unordered_map<int, memory> args;
  };
  Bound bound;
  std::atomic<bool> bound_busy{false};
};

namespace {

memory::format_tag PlainTag(size_t rank) {
  using tag = memory::format_tag;
  switch (rank) {
    case 3:
      return tag::abc;
    case 4:
      return tag::abcd;
    case 5:
      return tag::abcde;
    default:
      return tag::abcdef;
  }
}

// Weights dims for oneDNN: [G, M/G, C/G, k...] with groups, else [M, C, k...].
memory::dims WeightDims(int64_t group, int64_t out_c, int64_t in_c, const std::vector<int64_t>& kernel) {
  memory::dims d;
  if (group > 1)
    d = {group, out_c / group, in_c / group};
  else
    d = {out_c, in_c};
  d.insert(d.end(), kernel.begin(), kernel.end());
  return d;
}

// ONNX ConvTranspose weights are [C, M/G, k...] = [G, C/G, M/G, k...]: the same dims as oneDNN's with the
// two channel axes swapped, so describe them with strides.
memory::desc TransposeUserWeights(const memory::dims& dims, int64_t group, int64_t k_count) {
  memory::dims strides(dims.size());
  const size_t o = group > 1 ? 1 : 0;  // index of the M axis
  int64_t s = 1;
  for (size_t i = dims.size(); i-- > o + 2;) {
    strides[i] = s;
    s *= dims[i];
  }
  const int64_t mg = dims[o], cg = dims[o + 1];
  strides[o] = k_count;
  strides[o + 1] = mg * k_count;
  if (group > 1) strides[0] = cg * mg * k_count;
  return memory::desc(dims, memory::data_type::f32, strides);
}

constexpr size_t kMaxPlans = 32;

// Convolutions below this many multiply-adds run on the calling thread alone (DnnlSerialScope). With
// sleeping workers (passive waiting, what `tessera bench` picks on a busy machine) each fork wakes the
// other worker: MobileNetV3-small at 48x192 (52 convolutions, most under 1M) at --threads 2 took 1.4-4.6 ms
// parallel and 0.77-1.25 ms with this limit (alternating runs, load average 7). Spinning workers fork in
// about a microsecond, so there only the smallest (about 1-2 us of work) stay on one thread.
constexpr int64_t kSerialConvMacsSleeping = int64_t{1} << 20;
constexpr int64_t kSerialConvMacsSpinning = int64_t{1} << 17;

int64_t ConvMacs(const WindowGeometry& g, bool transpose, int64_t batch, int64_t in_c, int64_t out_c, int64_t group) {
  // Each output (Conv) or input (ConvTranspose) element meets channels/group x kernel weights.
  int64_t elements = batch * (transpose ? in_c : out_c);
  for (int64_t d : transpose ? g.in : g.out) elements *= d;
  return elements * ((transpose ? out_c : in_c) / group) * g.KernelCount();
}

// Writes y [N, M, out...] from the covered block src [N, M, covered...] (its leading corner), filling the
// positions outside it with bias[m] (or 0).
void ExpandCovered(const float* src, const Shape& covered, const std::vector<int64_t>& out, const float* bias,
                   float* y) {
  const size_t rank = out.size();
  int64_t c3[3] = {1, 1, 1}, o3[3] = {1, 1, 1};
  for (size_t i = 0; i < rank; ++i) {
    c3[3 - rank + i] = covered[i + 2];
    o3[3 - rank + i] = out[i];
  }
  const int64_t planes = covered[0] * covered[1];
  for (int64_t nm = 0; nm < planes; ++nm) {
    const float fill = bias ? bias[nm % covered[1]] : 0.0f;
    for (int64_t d = 0; d < o3[0]; ++d) {
      for (int64_t h = 0; h < o3[1]; ++h) {
        float* row = y + ((nm * o3[0] + d) * o3[1] + h) * o3[2];
        int64_t w = 0;
        if (d < c3[0] && h < c3[1]) {
          const float* from = src + ((nm * c3[0] + d) * c3[1] + h) * c3[2];
          for (; w < c3[2]; ++w) row[w] = from[w];
        }
        for (; w < o3[2]; ++w) row[w] = fill;
      }
    }
  }
}

// y = act(y [+ z]) in place over `count` plain elements.
void ApplyConvPostOps(const ConvPostOps& ops, const float* z, float* y, int64_t count) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (ops.activation == ConvPostOps::Activation::kRelu) lo = 0;
  if (ops.activation == ConvPostOps::Activation::kClip) lo = ops.min, hi = ops.max;
  const bool clamp =
      ops.activation == ConvPostOps::Activation::kRelu || ops.activation == ConvPostOps::Activation::kClip;
  const bool other = !clamp && ops.activation != ConvPostOps::Activation::kNone;
  if (other) {
    for (int64_t i = 0; i < count; ++i) y[i] = ApplyConvActivation(ops, ops.sum ? y[i] + z[i] : y[i]);
  } else if (ops.sum && clamp) {
    for (int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(y[i] + z[i], lo), hi);
  } else if (ops.sum) {
    for (int64_t i = 0; i < count; ++i) y[i] += z[i];
  } else if (clamp) {
    for (int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(y[i], lo), hi);
  }
}

size_t Align64(size_t n) { return (n + 63) & ~size_t{63}; }

// Read when a plan is built (once per node and shape), so tests can compare both paths in one process.
bool WinogradEnabled() {
  const char* env = std::getenv("TESSERA_CONV_WINOGRAD");
  return env == nullptr || std::strcmp(env, "0") != 0;
}

// A direct, group-1, non-pointwise convolution whose output channels are a multiple of 8 but not of 16,
// where oneDNN 2.6's first choice (brgconv) would pad them to the next 16.
bool PrefersAvx2Kernel(int64_t group, bool pointwise, int64_t out_channels) {
  return group == 1 && !pointwise && out_channels % 16 != 0 && out_channels % 8 == 0;
}

}  // namespace

// Winograd (oneDNN's F(4x4,3x3) and F(2x2,3x3)) does a 3x3, stride-1 convolution with 2.25-4x fewer
// multiplications. On AVX-512 with oneDNN 2.6 it runs ResNet-50's 3x3 layers at 14x14 to 56x56 1.6-1.9x
// faster than the direct kernel, counting the reorders to and from its blocked layout. At 7x7 most of
// each tile is padding: 1.3x faster for 1.8-4x the weight memory (its transformed weights), so images
// that small stay direct. The transforms round differently from a direct sum, about 1e-5 relative on
// those layers (direct: about 1e-7); TESSERA_CONV_WINOGRAD=0 turns it off for users who need the direct
// results. Few channels give the transforms too little to amortize, and oneDNN declines them anyway.
bool ConvUsesWinograd(const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                      const std::vector<int64_t>& dilation, int64_t group, int64_t in_c, int64_t out_c,
                      const std::vector<int64_t>& out) {
  if (kernel.size() != 2 || stride.size() != 2 || dilation.size() != 2 || out.size() != 2) return false;
  if (group != 1 || in_c < 64 || out_c < 64) return false;
  for (size_t i = 0; i < 2; ++i) {
    if (kernel[i] != 3 || stride[i] != 1 || dilation[i] != 1 || out[i] < 14) return false;
  }
  return WinogradEnabled();
}

DnnlConv::DnnlConv(bool transpose, int64_t group, Tensor constant_weights, ConvPostOps post_ops)
    : transpose_(transpose), group_(group), constant_weights_(std::move(constant_weights)), post_ops_(post_ops) {}

DnnlConv::~DnnlConv() = default;

std::string DnnlConv::last_impl() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_impl_;
}

StatusOr<std::shared_ptr<DnnlConv::Plan>> DnnlConv::FindOrBuild(const WindowGeometry& g, const Shape& x_shape,
                                                                const Shape& w_shape, int64_t out_channels,
                                                                bool has_bias) {
  std::vector<int64_t> key = x_shape;
  key.push_back(-1);
  key.insert(key.end(), w_shape.begin(), w_shape.end());
  key.push_back(has_bias ? 1 : 0);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  // Inputs whose shape changes on every run (free image sizes) would otherwise grow the cache without
  // bound. A plan in use by another thread's run stays alive through that run's handle.
  if (plans_.size() >= kMaxPlans) plans_.clear();

  auto plan = std::make_shared<Plan>();
  Plan& p = *plan;
  const auto f32 = memory::data_type::f32;
  const auto any = memory::format_tag::any;
  const int64_t in_c = x_shape[1];
  const int64_t serial_macs = OpenMpWorkersSpin() ? kSerialConvMacsSpinning : kSerialConvMacsSleeping;
  p.serial = ConvMacs(g, transpose_, x_shape[0], in_c, out_channels, group_) < serial_macs;
  const DnnlSerialScope serial(p.serial);
  memory::dims src_dims(x_shape.begin(), x_shape.end());
  memory::dims dst_dims = {x_shape[0], out_channels};
  dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
  const memory::dims w_dims = WeightDims(group_, out_channels, in_c, g.kernel);
  memory::dims strides(g.stride.begin(), g.stride.end()), dilates, pad_l(g.pad_begin.begin(), g.pad_begin.end()), pad_r;
  for (size_t i = 0; i < static_cast<size_t>(g.rank); ++i) {
    dilates.push_back(g.dilation[i] - 1);
    // Deconvolution's right pad is whatever makes its output size come out as g.out (this absorbs
    // output_padding and output_shape).
    pad_r.push_back(transpose_ ? (g.in[i] - 1) * g.stride[i] + g.DilatedKernel(i) - g.pad_begin[i] - g.out[i]
                               : g.pad_end[i]);
    // oneDNN rejects a negative right pad: compute the covered part and fill the rest after.
    if (pad_r.back() < 0) {
      dst_dims[i + 2] += pad_r.back();
      pad_r.back() = 0;
      p.tail = true;
    }
  }
  p.covered.assign(dst_dims.begin(), dst_dims.end());
  auto boundary = [](bool channels_last, bool blocked, size_t rank) {
    if (channels_last) return blocked ? memory::format_tag::nChw16c : memory::format_tag::acdb;  // acdb: NHWC
    return PlainTag(rank);
  };
  p.src_user = memory::desc(src_dims, f32, boundary(post_ops_.channels_last_x, post_ops_.blocked_x, src_dims.size()));
  p.dst_user = memory::desc(dst_dims, f32, boundary(post_ops_.channels_last_y, post_ops_.blocked_y, dst_dims.size()));
  p.w_user = transpose_ ? TransposeUserWeights(w_dims, group_, g.KernelCount())
                        : memory::desc(w_dims, f32, PlainTag(w_dims.size()));
  if (has_bias) p.bias = memory::desc({out_channels}, f32, memory::format_tag::a);
  dnnl::primitive_attr plain_attr;
  plain_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::primitive_attr attr;  // a handle: a copy of plain_attr would share its post-ops
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const bool has_post_ops = post_ops_.sum || post_ops_.activation != ConvPostOps::Activation::kNone;
  if (has_post_ops) {
    dnnl::post_ops ops;
    if (post_ops_.sum) ops.append_sum(1.0f);
    if (post_ops_.activation == ConvPostOps::Activation::kRelu)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (post_ops_.activation == ConvPostOps::Activation::kClip)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, post_ops_.min, post_ops_.max);
    if (post_ops_.activation == ConvPostOps::Activation::kHardSwish)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
    if (post_ops_.activation == ConvPostOps::Activation::kHardSigmoid) {  // oneDNN 2.6 has no hardsigmoid
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, post_ops_.alpha, post_ops_.beta);
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
    }
    if (post_ops_.activation == ConvPostOps::Activation::kSigmoid)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  const memory::desc w_any(w_dims, f32, any);
  // Channels-last problems take oneDNN's reference loops as a last resort, since ours read only NCHW.
  const bool channels_last = post_ops_.channels_last_x || post_ops_.channels_last_y;
  bool allow_ref = false;
  const bool depthwise = !transpose_ && group_ > 1 && group_ == in_c && group_ == out_channels;
  // Pointwise convolutions are a plain matrix product on NCHW, where reordering in and out costs more than
  // the blocked kernel saves; everything else (3x3, strided, depthwise) is 1.5-4x faster blocked even
  // counting the reorders (measured on AVX-512 with oneDNN 2.6, ResNet-50 and MobileNetV2 shapes).
  bool pointwise = !transpose_;
  for (size_t i = 0; i < static_cast<size_t>(g.rank); ++i) {
    pointwise = pointwise && g.kernel[i] == 1 && g.stride[i] == 1 && g.pad_begin[i] == 0 && g.pad_end[i] == 0;
  }
  // Where src/dst live while the primitive runs: as the caller holds them, oneDNN's choice, or nChw16c
  // (for a side whose channels are a multiple of 16; else oneDNN's choice).
  enum class Layout { kUser, kPreferred, kBlocked16 };
  auto side = [&](Layout layout, const memory::dims& dims, const memory::desc& user) {
    if (layout == Layout::kUser) return user;
    if (layout == Layout::kBlocked16 && dims.size() == 4 && dims[1] % 16 == 0)
      return memory::desc(dims, f32, memory::format_tag::nChw16c);
    return memory::desc(dims, f32, any);
  };
  // Builds the primitive with src/dst in `layout`; false when oneDNN rejects the problem or offers only
  // its reference loops.
  auto build = [&](Layout layout, const dnnl::primitive_attr& attr, bool winograd = false) -> bool {
    const memory::desc src_md = side(layout, src_dims, p.src_user);
    const memory::desc dst_md = side(layout, dst_dims, p.dst_user);
    try {
      if (transpose_) {
        dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                            src_md, w_any, p.bias, dst_md, strides, dilates, pad_l, pad_r);
        dnnl::deconvolution_forward::primitive_desc pd(d, attr, DnnlEngine());
        p.src = pd.src_desc(), p.dst = pd.dst_desc(), p.w = pd.weights_desc(), p.scratch = pd.scratchpad_desc();
        p.impl = pd.impl_info_str();
        p.prim = dnnl::deconvolution_forward(pd);
      } else {
        const auto algorithm =
            winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
        dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, src_md, w_any, p.bias,
                                          dst_md, strides, dilates, pad_l, pad_r);
        dnnl::convolution_forward::primitive_desc pd(d, attr, DnnlEngine());
        if (depthwise && std::string(pd.impl_info_str()).find("brdgmm_dw") != std::string::npos) {
          // oneDNN 2.6 ranks brdgmm_dw first for depthwise convolutions on NHWC, but its jit_dw runs
          // MobileNetV2's 17 of them 12% faster at 1 thread (0.62 against 0.70 ms) and 10% at 2: take it
          // where offered.
          dnnl::convolution_forward::primitive_desc other(d, attr, DnnlEngine());
          auto is_jit_dw = [&] { return std::string(other.impl_info_str()).find("jit_dw:avx512") != std::string::npos; };
          while (!is_jit_dw() && other.next_impl()) {
          }
          if (is_jit_dw()) pd = other;
        }
        if (PrefersAvx2Kernel(group_, pointwise, out_channels) &&
            std::string(pd.impl_info_str()).find("brgconv:") != std::string::npos) {
          // brgconv pads the output channels to a multiple of 16 (24 becomes 32); oneDNN's avx2 kernel
          // works in blocks of 8 and runs DBNet's 3x3 96 -> 24 convolutions at 160x160 (NHWC on both
          // sides) in 10.2-10.5 against 13.4-14.0 ms at 1 thread: take it where offered.
          dnnl::convolution_forward::primitive_desc other(d, attr, DnnlEngine());
          auto is_avx2 = [&] { return std::string(other.impl_info_str()).find("jit:avx2") != std::string::npos; };
          while (!is_avx2() && other.next_impl()) {
          }
          if (is_avx2()) pd = other;
        }
        p.src = pd.src_desc(), p.dst = pd.dst_desc(), p.w = pd.weights_desc(), p.scratch = pd.scratchpad_desc();
        p.impl = pd.impl_info_str();
        p.prim = dnnl::convolution_forward(pd);
      }
      // oneDNN's reference loops: ours are as good, but they only read NCHW.
      if (p.impl.find("ref") != std::string::npos && !allow_ref) return false;
      p.winograd = winograd;
      p.reorder_src = p.src != p.src_user;
      p.reorder_dst = p.dst != p.dst_user;
      p.reorder_w = p.w != p.w_user;
      if (p.reorder_src)
        p.src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), p.src_user, DnnlEngine(), p.src));
      if (p.reorder_dst)
        p.dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), p.dst, DnnlEngine(), p.dst_user));
      if (p.reorder_dst && post_ops_.sum && !p.manual_post_ops)
        p.addend_reorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), p.dst_user, DnnlEngine(), p.dst));
      if (p.reorder_w)
        p.w_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), p.w_user, DnnlEngine(), p.w));
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  };
  // oneDNN 2.6's gemm convolution (what plain-layout pointwise problems get) runs post-ops element by
  // element, 6x slower than the convolution itself on MobileNetV2; there, apply them in our own pass.
  auto build_fused = [&](Layout layout) -> bool {
    if (!build(layout, attr)) return false;
    if (!has_post_ops || p.impl.find("gemm") == std::string::npos) return true;
    p.manual_post_ops = true;
    return build(layout, plain_attr);
  };
  // Winograd weights are packed from the original only (oneDNN reorders plain layouts into them), so a
  // Winograd plan needs the constant still held.
  const bool winograd = constant_weights_.defined() &&
                        ConvUsesWinograd(g.kernel, g.stride, g.dilation, group_, in_c, out_channels, g.out);
  // With nChw16c on one side of the boundary (the layout pass keeps 1x1 and Winograd neighbours blocked),
  // run blocked on both: the NHWC side is reordered rather than the blocked one, and a strided 1x1 keeps
  // the blocked 1x1 kernel instead of the NHWC one that oneDNN's own choice would reorder to.
  const bool blocked_boundary = post_ops_.blocked_x || post_ops_.blocked_y;
  const Layout first = pointwise ? Layout::kUser : Layout::kPreferred;
  const Layout second = pointwise ? Layout::kPreferred : Layout::kUser;
  p.supported = (winograd && build(Layout::kPreferred, attr, true)) ||
                (blocked_boundary && build_fused(Layout::kBlocked16)) || build_fused(first) || build_fused(second);
  if (!p.supported && channels_last) {
    allow_ref = true;
    p.supported = build_fused(Layout::kPreferred);
  }
  if (p.supported && (constant_weights_.defined() || packed_source_)) {
    // Share the packed copy with any plan that wants the same layout (shapes that differ only in batch).
    for (const auto& [k, other] : plans_) {
      if (other->packed_w && other->w == p.w) p.packed_w = other->packed_w;
    }
    if (!p.packed_w) {
      try {
        if (!constant_weights_.defined()) {
          // The original is gone (DropConstantWeights): repack from the copy that replaced it.
          p.packed_w = std::make_shared<memory>(p.w, DnnlEngine());
          dnnl::reorder(*packed_source_, *p.packed_w).execute(DnnlStream(), *packed_source_, *p.packed_w);
          DnnlStream().wait();
        } else {
          // oneDNN only reads the weights, and this object holds the constant until it drops it.
          memory user(p.w_user, DnnlEngine(), const_cast<void*>(constant_weights_.raw_data()));
          if (p.reorder_w) {
            p.packed_w = std::make_shared<memory>(p.w, DnnlEngine());
            dnnl::reorder(user, *p.packed_w).execute(DnnlStream(), user, *p.packed_w);
            DnnlStream().wait();
          } else {
            p.packed_w = std::make_shared<memory>(user);  // already in the wanted layout: no copy
            p.packed_w_is_user = true;
          }
        }
      } catch (const dnnl::error& e) {
        return ResourceExhausted(std::string("could not pack convolution weights: ") + e.what());
      }
    }
  }
  last_impl_ = p.impl;
  plans_.emplace(std::move(key), plan);
  return plan;
}

bool DnnlConv::SumsInPlace(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape,
                           int64_t out_channels, bool has_bias) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto plan = FindOrBuild(g, x_shape, w_shape, out_channels, has_bias);
  return plan.ok() && (*plan)->supported && !(*plan)->manual_post_ops && !(*plan)->tail;
}

bool DnnlConv::DropConstantWeights() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!constant_weights_.defined()) return packed_source_ != nullptr;
  std::shared_ptr<memory> source;
  for (const auto& [key, plan] : plans_) {
    // An unsupported plan runs the reference loops on the original; an aliasing one points into it; a
    // Winograd one cannot be a source for repacking (oneDNN has no reorder out of its layout).
    if (!plan->supported || !plan->packed_w || plan->packed_w_is_user || plan->winograd) return false;
    source = plan->packed_w;
    w_user_ = plan->w_user;
  }
  if (!source) return false;
  packed_source_ = std::move(source);
  constant_weights_ = Tensor();
  return true;
}

StatusOr<Tensor> DnnlConv::UnpackedWeights(const Shape& w_shape) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!packed_source_) return Internal("convolution weights were never packed");
  TS_ASSIGN_OR_RETURN(Tensor w, Tensor::AllocateUninitialized(DType::kFloat32, w_shape));
  try {
    memory user(w_user_, DnnlEngine(), w.raw_data());
    dnnl::reorder(*packed_source_, user).execute(DnnlStream(), *packed_source_, user);
    DnnlStream().wait();
  } catch (const dnnl::error& e) {
    return ResourceExhausted(std::string("could not unpack convolution weights: ") + e.what());
  }
  return w;
}

void DnnlConv::Prepare(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape, int64_t out_channels,
                       bool has_bias) {
  std::lock_guard<std::mutex> lock(mutex_);
  (void)FindOrBuild(g, x_shape, w_shape, out_channels, has_bias);  // a failure resurfaces at Run
}

StatusOr<bool> DnnlConv::Run(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape, int64_t out_channels,
                             const float* x, const float* w, const float* bias, float* y,
                             const float* addend) {
  std::shared_ptr<Plan> p;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    TS_ASSIGN_OR_RETURN(p, FindOrBuild(g, x_shape, w_shape, out_channels, bias != nullptr));
  }
  if (!p->supported) return false;
  // Scratch layout: reordered src, dst, weights (when not packed), oneDNN's scratchpad, then the covered
  // block of a ConvTranspose with a tail.
  const size_t src_bytes = p->reorder_src ? Align64(p->src.get_size()) : 0;
  const size_t dst_bytes = p->reorder_dst ? Align64(p->dst.get_size()) : 0;
  const size_t w_bytes = !p->packed_w && p->reorder_w ? Align64(p->w.get_size()) : 0;
  const size_t pad_bytes = Align64(p->scratch.get_size());
  const size_t covered_bytes = p->tail ? Align64(p->dst_user.get_size()) : 0;
  const size_t total = src_bytes + dst_bytes + w_bytes + pad_bytes + covered_bytes;
  char* base = nullptr;
  if (total > 0) {
    TS_ASSIGN_OR_RETURN(base, DnnlThreadScratch(total));
  }
  float* covered = p->tail ? reinterpret_cast<float*>(base + total - covered_bytes) : nullptr;
  const DnnlSerialScope serial(p->serial);
  try {
    dnnl::engine& engine = DnnlEngine();
    dnnl::stream& stream = DnnlStream();
    char* scratch_at = base + src_bytes + dst_bytes + w_bytes;
    // The sum post-op accumulates into what dst holds: put z there, in dst's layout.
    auto place_addend = [&](memory& dst) {
      if (!post_ops_.sum || p->manual_post_ops) return;
      if (p->reorder_dst) {
        memory z(p->dst_user, engine, const_cast<float*>(addend));
        p->addend_reorder.execute(stream, z, dst);
      } else if (addend != y) {
        std::memcpy(y, addend, p->dst_user.get_size());
      }
    };
    Plan::Bound* bound = p->packed_w && !p->bound_busy.exchange(true, std::memory_order_acquire) ? &p->bound : nullptr;
    struct Release {
      std::atomic<bool>* flag;
      ~Release() {
        if (flag) flag->store(false, std::memory_order_release);
      }
    } release{bound ? &p->bound_busy : nullptr};
    if (bound != nullptr) {
      Plan::Bound& m = *bound;
      if (!m.ready) {
        m.src_user = memory(p->src_user, engine, DNNL_MEMORY_NONE);
        m.dst_user = memory(p->dst_user, engine, DNNL_MEMORY_NONE);
        m.src = p->reorder_src ? memory(p->src, engine, DNNL_MEMORY_NONE) : m.src_user;
        m.dst = p->reorder_dst ? memory(p->dst, engine, DNNL_MEMORY_NONE) : m.dst_user;
        m.args = {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_WEIGHTS, *p->packed_w}, {DNNL_ARG_DST, m.dst}};
        if (pad_bytes > 0) {
          m.scratch = memory(p->scratch, engine, DNNL_MEMORY_NONE);
          m.args[DNNL_ARG_SCRATCHPAD] = m.scratch;
        }
        if (bias) {
          m.bias = memory(p->bias, engine, DNNL_MEMORY_NONE);
          m.args[DNNL_ARG_BIAS] = m.bias;
        }
        m.ready = true;
      }
      m.src_user.set_data_handle(const_cast<float*>(x));
      m.dst_user.set_data_handle(p->tail ? covered : y);
      if (p->reorder_src) m.src.set_data_handle(base);
      if (p->reorder_dst) m.dst.set_data_handle(base + src_bytes);
      if (pad_bytes > 0) m.scratch.set_data_handle(scratch_at);
      if (bias) m.bias.set_data_handle(const_cast<float*>(bias));
      if (p->reorder_src) p->src_reorder.execute(stream, m.src_user, m.src);
      place_addend(m.dst);
      p->prim.execute(stream, m.args);
      if (p->reorder_dst) p->dst_reorder.execute(stream, m.dst, m.dst_user);
      stream.wait();
    } else {
      memory src_user(p->src_user, engine, const_cast<float*>(x));
      memory dst_user(p->dst_user, engine, p->tail ? covered : y);
      memory src = p->reorder_src ? memory(p->src, engine, base) : src_user;
      memory dst = p->reorder_dst ? memory(p->dst, engine, base + src_bytes) : dst_user;
      memory weights;
      if (p->packed_w) {
        weights = *p->packed_w;
      } else {
        memory w_user(p->w_user, engine, const_cast<float*>(w));
        weights = w_user;
        if (p->reorder_w) {
          weights = memory(p->w, engine, base + src_bytes + dst_bytes);
          p->w_reorder.execute(stream, w_user, weights);
        }
      }
      if (p->reorder_src) p->src_reorder.execute(stream, src_user, src);
      place_addend(dst);
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
      if (pad_bytes > 0) args[DNNL_ARG_SCRATCHPAD] = memory(p->scratch, engine, scratch_at);
      if (bias) args[DNNL_ARG_BIAS] = memory(p->bias, engine, const_cast<float*>(bias));
      p->prim.execute(stream, args);
      if (p->reorder_dst) p->dst_reorder.execute(stream, dst, dst_user);
      stream.wait();
    }
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN convolution failed: ") + e.what());
  }
  if (p->tail) ExpandCovered(covered, p->covered, g.out, bias, y);
  if (p->manual_post_ops) {
    ApplyConvPostOps(post_ops_, addend, y, static_cast<int64_t>(p->dst_user.get_size() / sizeof(float)));
  }
  return true;
}

}  // namespace tessera
