// com.tessera QuantizedActivationMatMul: a MatMul between two DequantizeLinear'd activations (an
// attention's Q·Kᵀ and P·V), optionally scaled by a constant and requantized, as one oneDNN int8 matmul
// (graph/passes/qdq_fusion.h writes it).
//
// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point (zero points and the
// y pair optional; every scale and zero point a constant scalar). Attribute alpha (float, default 1).
//
//   y = alpha * a_scale * b_scale * sum_k (a[.., m, k] - a_zp) * (b[.., k, n] - b_zp)
//
// float32, or quantized with y_scale and y_zero_point (typed as y_zero_point, uint8 when absent). a and b
// have rank 2 to 4 with numpy MatMul broadcasting over the batch dims. oneDNN's int8 matmul takes s8
// weights only, so a uint8 b is shifted to int8 (b - 128, with b_zp - 128), which keeps the differences.
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/cpu/common/dnnl_context.h"
#include "ops/cpu/quantization/quant_common.h"
#include "ops/cpu/quantization/quant_family.h"

namespace tessera {
namespace {

using dnnl::memory;

struct ActivationQuant {
  DType type = DType::kUInt8;
  float scale = 1;
  int32_t zero_point = 0;
};

struct ActivationMatMulPlan {
  dnnl::matmul prim;
  memory::desc a, b, y, scratch;
};

class QuantizedActivationMatMulKernel : public Kernel {
 public:
  QuantizedActivationMatMulKernel(ActivationQuant a, ActivationQuant b, bool quantized_output, ActivationQuant y,
                                  float alpha)
      : a_(a), b_(b), quantized_output_(quantized_output), y_(y), alpha_(alpha) {
    // With a uint8 b the kernel hands oneDNN b - 128: the zero point moves with it.
    b_zero_point_s8_ = b_.type == DType::kUInt8 ? b_.zero_point - 128 : b_.zero_point;
    y_type_ = quantized_output_ ? y_.type : DType::kFloat32;
  }

  Status Run(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    if (a.dtype() != a_.type || b.dtype() != b_.type) {
      return KernelContext::Error("QuantizedActivationMatMul a and b must be " + std::string(DTypeName(a_.type)) +
                                  " and " + DTypeName(b_.type) + " (their zero points' types), got " +
                                  DTypeName(a.dtype()) + " and " + DTypeName(b.dtype()));
    }
    TS_ASSIGN_OR_RETURN(Shape y_shape, OutputShape(a.shape(), b.shape()));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, y_type_, y_shape));
    if (y->element_count() == 0) return Status::Ok();
    if (a.shape().back() == 0) {
      // An empty sum: every result is 0 in float units.
      const int32_t code = quantized_output_ ? y_.zero_point : 0;
      const int64_t n = y->element_count();
      for (int64_t i = 0; i < n; ++i) StoreCode(*y, i, code);
      return Status::Ok();
    }
    TS_ASSIGN_OR_RETURN(std::shared_ptr<ActivationMatMulPlan> plan, FindOrBuild(a.shape(), b.shape(), y_shape));
    const void* b_data = b.raw_data();
    if (b_.type == DType::kUInt8) {
      const int64_t n = b.element_count();
      TS_ASSIGN_OR_RETURN(char* shifted, DnnlThreadScratch(static_cast<size_t>(n), 0));
      const uint8_t* src = b.data<uint8_t>();
      uint8_t* dst = reinterpret_cast<uint8_t*>(shifted);
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] ^ 0x80;  // as int8: b - 128
      b_data = shifted;
    }
    try {
      SetDnnlThreads(ctx.pool().threads());
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, memory(plan->a, DnnlEngine(), const_cast<void*>(a.raw_data()))},
          {DNNL_ARG_WEIGHTS, memory(plan->b, DnnlEngine(), const_cast<void*>(b_data))},
          {DNNL_ARG_DST, memory(plan->y, DnnlEngine(), y->raw_data())}};
      const memory::desc one({1}, memory::data_type::s32, memory::format_tag::a);
      if (a_.zero_point != 0) {
        args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(one, DnnlEngine(), &a_.zero_point));
      }
      if (b_zero_point_s8_ != 0) {
        args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_WEIGHTS, memory(one, DnnlEngine(), &b_zero_point_s8_));
      }
      if (quantized_output_ && y_.zero_point != 0) {
        args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, memory(one, DnnlEngine(), &y_.zero_point));
      }
      if (plan->scratch.get_size() > 0) {
        TS_ASSIGN_OR_RETURN(char* scratch, DnnlThreadScratch(plan->scratch.get_size(), 1));
        args.emplace(DNNL_ARG_SCRATCHPAD, memory(plan->scratch, DnnlEngine(), scratch));
      }
      plan->prim.execute(DnnlStream(), args);
      DnnlStream().wait();
    } catch (const dnnl::error& e) {
      return Internal(std::string("oneDNN int8 activation matmul failed: ") + e.what());
    }
    return Status::Ok();
  }

 private:
  // numpy MatMul's output shape for ranks 2 to 4 (the batch dims broadcast), or an error naming both shapes.
  static StatusOr<Shape> OutputShape(const Shape& a, const Shape& b) {
    auto mismatch = [&](const std::string& why) {
      return KernelContext::Error("QuantizedActivationMatMul a " + ShapeToString(a) + " and b " + ShapeToString(b) +
                                  ": " + why);
    };
    if (a.size() < 2 || a.size() > 4 || b.size() < 2 || b.size() > 4) return mismatch("ranks must be 2 to 4");
    if (a.back() != b[b.size() - 2]) return mismatch("the inner dims differ");
    const size_t rank = std::max(a.size(), b.size());
    Shape y(rank);
    for (size_t i = 0; i + 2 < rank; ++i) {
      const int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
      const int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
      if (da != db && da != 1 && db != 1) return mismatch("the batch dims do not broadcast");
      y[i] = da == 1 ? db : da;
    }
    y[rank - 2] = a[a.size() - 2];
    y[rank - 1] = b.back();
    return y;
  }

  static memory::dims Padded(const Shape& s, size_t rank) {
    memory::dims d(rank - s.size(), 1);
    d.insert(d.end(), s.begin(), s.end());
    return d;
  }

  static void StoreCode(Tensor& y, int64_t i, int32_t code) {
    if (y.dtype() == DType::kFloat32) y.data<float>()[i] = 0.0f;
    if (y.dtype() == DType::kUInt8) y.data<uint8_t>()[i] = static_cast<uint8_t>(code);
    if (y.dtype() == DType::kInt8) y.data<int8_t>()[i] = static_cast<int8_t>(code);
  }

  StatusOr<std::shared_ptr<ActivationMatMulPlan>> FindOrBuild(const Shape& a, const Shape& b, const Shape& y) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::pair<Shape, Shape> key{a, b};
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= 64) plans_.clear();  // free sequence lengths must not grow the cache without bound
    auto plan = std::make_shared<ActivationMatMulPlan>();
    const size_t rank = y.size();
    auto plain = [](size_t r) {
      return r == 2 ? memory::format_tag::ab : r == 3 ? memory::format_tag::abc : memory::format_tag::abcd;
    };
    plan->a = memory::desc(Padded(a, rank), ToDnnl(a_.type), plain(rank));
    plan->b = memory::desc(Padded(b, rank), memory::data_type::s8, plain(rank));
    plan->y = memory::desc(Padded(y, rank), ToDnnl(y_type_), plain(rank));
    try {
      dnnl::primitive_attr attr;
      attr.set_output_scales(0, {alpha_ * a_.scale * b_.scale / (quantized_output_ ? y_.scale : 1.0f)});
      if (a_.zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      if (b_zero_point_s8_ != 0) attr.set_zero_points(DNNL_ARG_WEIGHTS, 0, {DNNL_RUNTIME_S32_VAL});
      if (quantized_output_ && y_.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
      // The calling thread's scratch: a library-owned scratchpad would be allocated per execution.
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::matmul::desc d(plan->a, plan->b, plan->y);
      const dnnl::matmul::primitive_desc pd(d, attr, DnnlEngine());
      plan->prim = dnnl::matmul(pd);
      plan->scratch = pd.scratchpad_desc();
    } catch (const dnnl::error& e) {
      return InvalidArgument("oneDNN has no int8 matmul for a " + ShapeToString(a) + " and b " + ShapeToString(b) +
                             ": " + e.what());
    }
    plans_.emplace(key, plan);
    return plan;
  }

  ActivationQuant a_, b_;
  bool quantized_output_;
  ActivationQuant y_;
  float alpha_;
  int32_t b_zero_point_s8_ = 0;
  DType y_type_ = DType::kFloat32;
  std::mutex mutex_;
  std::map<std::pair<Shape, Shape>, std::shared_ptr<ActivationMatMulPlan>> plans_;
};

// Input `i` as a constant float32 scalar > 0 and, at `i + 1` when given, its uint8/int8 scalar zero point.
StatusOr<ActivationQuant> ReadActivationQuant(const KernelInit& init, size_t i, const char* what) {
  const std::string where = init.node.Describe() + " " + what;
  const Tensor* scale = i < init.node.inputs.size() && init.node.inputs[i] != kNoValue ? init.constant_input(i)
                                                                                         : nullptr;
  if (scale == nullptr || !scale->defined() || scale->dtype() != DType::kFloat32 || scale->element_count() != 1) {
    return InvalidArgument(where + "_scale must be a constant float32 scalar");
  }
  ActivationQuant q;
  q.scale = scale->data<float>()[0];
  if (!(q.scale > 0) || !std::isfinite(q.scale)) return InvalidArgument(where + "_scale must be positive and finite");
  if (i + 1 < init.node.explicit_input_count && init.node.inputs[i + 1] != kNoValue) {
    const Tensor* zp = init.constant_input(i + 1);
    if (zp == nullptr || !zp->defined() || (zp->dtype() != DType::kUInt8 && zp->dtype() != DType::kInt8) ||
        zp->element_count() != 1) {
      return InvalidArgument(where + "_zero_point must be a constant uint8 or int8 scalar");
    }
    q.type = zp->dtype();
    q.zero_point = ZeroPointAt(*zp, 0);
  }
  return q;
}

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeQuantizedActivationMatMulKernel(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(ActivationQuant a, ReadActivationQuant(init, 1, "a"));
  TS_ASSIGN_OR_RETURN(ActivationQuant b, ReadActivationQuant(init, 4, "b"));
  const bool quantized = init.node.explicit_input_count > 6 && init.node.inputs[6] != kNoValue;
  ActivationQuant y;
  if (quantized) {
    TS_ASSIGN_OR_RETURN(y, ReadActivationQuant(init, 6, "y"));
  }
  const float alpha = init.node.GetFloat("alpha", 1.0f);
  if (!std::isfinite(alpha) || alpha == 0.0f) {
    return InvalidArgument(init.node.Describe() + " alpha must be finite and non-zero");
  }
  return std::unique_ptr<Kernel>(std::make_unique<QuantizedActivationMatMulKernel>(a, b, quantized, y, alpha));
}

}  // namespace tessera
