// com.tessera QuantizedMatMul: a MatMul or Gemm between DequantizeLinear inputs (and, optionally, a bias
// Add, a Relu/Clip and a QuantizeLinear after it) as one oneDNN int8 matmul; see qdq_fused_params.h for
// the inputs and the arithmetic, graph/passes/qdq_fusion.h for the pattern.
//
// x is uint8/int8 [..., K] (its leading dims fold into rows), w the constant int8 [K, N], or [N, K] with
// transB = 1 (a Gemm's). The weights are packed once per layout oneDNN asks for; primitives are built per
// row count and cached (an encoder sees one per sequence length).
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ops/cpu/common/dnnl_context.h"
#include "ops/cpu/quantization/qdq_fused_params.h"
#include "ops/cpu/quantization/quant_family.h"

namespace tessera {
namespace {

using dnnl::memory;

struct MatMulPlan8 {
  dnnl::matmul prim;
  memory::desc src, dst;
  memory weights, bias;
};

class QuantizedMatMulKernel : public Kernel {
 public:
  QuantizedMatMulKernel(QdqFusedParams params, bool trans_b)
      : p_(std::move(params)), trans_b_(trans_b), accumulator_bias_(p_.AccumulatorBias()) {
    const Shape& ws = p_.weights.shape();
    k_ = trans_b_ ? ws[1] : ws[0];
  }

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != p_.x_type) {
      return KernelContext::Error("QuantizedMatMul x must be " + std::string(DTypeName(p_.x_type)) +
                                  " (its zero point's type), got " + DTypeName(x.dtype()));
    }
    if (x.rank() < 1 || x.shape().back() != k_) {
      return KernelContext::Error("QuantizedMatMul x " + ShapeToString(x.shape()) + " does not fit weights " +
                                  ShapeToString(p_.weights.shape()) + (trans_b_ ? " (transB)" : ""));
    }
    Shape y_shape = x.shape();
    y_shape.back() = p_.channels;
    const int64_t rows = k_ == 0 ? 0 : x.element_count() / k_;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, p_.y_type, y_shape));
    if (y->element_count() == 0) return Status::Ok();
    TS_ASSIGN_OR_RETURN(std::shared_ptr<MatMulPlan8> plan, FindOrBuild(rows));
    try {
      SetDnnlThreads(ctx.pool().threads());
      memory src(plan->src, DnnlEngine(), const_cast<void*>(x.raw_data()));
      memory dst(plan->dst, DnnlEngine(), y->raw_data());
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, plan->weights}, {DNNL_ARG_DST, dst}};
      if (!accumulator_bias_.empty()) args.emplace(DNNL_ARG_BIAS, plan->bias);
      AddZeroPointArgs(p_, args);
      plan->prim.execute(DnnlStream(), args);
      DnnlStream().wait();
    } catch (const dnnl::error& e) {
      return Internal(std::string("oneDNN int8 matmul failed: ") + e.what());
    }
    return Status::Ok();
  }

 private:
  StatusOr<std::shared_ptr<MatMulPlan8>> FindOrBuild(int64_t rows) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(rows);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= 64) plans_.clear();  // free sequence lengths must not grow the cache without bound
    auto plan = std::make_shared<MatMulPlan8>();
    const int64_t n = p_.channels;
    const memory::desc w_user = trans_b_ ? memory::desc({k_, n}, memory::data_type::s8, memory::dims{1, k_})
                                         : memory::desc({k_, n}, memory::data_type::s8, memory::format_tag::ab);
    const memory::desc bias_md = accumulator_bias_.empty()
                                     ? memory::desc()
                                     : memory::desc({1, n}, memory::data_type::f32, memory::format_tag::ab);
    plan->src = memory::desc({rows, k_}, ToDnnl(p_.x_type), memory::format_tag::ab);
    plan->dst = memory::desc({rows, n}, ToDnnl(p_.y_type), memory::format_tag::ab);
    try {
      dnnl::matmul::desc d(plan->src, memory::desc({k_, n}, memory::data_type::s8, memory::format_tag::any), bias_md,
                           plan->dst);
      // Output scales run along N: dim 1 of dst.
      dnnl::matmul::primitive_desc pd(d, p_.MakeAttr(1 << 1), DnnlEngine());
      plan->prim = dnnl::matmul(pd);
      const memory::desc want = pd.weights_desc();
      for (const auto& [key, other] : plans_) {
        if (other->weights.get_desc() == want) plan->weights = other->weights;
      }
      if (!plan->weights) {
        memory source(w_user, DnnlEngine(), const_cast<void*>(p_.weights.raw_data()));
        plan->weights = memory(want, DnnlEngine());
        dnnl::reorder(source, plan->weights).execute(DnnlStream(), source, plan->weights);
        DnnlStream().wait();
      }
      if (!accumulator_bias_.empty()) {
        plan->bias = memory(bias_md, DnnlEngine(), const_cast<float*>(accumulator_bias_.data()));
      }
    } catch (const dnnl::error& e) {
      return InvalidArgument("oneDNN has no int8 matmul for " + std::to_string(rows) + " rows and w " +
                             ShapeToString(p_.weights.shape()) + ": " + e.what());
    }
    plans_.emplace(rows, plan);
    return plan;
  }

  QdqFusedParams p_;
  bool trans_b_;
  int64_t k_ = 0;
  std::vector<float> accumulator_bias_;
  std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<MatMulPlan8>> plans_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeQuantizedMatMulKernel(const KernelInit& init) {
  const bool trans_b = init.node.GetInt("transB", 0) != 0;
  TS_ASSIGN_OR_RETURN(QdqFusedParams params, ReadQdqFusedParams(init, trans_b ? 0 : 1));
  if (params.weights.rank() != 2) {
    return InvalidArgument(init.node.Describe() + ": weights w must be 2-D, got " +
                           ShapeToString(params.weights.shape()));
  }
  return std::unique_ptr<Kernel>(std::make_unique<QuantizedMatMulKernel>(std::move(params), trans_b));
}

}  // namespace tessera
