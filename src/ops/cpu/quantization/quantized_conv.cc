// com.tessera QuantizedConv: a Conv between DequantizeLinear inputs (and, optionally, a Relu/Clip and a
// QuantizeLinear after it) as one oneDNN int8 convolution; see qdq_fused_params.h for the inputs and the
// arithmetic, graph/passes/qdq_fusion.h for the pattern.
//
// x is uint8/int8 NC[D]HW (NHWC where channels_last_input is set: a QuantizedConv between int8
// convolutions), w the constant int8 [M, C/group, k...]. The weights are reordered once per primitive
// layout (with the compensation oneDNN adds for int8 and zero points); primitives are built per input
// shape and cached. oneDNN keeps int8 data channels-last, so a plain input is reordered in and a plain
// output reordered back; channels_last_* attributes drop those reorders inside an int8 chain. The addend
// Z (a residual sum, y's layout) is copied or reordered into the destination for oneDNN's sum post-op.
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ops/cpu/common/dnnl_context.h"
#include "ops/cpu/common/window_geometry.h"
#include "ops/cpu/quantization/qdq_fused_params.h"
#include "ops/cpu/quantization/quant_family.h"

namespace tessera {
namespace {

using dnnl::memory;

memory::format_tag PlainTag(size_t rank, bool channels_last) {
  using tag = memory::format_tag;
  if (rank == 3) return channels_last ? tag::acb : tag::abc;
  if (rank == 4) return channels_last ? tag::acdb : tag::abcd;
  return channels_last ? tag::acdeb : tag::abcde;
}

struct ConvPlan {
  dnnl::convolution_forward prim;
  memory::desc src_user, src, dst_user, dst;
  dnnl::reorder src_reorder, dst_reorder, addend_reorder;
  bool reorder_src = false, reorder_dst = false;
  memory weights, bias;
  std::string impl;
};

class QuantizedConvKernel : public Kernel {
 public:
  QuantizedConvKernel(QdqFusedParams params, WindowAttributes attrs, int64_t group, bool cl_in, bool cl_out)
      : p_(std::move(params)),
        attrs_(std::move(attrs)),
        group_(group),
        channels_last_in_(cl_in),
        channels_last_out_(cl_out),
        accumulator_bias_(p_.AccumulatorBias()) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != p_.x_type) {
      return KernelContext::Error("QuantizedConv x must be " + std::string(DTypeName(p_.x_type)) +
                                  " (its zero "
                                  "point's type), got " +
                                  DTypeName(x.dtype()));
    }
    const Shape& ws = p_.weights.shape();
    if (x.rank() < 3 || x.rank() > 5 || x.rank() != p_.weights.rank() || x.dim(1) != ws[1] * group_) {
      return KernelContext::Error("QuantizedConv x " + ShapeToString(x.shape()) + " does not fit weights " +
                                  ShapeToString(ws) + " with group " + std::to_string(group_));
    }
    const std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    TS_ASSIGN_OR_RETURN(WindowGeometry g, ForwardWindow(attrs_, x.shape(), 2, kernel, false));
    Shape y_shape{x.dim(0), p_.channels};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    const Tensor* z = ctx.has_input(8) ? &ctx.input(8) : nullptr;
    if (p_.has_addend && (z == nullptr || z->dtype() != DType::kFloat32 || z->shape() != y_shape)) {
      return KernelContext::Error(
          "QuantizedConv addend Z must be float32 of the output's shape " + ShapeToString(y_shape) +
          (z == nullptr ? std::string(", got none")
                        : ", got " + std::string(DTypeName(z->dtype())) + " " + ShapeToString(z->shape())));
    }
    TS_ASSIGN_OR_RETURN(std::shared_ptr<ConvPlan> plan, FindOrBuild(x.shape(), g, y_shape));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, p_.y_type, y_shape));
    if (y->element_count() == 0) return Status::Ok();
    try {
      SetDnnlThreads(ctx.pool().threads());
      memory src_user(plan->src_user, DnnlEngine(), const_cast<void*>(x.raw_data()));
      memory dst_user(plan->dst_user, DnnlEngine(), y->raw_data());
      memory src = src_user, dst = dst_user;
      if (plan->reorder_src) {
        TS_ASSIGN_OR_RETURN(char* buf, DnnlThreadScratch(plan->src.get_size(), 0));
        src = memory(plan->src, DnnlEngine(), buf);
        plan->src_reorder.execute(DnnlStream(), src_user, src);
      }
      if (plan->reorder_dst) {
        TS_ASSIGN_OR_RETURN(char* buf, DnnlThreadScratch(plan->dst.get_size(), 1));
        dst = memory(plan->dst, DnnlEngine(), buf);
      }
      if (p_.has_addend) {
        memory z_user(plan->dst_user, DnnlEngine(), const_cast<void*>(z->raw_data()));
        if (plan->reorder_dst) {
          plan->addend_reorder.execute(DnnlStream(), z_user, dst);
        } else {
          std::memcpy(y->raw_data(), z->raw_data(), z->byte_size());
        }
      }
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, plan->weights}, {DNNL_ARG_DST, dst}};
      if (!accumulator_bias_.empty()) args.emplace(DNNL_ARG_BIAS, plan->bias);
      AddZeroPointArgs(p_, args);
      plan->prim.execute(DnnlStream(), args);
      if (plan->reorder_dst) plan->dst_reorder.execute(DnnlStream(), dst, dst_user);
      DnnlStream().wait();
    } catch (const dnnl::error& e) {
      return Internal(std::string("oneDNN int8 convolution failed: ") + e.what());
    }
    return Status::Ok();
  }

 private:
  StatusOr<std::shared_ptr<ConvPlan>> FindOrBuild(const Shape& x_shape, const WindowGeometry& g, const Shape& y_shape) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(x_shape);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= 32) plans_.clear();  // free image sizes must not grow the cache without bound
    auto plan = std::make_shared<ConvPlan>();
    const size_t rank = x_shape.size();
    memory::dims src_dims(x_shape.begin(), x_shape.end()), dst_dims(y_shape.begin(), y_shape.end());
    const Shape& ws = p_.weights.shape();
    memory::dims w_dims;
    if (group_ > 1)
      w_dims = {group_, ws[0] / group_};
    else
      w_dims = {ws[0]};
    w_dims.insert(w_dims.end(), ws.begin() + 1, ws.end());
    memory::dims strides(g.stride.begin(), g.stride.end()), pad_l(g.pad_begin.begin(), g.pad_begin.end());
    memory::dims pad_r(g.pad_end.begin(), g.pad_end.end()), dilates;
    for (int64_t d : g.dilation) dilates.push_back(d - 1);
    const auto any = memory::format_tag::any;
    plan->src_user = memory::desc(src_dims, ToDnnl(p_.x_type), PlainTag(rank, channels_last_in_));
    plan->dst_user = memory::desc(dst_dims, ToDnnl(p_.y_type), PlainTag(rank, channels_last_out_));
    const memory::desc w_user(w_dims, memory::data_type::s8,
                              group_ > 1 ? PlainTag(rank + 1, false) : PlainTag(rank, false));
    const memory::desc bias_md = accumulator_bias_.empty()
                                     ? memory::desc()
                                     : memory::desc({p_.channels}, memory::data_type::f32, memory::format_tag::a);
    try {
      const memory::desc src_any(src_dims, ToDnnl(p_.x_type), any), dst_any(dst_dims, ToDnnl(p_.y_type), any);
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src_any, memory::desc(w_dims, memory::data_type::s8, any), bias_md, dst_any,
                                        strides, dilates, pad_l, pad_r);
      // Output scales run along the output channels: dim 1 of dst.
      dnnl::convolution_forward::primitive_desc pd(d, p_.MakeAttr(1 << 1), DnnlEngine());
      plan->impl = pd.impl_info_str();
      plan->src = pd.src_desc();
      plan->dst = pd.dst_desc();
      plan->prim = dnnl::convolution_forward(pd);
      plan->reorder_src = plan->src != plan->src_user;
      plan->reorder_dst = plan->dst != plan->dst_user;
      if (plan->reorder_src) {
        plan->src_reorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->src_user, DnnlEngine(), plan->src));
      }
      if (plan->reorder_dst) {
        plan->dst_reorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->dst, DnnlEngine(), plan->dst_user));
        if (p_.has_addend) {
          plan->addend_reorder =
              dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->dst_user, DnnlEngine(), plan->dst));
        }
      }
      TS_RETURN_IF_ERROR(PackWeights(w_user, pd.weights_desc(), *plan));
      if (!accumulator_bias_.empty()) {
        plan->bias = memory(bias_md, DnnlEngine(), const_cast<float*>(accumulator_bias_.data()));
      }
    } catch (const dnnl::error& e) {
      return InvalidArgument(std::string("oneDNN has no int8 convolution for x ") + ShapeToString(x_shape) + " and w " +
                             ShapeToString(ws) + ": " + e.what());
    }
    plans_.emplace(x_shape, plan);
    return plan;
  }

  // The weights in the primitive's layout, shared with every plan that wants the same one.
  Status PackWeights(const memory::desc& user, const memory::desc& want, ConvPlan& plan) {
    for (const auto& [key, other] : plans_) {
      if (other->weights.get_desc() == want) {
        plan.weights = other->weights;
        return Status::Ok();
      }
    }
    memory source(user, DnnlEngine(), const_cast<void*>(p_.weights.raw_data()));
    plan.weights = memory(want, DnnlEngine());
    dnnl::reorder(source, plan.weights).execute(DnnlStream(), source, plan.weights);
    DnnlStream().wait();
    return Status::Ok();
  }

  QdqFusedParams p_;
  WindowAttributes attrs_;
  int64_t group_;
  bool channels_last_in_, channels_last_out_;
  std::vector<float> accumulator_bias_;
  std::mutex mutex_;
  std::map<Shape, std::shared_ptr<ConvPlan>> plans_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeQuantizedConvKernel(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(QdqFusedParams params, ReadQdqFusedParams(init, 0));
  TS_ASSIGN_OR_RETURN(WindowAttributes attrs, ReadWindowAttributes(init.node));
  const int64_t group = init.node.GetInt("group", 1);
  const Shape& ws = params.weights.shape();
  if (group < 1 || ws.size() < 3 || ws[0] % group != 0) {
    return InvalidArgument(init.node.Describe() + ": group " + std::to_string(group) + " does not fit weights " +
                           ShapeToString(ws));
  }
  const bool cl_in = init.node.GetInt("channels_last_input", 0) != 0;
  const bool cl_out = init.node.GetInt("channels_last_output", 0) != 0;
  return std::unique_ptr<Kernel>(
      std::make_unique<QuantizedConvKernel>(std::move(params), std::move(attrs), group, cl_in, cl_out));
}

}  // namespace tessera
