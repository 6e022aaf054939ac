// com.tessera Bf16MatMul(X, W, B): a float32 MatMul or Gemm computed by oneDNN in bfloat16 with float32
// accumulation (graph/passes/bf16_precision.h). X is float32 [..., K] (leading dims fold into rows) and is
// converted to bfloat16 on every run; W is the constant [K, N] ([N, K] with transB = 1), converted once
// (bf16_weights.h: later layouts come from that copy, and the float32 W is let go); B an optional
// constant [N]; Y float32 [..., N]. Primitives are cached per row count.
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>

#include "ops/cpu/bfloat16/bf16_epilogue.h"
#include "ops/cpu/bfloat16/bf16_weights.h"
#include "ops/cpu/bfloat16/bfloat16_family.h"
#include "ops/cpu/common/dnnl_context.h"

namespace tessera {
namespace {

using dnnl::memory;

struct Bf16MatMulPlan {
  dnnl::matmul prim;
  memory::desc src_user, src, dst;
  dnnl::reorder src_reorder;
  memory weights, bias;
};

class Bf16MatMulKernel : public Kernel {
 public:
  Bf16MatMulKernel(Tensor w, Tensor b, bool trans_b, Bf16Epilogue e)
      : w_(std::move(w)), b_(std::move(b)), trans_b_(trans_b), e_(std::move(e)) {
    k_ = trans_b_ ? w_.shape()[1] : w_.shape()[0];
    n_ = trans_b_ ? w_.shape()[0] : w_.shape()[1];
  }

  // W once its bfloat16 copy exists (made by the first run).
  bool HasOwnCopyOfConstant(size_t input) const override { return input == 1 && w_.dropped(); }

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() < 1 || x.shape().back() != k_) {
      return KernelContext::Error("Bf16MatMul x " + std::string(DTypeName(x.dtype())) + " " + ShapeToString(x.shape()) +
                                  " does not fit float32 weights " + ShapeToString(w_.shape()) +
                                  (trans_b_ ? " (transB)" : ""));
    }
    Shape y_shape = x.shape();
    y_shape.back() = n_;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, y_shape));
    if (y->element_count() == 0) return Status::Ok();
    const int64_t rows = x.element_count() / k_;
    TS_ASSIGN_OR_RETURN(std::shared_ptr<Bf16MatMulPlan> plan, FindOrBuild(rows));
    try {
      SetDnnlThreads(ctx.pool().threads());
      memory src_user(plan->src_user, DnnlEngine(), const_cast<void*>(x.raw_data()));
      TS_ASSIGN_OR_RETURN(char* buf, DnnlThreadScratch(plan->src.get_size()));
      memory src(plan->src, DnnlEngine(), buf);
      plan->src_reorder.execute(DnnlStream(), src_user, src);  // float32 -> bfloat16
      memory dst(plan->dst, DnnlEngine(), y->raw_data());
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, plan->weights}, {DNNL_ARG_DST, dst}};
      if (b_.defined()) args.emplace(DNNL_ARG_BIAS, plan->bias);
      plan->prim.execute(DnnlStream(), args);
      DnnlStream().wait();
    } catch (const dnnl::error& err) {
      return Internal(std::string("oneDNN bfloat16 matmul failed: ") + err.what());
    }
    return Status::Ok();
  }

 private:
  StatusOr<std::shared_ptr<Bf16MatMulPlan>> FindOrBuild(int64_t rows) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(rows);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= 64) plans_.clear();  // free sequence lengths must not grow the cache without bound
    auto plan = std::make_shared<Bf16MatMulPlan>();
    const auto f32 = memory::data_type::f32, bf16 = memory::data_type::bf16;
    const memory::desc w_user = trans_b_ ? memory::desc({k_, n_}, f32, memory::dims{1, k_})
                                         : memory::desc({k_, n_}, f32, memory::format_tag::ab);
    const memory::desc bias_md = b_.defined() ? memory::desc({1, n_}, f32, memory::format_tag::ab) : memory::desc();
    plan->src_user = memory::desc({rows, k_}, f32, memory::format_tag::ab);
    plan->src = memory::desc({rows, k_}, bf16, memory::format_tag::ab);
    plan->dst = memory::desc({rows, n_}, f32, memory::format_tag::ab);
    try {
      dnnl::matmul::desc d(plan->src, memory::desc({k_, n_}, bf16, memory::format_tag::any), bias_md, plan->dst);
      dnnl::matmul::primitive_desc pd(d, e_.MakeAttr(), DnnlEngine());
      plan->prim = dnnl::matmul(pd);
      plan->src_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plan->src_user, DnnlEngine(), plan->src));
      plan->weights = w_.For(plans_, pd.weights_desc(), w_user);
      if (b_.defined()) plan->bias = memory(bias_md, DnnlEngine(), const_cast<void*>(b_.raw_data()));
    } catch (const dnnl::error& err) {
      return InvalidArgument("oneDNN has no bfloat16 matmul for " + std::to_string(rows) + " rows and w " +
                             ShapeToString(w_.shape()) + ": " + err.what());
    }
    plans_.emplace(rows, plan);
    return plan;
  }

  Bf16Weights w_;
  Tensor b_;
  bool trans_b_;
  Bf16Epilogue e_;
  int64_t k_ = 0, n_ = 0;
  std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<Bf16MatMulPlan>> plans_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeBf16MatMulKernel(const KernelInit& init) {
  if (init.node.inputs.size() < 2) return InvalidArgument(init.node.Describe() + ": needs X and W");
  const Tensor* w = init.constant_input(1);
  if (w == nullptr || w->dtype() != DType::kFloat32 || w->rank() != 2 || w->element_count() == 0) {
    return InvalidArgument(init.node.Describe() + ": W must be a constant 2-D float32 tensor");
  }
  const bool trans_b = init.node.GetInt("transB", 0) != 0;
  const int64_t n = trans_b ? w->dim(0) : w->dim(1);
  Tensor b;
  if (init.node.inputs.size() > 2 && init.node.inputs[2] != kNoValue) {
    const Tensor* bias = init.constant_input(2);
    if (bias == nullptr || bias->dtype() != DType::kFloat32 || bias->element_count() != n) {
      return InvalidArgument(init.node.Describe() + ": B must be a constant float32 vector of " + std::to_string(n) +
                             " values");
    }
    b = *bias;
  }
  TS_ASSIGN_OR_RETURN(Bf16Epilogue e, ReadBf16Epilogue(init.node, false));
  return std::unique_ptr<Kernel>(std::make_unique<Bf16MatMulKernel>(*w, b, trans_b, std::move(e)));
}

}  // namespace tessera
