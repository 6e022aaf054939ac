// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, and the registration of the quantization
// family (including MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv from quant_*.cc, and the
// com.microsoft MatMulNBits and GatherBlockQuantized from matmul_nbits.cc and gather_block_quantized.cc).
//
// QuantizeLinear:   y = saturate(rint(x / scale) + zero_point), y typed as zero_point (uint8 by default).
// DequantizeLinear: y = (x - zero_point) * scale.
// From opset 13 scale and zero_point may be 1-D along `axis` (default 1); before that they are scalars.
// The tensor is viewed as [outer, axis_dim, inner] so each parameter applies to one contiguous run.
// The float8, int4, uint4 and float4e2m1 types (opsets 19-23) and block quantization (opset 21's
// `block_size`) run in quantize_blocked.cc.
#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "graph/layout.h"
#include "ops/cpu/matmul/matmul_inputs.h"
#include "ops/cpu/quantization/quant_common.h"
#include "ops/cpu/quantization/quant_family.h"
#include "ops/cpu/quantization/quantize_blocked.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

struct AxisView {
  int64_t outer = 1, axis_dim = 1, inner = 1;
};

StatusOr<AxisView> ViewAlongAxis(const Tensor& x, const Tensor& scale, int64_t axis_attr) {
  AxisView v;
  if (scale.element_count() == 1) {
    v.inner = x.element_count();
    return v;
  }
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_attr, x.rank(), "attribute 'axis'"));
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis)
      v.outer *= x.dim(d);
    else if (d == axis)
      v.axis_dim = x.dim(d);
    else
      v.inner *= x.dim(d);
  }
  return v;
}

// Calls fn(c, begin, end) over flat element ranges that share one axis index c, in parallel chunks.
template <typename F>
void ParallelOverAxisRuns(ThreadPool& pool, const AxisView& v, F&& fn) {
  const int64_t total = v.outer * v.axis_dim * v.inner;
  if (total <= 0) return;
  pool.ParallelFor(total, int64_t{1} << 15, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      const int64_t run = begin / v.inner;
      const int64_t run_end = std::min(end, (run + 1) * v.inner);
      fn(run % v.axis_dim, begin, run_end);
      begin = run_end;
    }
  });
}

StatusOr<std::vector<float>> ReadScales(const Tensor& scale, const char* what) {
  if (scale.dtype() != DType::kFloat32 && scale.dtype() != DType::kFloat16 && scale.dtype() != DType::kFloat64) {
    return KernelContext::Error(std::string(what) + " must be float, got " + DTypeName(scale.dtype()));
  }
  return ReadFloatValues(scale, what);
}

class QuantizeLinearKernel : public Kernel {
 public:
  explicit QuantizeLinearKernel(const Node& node)
      : axis_(node.GetInt("axis", 1)),
        block_(node.GetInt("block_size", 0)),
        saturate_(node.GetInt("saturate", 1) != 0),
        output_dtype_(node.GetInt("output_dtype", 0)),
        precision_(node.GetInt("precision", 0)) {}

  Status Run(KernelContext& ctx) override {
    TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1}, "QuantizeLinear"));
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const bool has_zp = ctx.has_input(2);
    TS_ASSIGN_OR_RETURN(const DType out_dtype, OutputDType(ctx));
    if (NeedsBlockedQuantize(out_dtype, block_)) {
      return RunBlockedQuantizeLinear(ctx, out_dtype, axis_, block_, saturate_, static_cast<DType>(precision_));
    }
    TS_ASSIGN_OR_RETURN(AxisView v, ViewAlongAxis(x, scale, axis_));
    TS_RETURN_IF_ERROR(CheckQuantParam(scale, v.axis_dim, "QuantizeLinear y_scale"));
    if (has_zp) {
      TS_RETURN_IF_ERROR(CheckQuantParam(ctx.input(2), v.axis_dim, "QuantizeLinear y_zero_point"));
    }
    TS_ASSIGN_OR_RETURN(std::vector<float> scales, ReadScales(scale, "QuantizeLinear y_scale"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, out_dtype, x.shape()));
    auto quantize = [&](auto q_tag, auto x_tag) {
      using Q = decltype(q_tag);
      using X = decltype(x_tag);
      const X* xd = x.data<X>();
      Q* yd = y->data<Q>();
      ParallelOverAxisRuns(ctx.pool(), v, [&](int64_t c, int64_t begin, int64_t end) {
        const float s = scales[static_cast<size_t>(scales.size() == 1 ? 0 : c)];
        const int32_t zp = has_zp ? ZeroPointAt(ctx.input(2), ctx.input(2).element_count() == 1 ? 0 : c) : 0;
        if constexpr (std::is_same_v<X, float> && sizeof(Q) == 1) {
          if (s != 0.0f) return QuantizeFloats<Q>(xd + begin, end - begin, s, zp, yd + begin);
        }
        for (int64_t i = begin; i < end; ++i) {
          yd[i] = QuantizeValue<Q>(static_cast<float>(NumericTraits<X>::Load(xd[i])) / s, zp);
        }
      });
      return Status::Ok();
    };
    auto by_input = [&](auto q_tag) -> Status {
      switch (x.dtype()) {
        case DType::kFloat32:
          return quantize(q_tag, float{});
        case DType::kFloat16:
          return quantize(q_tag, Float16{});
        case DType::kInt32:
          return quantize(q_tag, int32_t{});
        default:
          return UnsupportedDType("QuantizeLinear input x", x.dtype());
      }
    };
    switch (out_dtype) {
      case DType::kUInt8:
        return by_input(uint8_t{});
      case DType::kInt8:
        return by_input(int8_t{});
      case DType::kUInt16:
        return by_input(uint16_t{});
      case DType::kInt16:
        return by_input(int16_t{});
      default:
        return UnsupportedDType("QuantizeLinear y_zero_point", out_dtype);
    }
  }

 private:
  // The zero point's dtype; opset 21's output_dtype when there is none (they must agree when both are given).
  StatusOr<DType> OutputDType(KernelContext& ctx) const {
    if (output_dtype_ != 0 && !IsKnownDType(static_cast<int32_t>(output_dtype_))) {
      return KernelContext::Error("QuantizeLinear output_dtype " + std::to_string(output_dtype_) +
                                  " is not a data type");
    }
    if (precision_ != 0 && precision_ != static_cast<int64_t>(DType::kFloat32) &&
        precision_ != static_cast<int64_t>(DType::kFloat16) && precision_ != static_cast<int64_t>(DType::kBFloat16)) {
      return KernelContext::Error("QuantizeLinear precision " + std::to_string(precision_) + " is not supported");
    }
    const DType attr = static_cast<DType>(output_dtype_);
    if (!ctx.has_input(2)) return output_dtype_ != 0 ? attr : DType::kUInt8;
    const DType zp = ctx.input(2).dtype();
    if (output_dtype_ != 0 && attr != zp) {
      return KernelContext::Error(std::string("QuantizeLinear output_dtype ") + DTypeName(attr) +
                                  " differs from y_zero_point's dtype " + DTypeName(zp));
    }
    return zp;
  }

  int64_t axis_, block_;
  bool saturate_;
  int64_t output_dtype_, precision_;
};

class DequantizeLinearKernel : public Kernel {
 public:
  explicit DequantizeLinearKernel(const Node& node)
      : axis_(node.GetInt("axis", 1)),
        block_(node.GetInt("block_size", 0)),
        output_dtype_(node.GetInt("output_dtype", 0)) {}

  Status Run(KernelContext& ctx) override {
    TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1}, "DequantizeLinear"));
    if (output_dtype_ != 0 || ctx.input(1).dtype() == DType::kBFloat16 ||
        NeedsBlockedQuantize(ctx.input(0).dtype(), block_)) {
      if (output_dtype_ != 0 && !IsKnownDType(static_cast<int32_t>(output_dtype_))) {
        return KernelContext::Error("DequantizeLinear output_dtype " + std::to_string(output_dtype_) +
                                    " is not a data type");
      }
      return RunBlockedDequantizeLinear(ctx, axis_, block_, static_cast<DType>(output_dtype_));
    }
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const bool has_zp = ctx.has_input(2);
    TS_ASSIGN_OR_RETURN(AxisView v, ViewAlongAxis(x, scale, axis_));
    TS_RETURN_IF_ERROR(CheckQuantParam(scale, v.axis_dim, "DequantizeLinear x_scale"));
    if (has_zp) {
      TS_RETURN_IF_ERROR(CheckQuantParam(ctx.input(2), v.axis_dim, "DequantizeLinear x_zero_point"));
      if (ctx.input(2).dtype() != x.dtype()) {
        return KernelContext::Error(std::string("DequantizeLinear x_zero_point must have x's dtype ") +
                                    DTypeName(x.dtype()) + ", got " + DTypeName(ctx.input(2).dtype()));
      }
    }
    TS_ASSIGN_OR_RETURN(std::vector<float> scales, ReadScales(scale, "DequantizeLinear x_scale"));
    // Opset 19 lets the output follow the scale's dtype (float16); float32 otherwise.
    const DType out_dtype = scale.dtype() == DType::kFloat16 ? DType::kFloat16 : DType::kFloat32;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, out_dtype, x.shape()));
    auto dequantize = [&](auto x_tag, auto y_tag) {
      using X = decltype(x_tag);
      using Y = decltype(y_tag);
      const X* xd = x.data<X>();
      Y* yd = y->data<Y>();
      ParallelOverAxisRuns(ctx.pool(), v, [&](int64_t c, int64_t begin, int64_t end) {
        const size_t p = static_cast<size_t>(scales.size() == 1 ? 0 : c);
        const float s = scales[p];
        // A per-tensor zero point may accompany per-axis scales.
        const int32_t zp = has_zp ? ZeroPointAt(ctx.input(2), ctx.input(2).element_count() == 1 ? 0 : c) : 0;
        for (int64_t i = begin; i < end; ++i) {
          // int32 inputs can overflow int32 when subtracting; go through int64.
          const float d = static_cast<float>(static_cast<int64_t>(xd[i]) - zp);
          yd[i] = NumericTraits<Y>::Store(d * s);
        }
      });
      return Status::Ok();
    };
    auto by_output = [&](auto x_tag) -> Status {
      if (out_dtype == DType::kFloat16) return dequantize(x_tag, Float16{});
      return dequantize(x_tag, float{});
    };
    switch (x.dtype()) {
      case DType::kUInt8:
        return by_output(uint8_t{});
      case DType::kInt8:
        return by_output(int8_t{});
      case DType::kUInt16:
        return by_output(uint16_t{});
      case DType::kInt16:
        return by_output(int16_t{});
      case DType::kInt32:
        return by_output(int32_t{});
      default:
        return UnsupportedDType("DequantizeLinear input x", x.dtype());
    }
  }

 private:
  int64_t axis_, block_, output_dtype_;
};

// y_scale = (max(0, max(x)) - min(0, min(x))) / 255, y_zero_point = saturate(rint(-min(0, min(x)) / y_scale)),
// y = saturate(rint(x / y_scale) + y_zero_point). An all-zero x gives scale 0: every output is then 0.
Status DynamicQuantizeLinear(KernelContext& ctx) {
  TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0}, "DynamicQuantizeLinear"));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32) return UnsupportedDType("DynamicQuantizeLinear input x", x.dtype());
  const float* xd = x.data<float>();
  const int64_t n = x.element_count();
  float lo = 0.0f, hi = 0.0f;
  std::mutex mutex;
  ctx.pool().ParallelFor(n, int64_t{1} << 15, [&](int64_t begin, int64_t end) {
    // Eight running bounds so the loop vectorizes (the comparison form is the one min/max instructions take).
    float los[8] = {}, his[8] = {};
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
      for (int j = 0; j < 8; ++j) {
        los[j] = xd[i + j] < los[j] ? xd[i + j] : los[j];
        his[j] = xd[i + j] > his[j] ? xd[i + j] : his[j];
      }
    }
    float chunk_lo = 0.0f, chunk_hi = 0.0f;
    for (int j = 0; j < 8; ++j) {
      chunk_lo = std::min(chunk_lo, los[j]);
      chunk_hi = std::max(chunk_hi, his[j]);
    }
    for (; i < end; ++i) {
      chunk_lo = std::min(chunk_lo, xd[i]);
      chunk_hi = std::max(chunk_hi, xd[i]);
    }
    std::lock_guard<std::mutex> lock(mutex);
    lo = std::min(lo, chunk_lo);
    hi = std::max(hi, chunk_hi);
  });
  const float scale = (hi - lo) / 255.0f;
  uint8_t zp = 0;
  if (scale != 0.0f) {
    const float z = std::clamp(-lo / scale, 0.0f, 255.0f);
    zp = static_cast<uint8_t>(std::nearbyint(z));
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kUInt8, x.shape()));
  TS_ASSIGN_OR_RETURN(Tensor * y_scale, ctx.AllocateUninitializedOutput(1, DType::kFloat32, {}));
  TS_ASSIGN_OR_RETURN(Tensor * y_zp, ctx.AllocateUninitializedOutput(2, DType::kUInt8, {}));
  y_scale->data<float>()[0] = scale;
  y_zp->data<uint8_t>()[0] = zp;
  uint8_t* yd = y->data<uint8_t>();
  ctx.pool().ParallelFor(n, int64_t{1} << 15, [&](int64_t begin, int64_t end) {
    if (scale != 0.0f) return QuantizeFloats<uint8_t>(xd + begin, end - begin, scale, zp, yd + begin);
    std::fill(yd + begin, yd + end, zp);
  });
  return Status::Ok();
}

template <typename K>
StatusOr<std::unique_ptr<Kernel>> MakeWithNode(const KernelInit& init) {
  return std::unique_ptr<Kernel>(std::make_unique<K>(init.node));
}

}  // namespace

void RegisterQuantizationKernels(KernelRegistry& registry) {
  registry.Register("QuantizeLinear", 10, kLatestOpset, MakeWithNode<QuantizeLinearKernel>);
  registry.Register("DequantizeLinear", 10, kLatestOpset, MakeWithNode<DequantizeLinearKernel>);
  registry.Register("DynamicQuantizeLinear", 11, kLatestOpset, MakeFunctionKernel(DynamicQuantizeLinear));
  registry.Register("MatMulInteger", 10, kLatestOpset, MakeMatMulIntegerKernel);
  registry.Register("QLinearMatMul", 10, kLatestOpset, MakeQLinearMatMulKernel);
  registry.Register("ConvInteger", 10, kLatestOpset, MakeConvIntegerKernel);
  registry.Register("QLinearConv", 10, kLatestOpset, MakeQLinearConvKernel);
  using Factory = StatusOr<std::unique_ptr<Kernel>> (*)(const KernelInit&);
  for (const auto& [op, factory] : {std::pair<const char*, Factory>{"QuantizedConv", MakeQuantizedConvKernel},
                                    std::pair<const char*, Factory>{"QuantizedMatMul", MakeQuantizedMatMulKernel},
                                    std::pair<const char*, Factory>{"QuantizedActivationMatMul",
                                                                    MakeQuantizedActivationMatMulKernel},
                                    std::pair<const char*, Factory>{"LayerNormQuantize", MakeLayerNormQuantizeKernel}}) {
    KernelDef def;
    def.op_type = op;
    def.domain = kTesseraDomain;
    def.since_opset = 1;
    def.factory = factory;
    registry.Register(std::move(def));
  }
  // ONNX Runtime's contrib domain, opset 1 being its only version.
  const std::string microsoft = "com.microsoft";
  registry.Register(KernelDef{"MatMulNBits", microsoft, 1, kLatestOpset, "cpu", {}, MakeMatMulNBitsKernel});
  registry.Register(
      KernelDef{"GatherBlockQuantized", microsoft, 1, kLatestOpset, "cpu", {}, MakeGatherBlockQuantizedKernel});
}

}  // namespace tessera
