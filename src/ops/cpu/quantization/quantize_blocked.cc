// Per-tensor, per-axis and per-block QuantizeLinear/DequantizeLinear over every quantized type; see the header.
#include "ops/cpu/quantization/quantize_blocked.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/low_precision.h"
#include "ops/cpu/quantization/quant_common.h"
#include "ops/dispatch.h"
#include "ops/op_helpers.h"

namespace tessera {

namespace {

// Where each element of x finds its scale and zero point.
struct ParamLayout {
  enum class Kind { kTensor, kAxis, kBlock } kind = Kind::kTensor;
  int64_t axis_dim = 1, inner = 1, block = 0, blocks = 1;

  int64_t IndexOf(int64_t i) const {
    if (kind == Kind::kTensor) return 0;
    const int64_t a = (i / inner) % axis_dim;
    if (kind == Kind::kAxis) return a;
    const int64_t o = i / (inner * axis_dim);
    return (o * blocks + a / block) * inner + i % inner;
  }
};

StatusOr<ParamLayout> LayoutOf(const Tensor& x, const Tensor& scale, int64_t axis_attr, int64_t block_size,
                               const std::string& op) {
  ParamLayout layout;
  if (block_size == 0 && scale.element_count() == 1) return layout;
  if (block_size < 0) {
    return KernelContext::Error(op + " block_size must not be negative, got " + std::to_string(block_size));
  }
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_attr, x.rank(), "attribute 'axis'"));
  layout.axis_dim = x.dim(axis);
  for (int64_t d = axis + 1; d < x.rank(); ++d) layout.inner *= x.dim(d);
  if (block_size == 0) {
    TS_RETURN_IF_ERROR(CheckQuantParam(scale, layout.axis_dim, (op + " scale").c_str()));
    layout.kind = ParamLayout::Kind::kAxis;
    return layout;
  }
  layout.kind = ParamLayout::Kind::kBlock;
  layout.block = block_size;
  layout.blocks = (layout.axis_dim + block_size - 1) / block_size;
  bool fits = scale.rank() == x.rank();
  for (int64_t d = 0; fits && d < x.rank(); ++d) fits = scale.dim(d) == (d == axis ? layout.blocks : x.dim(d));
  if (!fits) {
    return KernelContext::Error(op + " scale of shape " + ShapeToString(scale.shape()) + " does not fit x of shape " +
                                ShapeToString(x.shape()) + " in blocks of " + std::to_string(block_size) +
                                " along axis " + std::to_string(axis));
  }
  return layout;
}

bool IsScaleDType(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat16 || d == DType::kBFloat16 || d == DType::kFloat64;
}

// Element i of a float, integer or low-precision tensor, as double.
double LoadAsDouble(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return t.data<float>()[i];
    case DType::kFloat64: return t.data<double>()[i];
    case DType::kFloat16: return HalfToFloat(t.data<uint16_t>()[i]);
    case DType::kBFloat16: return BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DType::kInt32: return t.data<int32_t>()[i];
    case DType::kUInt8: return t.data<uint8_t>()[i];
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kUInt16: return t.data<uint16_t>()[i];
    case DType::kInt16: return t.data<int16_t>()[i];
    default: return LowPrecisionToDouble(t.dtype(), t.data<uint8_t>()[i]);  // callers admit only these
  }
}

bool IsQuantizedDType(DType d) {
  return d == DType::kUInt8 || d == DType::kInt8 || d == DType::kUInt16 || d == DType::kInt16 || IsLowPrecision(d);
}

// Checks the optional zero point against x's dtype (or the output's) and the scale's shape.
Status CheckZeroPoint(KernelContext& ctx, DType quantized, const Tensor& scale, const std::string& op) {
  if (!ctx.has_input(2)) return Status::Ok();
  const Tensor& zp = ctx.input(2);
  if (zp.dtype() != quantized) {
    return KernelContext::Error(op + " zero_point must be " + DTypeName(quantized) + ", got " + DTypeName(zp.dtype()));
  }
  if (zp.shape() != scale.shape()) {
    return KernelContext::Error(op + " zero_point of shape " + ShapeToString(zp.shape()) +
                                " must have the scale's shape " + ShapeToString(scale.shape()));
  }
  if (IsMiniFloat(quantized)) {
    for (int64_t i = 0; i < zp.element_count(); ++i) {
      if (LoadAsDouble(zp, i) != 0.0) {
        return KernelContext::Error(op + " zero_point of " + DTypeName(quantized) + " must be zero");
      }
    }
  }
  return Status::Ok();
}

// The quotient x / scale at the precision a 16-bit type gives it (float32 otherwise).
float RoundToPrecision(float q, DType precision) {
  if (precision == DType::kFloat16) return HalfToFloat(FloatToHalf(q));
  if (precision == DType::kBFloat16) return BFloat16ToFloat(FloatToBFloat16(q));
  return q;
}

template <typename Q>
void StoreInteger(Tensor& y, int64_t i, double q, double zp) {
  y.data<Q>()[i] = QuantizeValue<Q>(static_cast<float>(q), static_cast<int32_t>(zp));
}

void StoreQuantized(Tensor& y, int64_t i, double q, double zp, bool saturate) {
  switch (y.dtype()) {
    case DType::kUInt8: return StoreInteger<uint8_t>(y, i, q, zp);
    case DType::kInt8: return StoreInteger<int8_t>(y, i, q, zp);
    case DType::kUInt16: return StoreInteger<uint16_t>(y, i, q, zp);
    case DType::kInt16: return StoreInteger<int16_t>(y, i, q, zp);
    case DType::kInt4:
    case DType::kUInt4: {
      const double lo = y.dtype() == DType::kInt4 ? -8 : 0, hi = y.dtype() == DType::kInt4 ? 7 : 15;
      double r = std::nearbyint(q) + zp;
      r = std::isnan(r) ? 0 : std::fmin(std::fmax(r, lo), hi);
      y.data<uint8_t>()[i] = DoubleToLowPrecision(y.dtype(), r);
      return;
    }
    default: y.data<uint8_t>()[i] = DoubleToLowPrecision(y.dtype(), q, saturate); return;
  }
}

}  // namespace

bool NeedsBlockedQuantize(DType quantized, int64_t block_size) {
  return block_size != 0 || IsLowPrecision(quantized);
}

Status RunBlockedQuantizeLinear(KernelContext& ctx, DType out_dtype, int64_t axis, int64_t block_size, bool saturate,
                                DType precision) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const std::string op = "QuantizeLinear";
  if (!IsQuantizedDType(out_dtype)) return UnsupportedDType("QuantizeLinear output", out_dtype);
  const DType xd = x.dtype();
  if (!IsScaleDType(xd) && xd != DType::kInt32) return UnsupportedDType("QuantizeLinear input x", xd);
  if (!IsScaleDType(scale.dtype())) return UnsupportedDType("QuantizeLinear y_scale", scale.dtype());
  TS_ASSIGN_OR_RETURN(ParamLayout layout, LayoutOf(x, scale, axis, block_size, op));
  TS_RETURN_IF_ERROR(CheckZeroPoint(ctx, out_dtype, scale, op));
  if (precision == DType::kUndefined && (scale.dtype() == DType::kFloat16 || scale.dtype() == DType::kBFloat16)) {
    precision = scale.dtype();
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, out_dtype, x.shape()));
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  ctx.pool().ParallelFor(x.element_count(), int64_t{1} << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t p = layout.IndexOf(i);
      const float q = RoundToPrecision(
          static_cast<float>(LoadAsDouble(x, i)) / static_cast<float>(LoadAsDouble(scale, p)), precision);
      StoreQuantized(*y, i, q, zp ? LoadAsDouble(*zp, p) : 0.0, saturate);
    }
  });
  return Status::Ok();
}

Status RunBlockedDequantizeLinear(KernelContext& ctx, int64_t axis, int64_t block_size, DType output_dtype) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const std::string op = "DequantizeLinear";
  if (!IsQuantizedDType(x.dtype()) && x.dtype() != DType::kInt32) {
    return UnsupportedDType("DequantizeLinear input x", x.dtype());
  }
  if (!IsScaleDType(scale.dtype()) || scale.dtype() == DType::kFloat64) {
    return UnsupportedDType("DequantizeLinear x_scale", scale.dtype());
  }
  TS_ASSIGN_OR_RETURN(ParamLayout layout, LayoutOf(x, scale, axis, block_size, op));
  TS_RETURN_IF_ERROR(CheckZeroPoint(ctx, x.dtype(), scale, op));
  const DType out = output_dtype == DType::kUndefined ? scale.dtype() : output_dtype;
  if (out != DType::kFloat32 && out != DType::kFloat16 && out != DType::kBFloat16) {
    return UnsupportedDType("DequantizeLinear output_dtype", out);
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, out, x.shape()));
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  ctx.pool().ParallelFor(x.element_count(), int64_t{1} << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t p = layout.IndexOf(i);
      const double shifted = LoadAsDouble(x, i) - (zp ? LoadAsDouble(*zp, p) : 0.0);
      const float v = static_cast<float>(shifted) * static_cast<float>(LoadAsDouble(scale, p));
      if (out == DType::kFloat32) y->data<float>()[i] = v;
      else if (out == DType::kFloat16) y->data<uint16_t>()[i] = FloatToHalf(v);
      else y->data<uint16_t>()[i] = FloatToBFloat16(v);
    }
  });
  return Status::Ok();
}

}  // namespace tessera
