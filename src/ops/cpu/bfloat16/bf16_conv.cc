// com.tessera Bf16Conv(X, W, B[, Z]): a float32 Conv computed by oneDNN in bfloat16 with float32
// accumulation (graph/passes/bf16_precision.h). W (constant) is converted to bfloat16 in the primitive's
// layout once (later layouts are reordered from that copy and the float32 W is let go: bf16_weights.h);
// X (float32 NC[D]HW) is converted on every run by the reorder into the primitive's source layout; Y is float32 NC[D]HW. Primitives are built per input shape and cached.
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>

#include "ops/cpu/bfloat16/bf16_epilogue.h"
#include "ops/cpu/bfloat16/bf16_weights.h"
#include "ops/cpu/bfloat16/bfloat16_family.h"
#include "ops/cpu/common/dnnl_context.h"
#include "ops/cpu/common/window_geometry.h"

namespace tessera {
namespace {

using dnnl::memory;

memory::format_tag PlainTag(size_t rank) {
  using tag = memory::format_tag;
  return rank == 3 ? tag::abc : rank == 4 ? tag::abcd : rank == 5 ? tag::abcde : tag::abcdef;
}

struct Bf16ConvPlan {
  dnnl::convolution_forward prim;
  memory::desc src_user, src, dst_user, dst;
  dnnl::reorder src_reorder, dst_reorder, addend_reorder;
  bool reorder_dst = false;
  memory weights, bias;
};

class Bf16ConvKernel : public Kernel {
 public:
  Bf16ConvKernel(Tensor w, Tensor b, WindowAttributes attrs, int64_t group, Bf16Epilogue e)
      : w_(std::move(w)), b_(std::move(b)), attrs_(std::move(attrs)), group_(group), e_(std::move(e)) {}

  // W once its bfloat16 copy exists (made by the first run).
  bool HasOwnCopyOfConstant(size_t input) const override { return input == 1 && w_.dropped(); }

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& ws = w_.shape();
    if (x.dtype() != DType::kFloat32 || static_cast<size_t>(x.rank()) != ws.size() || x.dim(1) != ws[1] * group_) {
      return KernelContext::Error("Bf16Conv x " + std::string(DTypeName(x.dtype())) + " " + ShapeToString(x.shape()) +
                                  " does not fit float32 weights " + ShapeToString(ws) + " with group " +
                                  std::to_string(group_));
    }
    const std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    TS_ASSIGN_OR_RETURN(WindowGeometry g, ForwardWindow(attrs_, x.shape(), 2, kernel, false));
    Shape y_shape{x.dim(0), ws[0]};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    const Tensor* z = e_.sum && ctx.has_input(3) ? &ctx.input(3) : nullptr;
    if (e_.sum && (z == nullptr || z->dtype() != DType::kFloat32 || z->shape() != y_shape)) {
      return KernelContext::Error("Bf16Conv addend Z must be float32 of the output's shape " + ShapeToString(y_shape));
    }
    TS_ASSIGN_OR_RETURN(std::shared_ptr<Bf16ConvPlan> plan, FindOrBuild(x.shape(), g, y_shape));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, y_shape));
    if (y->element_count() == 0) return Status::Ok();
    try {
      SetDnnlThreads(ctx.pool().threads());
      memory src_user(plan->src_user, DnnlEngine(), const_cast<void*>(x.raw_data()));
      memory dst_user(plan->dst_user, DnnlEngine(), y->raw_data());
      TS_ASSIGN_OR_RETURN(char* src_buf, DnnlThreadScratch(plan->src.get_size(), 0));
      memory src(plan->src, DnnlEngine(), src_buf);
      plan->src_reorder.execute(DnnlStream(), src_user, src);  // float32 -> bfloat16
      memory dst = dst_user;
      if (plan->reorder_dst) {
        TS_ASSIGN_OR_RETURN(char* buf, DnnlThreadScratch(plan->dst.get_size(), 1));
        dst = memory(plan->dst, DnnlEngine(), buf);
      }
      if (z != nullptr) {
        memory z_user(plan->dst_user, DnnlEngine(), const_cast<void*>(z->raw_data()));
        if (plan->reorder_dst) {
          plan->addend_reorder.execute(DnnlStream(), z_user, dst);
        } else {
          std::memcpy(y->raw_data(), z->raw_data(), z->byte_size());
        }
      }
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, plan->weights}, {DNNL_ARG_DST, dst}};
      if (b_.defined()) args.emplace(DNNL_ARG_BIAS, plan->bias);
      plan->prim.execute(DnnlStream(), args);
      if (plan->reorder_dst) plan->dst_reorder.execute(DnnlStream(), dst, dst_user);
      DnnlStream().wait();
    } catch (const dnnl::error& err) {
      return Internal(std::string("oneDNN bfloat16 convolution failed: ") + err.what());
    }
    return Status::Ok();
  }

 private:
  StatusOr<std::shared_ptr<Bf16ConvPlan>> FindOrBuild(const Shape& x_shape, const WindowGeometry& g,
                                                      const Shape& y_shape) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(x_shape);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= 32) plans_.clear();  // free image sizes must not grow the cache without bound
    auto plan = std::make_shared<Bf16ConvPlan>();
    const size_t rank = x_shape.size();
    const auto f32 = memory::data_type::f32, bf16 = memory::data_type::bf16;
    const auto any = memory::format_tag::any;
    memory::dims src_dims(x_shape.begin(), x_shape.end()), dst_dims(y_shape.begin(), y_shape.end());
    const Shape& ws = w_.shape();
    memory::dims w_dims = group_ > 1 ? memory::dims{group_, ws[0] / group_} : memory::dims{ws[0]};
    w_dims.insert(w_dims.end(), ws.begin() + 1, ws.end());
    memory::dims strides(g.stride.begin(), g.stride.end()), pad_l(g.pad_begin.begin(), g.pad_begin.end());
    memory::dims pad_r(g.pad_end.begin(), g.pad_end.end()), dilates;
    for (int64_t d : g.dilation) dilates.push_back(d - 1);
    plan->src_user = memory::desc(src_dims, f32, PlainTag(rank));
    plan->dst_user = memory::desc(dst_dims, f32, PlainTag(rank));
    const memory::desc w_user(w_dims, f32, PlainTag(w_dims.size()));
    const memory::desc bias_md = b_.defined() ? memory::desc({ws[0]}, f32, memory::format_tag::a) : memory::desc();
    try {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        memory::desc(src_dims, bf16, any), memory::desc(w_dims, bf16, any), bias_md,
                                        memory::desc(dst_dims, f32, any), strides, dilates, pad_l, pad_r);
      dnnl::convolution_forward::primitive_desc pd(d, e_.MakeAttr(), DnnlEngine());
      plan->src = pd.src_desc();
      plan->dst = pd.dst_desc();
      plan->prim = dnnl::convolution_forward(pd);
      plan->src_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->src_user, DnnlEngine(), plan->src));
      plan->reorder_dst = plan->dst != plan->dst_user;
      if (plan->reorder_dst) {
        plan->dst_reorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->dst, DnnlEngine(), plan->dst_user));
        if (e_.sum) {
          plan->addend_reorder =
              dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->dst_user, DnnlEngine(), plan->dst));
        }
      }
      plan->weights = w_.For(plans_, pd.weights_desc(), w_user);
      if (b_.defined()) plan->bias = memory(bias_md, DnnlEngine(), const_cast<void*>(b_.raw_data()));
    } catch (const dnnl::error& err) {
      return InvalidArgument(std::string("oneDNN has no bfloat16 convolution for x ") + ShapeToString(x_shape) +
                             " and w " + ShapeToString(ws) + ": " + err.what());
    }
    plans_.emplace(x_shape, plan);
    return plan;
  }

  Bf16Weights w_;
  Tensor b_;
  WindowAttributes attrs_;
  int64_t group_;
  Bf16Epilogue e_;
  std::mutex mutex_;
  std::map<Shape, std::shared_ptr<Bf16ConvPlan>> plans_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeBf16ConvKernel(const KernelInit& init) {
  TS_RETURN_IF_ERROR(RequireInputs(init.node, 2));
  const Tensor* w = init.constant_input(1);
  if (w == nullptr || w->dtype() != DType::kFloat32 || w->rank() < 3) {
    return InvalidArgument(init.node.Describe() + ": W must be a constant float32 tensor of rank >= 3");
  }
  Tensor b;
  if (init.node.inputs.size() > 2 && init.node.inputs[2] != kNoValue) {
    const Tensor* bias = init.constant_input(2);
    if (bias == nullptr || bias->dtype() != DType::kFloat32 || bias->element_count() != w->dim(0)) {
      return InvalidArgument(init.node.Describe() + ": B must be a constant float32 vector of " +
                             std::to_string(w->dim(0)) + " values");
    }
    b = *bias;
  }
  const int64_t group = init.node.GetInt("group", 1);
  if (group < 1 || w->dim(0) % group != 0) {
    return InvalidArgument(init.node.Describe() + ": group " + std::to_string(group) + " does not fit W " +
                           ShapeToString(w->shape()));
  }
  TS_ASSIGN_OR_RETURN(WindowAttributes attrs, ReadWindowAttributes(init.node));
  const bool sum = init.node.inputs.size() > 3 && init.node.inputs[3] != kNoValue;
  TS_ASSIGN_OR_RETURN(Bf16Epilogue e, ReadBf16Epilogue(init.node, sum));
  return std::unique_ptr<Kernel>(std::make_unique<Bf16ConvKernel>(*w, b, std::move(attrs), group, std::move(e)));
}

}  // namespace tessera
