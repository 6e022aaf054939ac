// ConvInteger and QLinearConv: N-d grouped convolution over int8/uint8 by im2col and an int32 GEMM.
//
// The input minus its zero point is unfolded per image and group into a [C/group * kernel, output
// positions] int32 matrix (padding contributes 0, i.e. the zero point itself); the weights minus their
// zero points (scalar or one per output channel) form [M/group, C/group * kernel]; their product is the
// int32 accumulator. ConvInteger returns it; QLinearConv adds the int32 bias and requantizes with
// x_scale * w_scale[m] / y_scale. Where oneDNN's int8 matmul is exact (VNNI) the product runs there, on the
// transposed unfolding (DnnlIntegerConv); otherwise on the plain int32 GEMM.
#include <memory>
#include <string>

#include "ops/cpu/matmul/matmul_inputs.h"
#include "ops/cpu/matmul/matmul_reference.h"
#include "ops/cpu/matmul/matmul_scratch.h"
#include "ops/cpu/quantization/quant_common.h"
#include "ops/cpu/quantization/quant_family.h"
#include "ops/cpu/quantization/quant_gemm.h"
#include "ops/dispatch.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

struct ConvAttributes {
  std::string auto_pad;
  std::vector<int64_t> dilations, kernel_shape, pads, strides;
  int64_t group = 1;
};

struct ConvGeometry {
  int64_t batch = 0, channels = 0, maps = 0, group = 1;
  Shape in, kernel, out, strides, dilations, pad_begin;
  int64_t in_size = 1, kernel_size = 1, out_size = 1;
};

StatusOr<ConvGeometry> PlanConv(const ConvAttributes& attr, const Shape& x, const Shape& w) {
  if (x.size() < 3 || w.size() != x.size()) {
    return KernelContext::Error("conv input x " + ShapeToString(x) + " and weights w " + ShapeToString(w) +
                                " must have the same rank >= 3");
  }
  const size_t sp = x.size() - 2;
  ConvGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.maps = w[0];
  g.group = attr.group;
  if (g.group <= 0 || g.channels % g.group != 0 || g.maps % g.group != 0 || w[1] * g.group != g.channels) {
    return KernelContext::Error("conv group " + std::to_string(g.group) + " does not fit x " + ShapeToString(x) +
                                " and w " + ShapeToString(w));
  }
  auto list = [&](const std::vector<int64_t>& v, int64_t fallback, size_t count, const char* what) -> StatusOr<Shape> {
    if (v.empty()) return Shape(count, fallback);
    if (v.size() != count) {
      return KernelContext::Error(std::string("conv attribute '") + what + "' has " + std::to_string(v.size()) +
                                  " values, expected " + std::to_string(count));
    }
    return Shape(v);
  };
  TS_ASSIGN_OR_RETURN(g.strides, list(attr.strides, 1, sp, "strides"));
  TS_ASSIGN_OR_RETURN(g.dilations, list(attr.dilations, 1, sp, "dilations"));
  TS_ASSIGN_OR_RETURN(Shape pads, list(attr.pads, 0, 2 * sp, "pads"));
  g.in.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  if (!attr.kernel_shape.empty() && attr.kernel_shape != g.kernel) {
    return KernelContext::Error("conv kernel_shape does not match weights " + ShapeToString(w));
  }
  g.pad_begin.resize(sp);
  g.out.resize(sp);
  for (size_t d = 0; d < sp; ++d) {
    if (g.strides[d] <= 0 || g.dilations[d] <= 0)
      return KernelContext::Error("conv strides and dilations must be positive");
    const int64_t extent = g.dilations[d] * (g.kernel[d] - 1) + 1;
    if (attr.auto_pad == "SAME_UPPER" || attr.auto_pad == "SAME_LOWER") {
      g.out[d] = (g.in[d] + g.strides[d] - 1) / g.strides[d];
      const int64_t total = std::max<int64_t>(0, (g.out[d] - 1) * g.strides[d] + extent - g.in[d]);
      g.pad_begin[d] = attr.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      continue;
    }
    const int64_t pb = attr.auto_pad == "VALID" ? 0 : pads[d], pe = attr.auto_pad == "VALID" ? 0 : pads[d + sp];
    g.pad_begin[d] = pb;
    const int64_t span = g.in[d] + pb + pe - extent;
    if (span < 0) return KernelContext::Error("conv kernel is larger than the padded input " + ShapeToString(x));
    g.out[d] = span / g.strides[d] + 1;
  }
  g.in_size = ScratchElementCount(g.in);
  g.kernel_size = ScratchElementCount(g.kernel);
  g.out_size = ScratchElementCount(g.out);
  // The accumulator and the unfolded input are scratch vectors sized from attributes (pads, dilations).
  TS_RETURN_IF_ERROR(
      CheckScratchSize(ScratchElementCount({g.batch, g.maps, g.out_size}), sizeof(int32_t), "conv output"));
  TS_RETURN_IF_ERROR(
      CheckScratchSize(ScratchElementCount({w[1], g.kernel_size, g.out_size}), sizeof(int32_t), "conv unfolded input"));
  return g;
}

// Unfolds channels [c0, c0 + cg) of one image into the unfolded matrix: element (r, o), with r = (channel,
// kernel offset) and o = output position, goes to dst[r * r_stride + o * o_stride]; positions in the
// padding get `pad`. [rows, positions] with (positions, 1) is im2col; (1, rows) is its transpose.
template <typename T>
void Unfold(const T* image, const ConvGeometry& g, int64_t c0, int64_t cg, T pad, T* dst, int64_t r_stride,
            int64_t o_stride) {
  const size_t sp = g.in.size();
  std::vector<int64_t> kpos(sp), opos(sp);
  for (int64_t c = 0; c < cg; ++c) {
    const T* plane = image + (c0 + c) * g.in_size;
    for (int64_t k = 0; k < g.kernel_size; ++k) {
      for (int64_t rem = k, d = static_cast<int64_t>(sp) - 1; d >= 0; --d) {
        kpos[static_cast<size_t>(d)] = rem % g.kernel[static_cast<size_t>(d)];
        rem /= g.kernel[static_cast<size_t>(d)];
      }
      T* row = dst + (c * g.kernel_size + k) * r_stride;
      std::fill(opos.begin(), opos.end(), 0);
      for (int64_t o = 0; o < g.out_size; ++o) {
        int64_t offset = 0;
        bool inside = true;
        for (size_t d = 0; d < sp; ++d) {
          const int64_t p = opos[d] * g.strides[d] - g.pad_begin[d] + kpos[d] * g.dilations[d];
          if (p < 0 || p >= g.in[d]) inside = false;
          offset = offset * g.in[d] + p;
        }
        row[o * o_stride] = inside ? plane[offset] : pad;
        for (size_t d = sp; d-- > 0;) {
          if (++opos[d] < g.out[d]) break;
          opos[d] = 0;
        }
      }
    }
  }
}

int32_t LoadQ(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kUInt8 ? int32_t{t.data<uint8_t>()[i]} : int32_t{t.data<int8_t>()[i]};
}

Status CheckInt8Like(const Tensor& t, const char* what) {
  if (t.dtype() == DType::kUInt8 || t.dtype() == DType::kInt8) return Status::Ok();
  return KernelContext::Error(std::string(what) + " must be uint8 or int8, got " + DTypeName(t.dtype()));
}

// IntegerConv on oneDNN: per image and group, the transposed unfolding [positions, C/group * kernel] (raw
// bytes, padding = x's zero point) times the transposed weights [C/group * kernel, M/group] through QuantGemm,
// which applies the zero points; the [positions, M/group] result is transposed into the output planes.
StatusOr<std::vector<int32_t>> DnnlIntegerConv(KernelContext& ctx, const Tensor& x, int32_t xz, const Tensor& w,
                                               const Tensor* w_zp, const ConvGeometry& g, QuantGemm& gemm) {
  const int64_t cg = g.channels / g.group, mg = g.maps / g.group, rows = cg * g.kernel_size;
  std::vector<int32_t> acc(static_cast<size_t>(g.batch * g.maps * g.out_size), 0);
  if (acc.empty() || rows == 0) return acc;
  const uint8_t* xd = static_cast<const uint8_t*>(x.raw_data());
  const uint8_t* wd = static_cast<const uint8_t*>(w.raw_data());
  const uint8_t pad = static_cast<uint8_t>(xz);  // the zero point's byte, in x's own dtype
  std::vector<uint8_t> unfolded(static_cast<size_t>(g.out_size * rows)), wt(static_cast<size_t>(rows * mg));
  std::vector<int32_t> product(static_cast<size_t>(g.out_size * mg));
  for (int64_t gi = 0; gi < g.group; ++gi) {
    for (int64_t m = 0; m < mg; ++m) {
      for (int64_t r = 0; r < rows; ++r) wt[static_cast<size_t>(r * mg + m)] = wd[(gi * mg + m) * rows + r];
    }
    std::vector<int32_t> w_zero{0};
    if (w_zp != nullptr && w_zp->element_count() == 1) w_zero[0] = ZeroPointAt(*w_zp, 0);
    if (w_zp != nullptr && w_zp->element_count() > 1) {
      w_zero.resize(static_cast<size_t>(mg));
      for (int64_t m = 0; m < mg; ++m) w_zero[static_cast<size_t>(m)] = ZeroPointAt(*w_zp, gi * mg + m);
    }
    for (int64_t n = 0; n < g.batch; ++n) {
      Unfold<uint8_t>(xd + n * g.channels * g.in_size, g, gi * cg, cg, pad, unfolded.data(), 1, rows);
      TS_RETURN_IF_ERROR(gemm.Run(unfolded.data(), x.dtype(), g.out_size, rows, {xz}, wt.data(), w.dtype(), mg, w_zero,
                                  product.data(), ctx.pool().threads()));
      int32_t* out = acc.data() + (n * g.maps + gi * mg) * g.out_size;
      for (int64_t o = 0; o < g.out_size; ++o) {
        for (int64_t m = 0; m < mg; ++m) out[m * g.out_size + o] = product[static_cast<size_t>(o * mg + m)];
      }
    }
  }
  return acc;
}

// The int32 accumulator [N, M, out...] of x (minus x_zp) convolved with w (minus w_zp, scalar or per map).
StatusOr<std::vector<int32_t>> IntegerConv(KernelContext& ctx, const ConvAttributes& attr, const Tensor& x,
                                           const Tensor* x_zp, const Tensor& w, const Tensor* w_zp, QuantGemm& gemm,
                                           ConvGeometry& g) {
  TS_RETURN_IF_ERROR(CheckInt8Like(x, "conv input x"));
  TS_RETURN_IF_ERROR(CheckInt8Like(w, "conv weights w"));
  TS_ASSIGN_OR_RETURN(g, PlanConv(attr, x.shape(), w.shape()));
  if (x_zp != nullptr && x_zp->element_count() != 1) {
    return KernelContext::Error("conv x zero point must be a scalar, got " + ShapeToString(x_zp->shape()));
  }
  if (w_zp != nullptr && w_zp->element_count() != 1 && w_zp->element_count() != g.maps) {
    return KernelContext::Error("conv w zero point " + ShapeToString(w_zp->shape()) +
                                " must be a scalar or one value per output channel (" + std::to_string(g.maps) + ")");
  }
  const int32_t xz = x_zp != nullptr ? ZeroPointAt(*x_zp, 0) : 0;
  if (DnnlInt8IsExact()) return DnnlIntegerConv(ctx, x, xz, w, w_zp, g, gemm);
  std::vector<int32_t> x32(static_cast<size_t>(x.element_count()));
  for (size_t i = 0; i < x32.size(); ++i) x32[i] = LoadQ(x, static_cast<int64_t>(i)) - xz;
  const int64_t w_row = w.element_count() / std::max<int64_t>(1, g.maps);
  std::vector<int32_t> w32(static_cast<size_t>(w.element_count()));
  for (int64_t m = 0; m < g.maps; ++m) {
    const int32_t wz = w_zp == nullptr ? 0 : ZeroPointAt(*w_zp, w_zp->element_count() == 1 ? 0 : m);
    for (int64_t i = 0; i < w_row; ++i) w32[static_cast<size_t>(m * w_row + i)] = LoadQ(w, m * w_row + i) - wz;
  }
  const int64_t cg = g.channels / g.group, mg = g.maps / g.group, rows = cg * g.kernel_size;
  std::vector<int32_t> acc(static_cast<size_t>(g.batch * g.maps * g.out_size), 0);
  if (acc.empty() || rows == 0) return acc;
  std::vector<int32_t> col(static_cast<size_t>(rows * g.out_size));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t gi = 0; gi < g.group; ++gi) {
      Unfold<int32_t>(x32.data() + n * g.channels * g.in_size, g, gi * cg, cg, 0, col.data(), g.out_size, 1);
      int32_t* out = acc.data() + (n * g.maps + gi * mg) * g.out_size;
      const int32_t* wg = w32.data() + gi * mg * rows;
      ctx.pool().ParallelFor(mg, 1, [&](int64_t begin, int64_t end) {
        std::vector<int32_t> scratch(static_cast<size_t>(std::min(g.out_size, kGemmColumnBlock)));
        auto id = [](int32_t v) { return v; };
        ReferenceGemmRows<int32_t>(wg, col.data(), out, begin, end, rows, g.out_size, scratch.data(), id, id, id);
      });
    }
  }
  return acc;
}

Shape OutputShape(const ConvGeometry& g) {
  Shape s{g.batch, g.maps};
  s.insert(s.end(), g.out.begin(), g.out.end());
  return s;
}

class QuantConvKernel : public Kernel {
 public:
  QuantConvKernel(const Node& node, bool qlinear) : qlinear_(qlinear) {
    attr_.auto_pad = node.GetString("auto_pad", "NOTSET");
    attr_.dilations = node.GetInts("dilations");
    attr_.kernel_shape = node.GetInts("kernel_shape");
    attr_.pads = node.GetInts("pads");
    attr_.strides = node.GetInts("strides");
    attr_.group = node.GetInt("group", 1);
  }

  Status Run(KernelContext& ctx) override { return qlinear_ ? RunQLinear(ctx) : RunInteger(ctx); }

 private:
  // Inputs: x, w, x_zero_point, w_zero_point.
  Status RunInteger(KernelContext& ctx) {
    TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1}, "ConvInteger"));
    ConvGeometry g;
    TS_ASSIGN_OR_RETURN(std::vector<int32_t> acc,
                        IntegerConv(ctx, attr_, ctx.input(0), ctx.has_input(2) ? &ctx.input(2) : nullptr, ctx.input(1),
                                    ctx.has_input(3) ? &ctx.input(3) : nullptr, gemm_, g));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kInt32, OutputShape(g)));
    std::copy(acc.begin(), acc.end(), y->data<int32_t>());
    return Status::Ok();
  }

  // Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
  Status RunQLinear(KernelContext& ctx) {
    TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1, 2, 3, 4, 5, 6, 7}, "QLinearConv"));
    ConvGeometry g;
    TS_ASSIGN_OR_RETURN(std::vector<int32_t> acc,
                        IntegerConv(ctx, attr_, ctx.input(0), &ctx.input(2), ctx.input(3), &ctx.input(5), gemm_, g));
    TS_ASSIGN_OR_RETURN(std::vector<float> x_scale, ReadFloatValues(ctx.input(1), "QLinearConv x_scale"));
    TS_ASSIGN_OR_RETURN(std::vector<float> w_scale, ReadFloatValues(ctx.input(4), "QLinearConv w_scale"));
    TS_ASSIGN_OR_RETURN(std::vector<float> y_scale, ReadFloatValues(ctx.input(6), "QLinearConv y_scale"));
    if (x_scale.size() != 1 || y_scale.size() != 1 || ctx.input(7).element_count() != 1) {
      return KernelContext::Error("QLinearConv x_scale, y_scale and y_zero_point must be scalars");
    }
    if (w_scale.size() != 1 && static_cast<int64_t>(w_scale.size()) != g.maps) {
      return KernelContext::Error("QLinearConv w_scale " + ShapeToString(ctx.input(4).shape()) +
                                  " must be a scalar or one value per output channel");
    }
    const int32_t* bias = nullptr;
    if (ctx.has_input(8)) {
      const Tensor& b = ctx.input(8);
      if (b.dtype() != DType::kInt32 || b.element_count() != g.maps) {
        return KernelContext::Error("QLinearConv bias B must be int32 with " + std::to_string(g.maps) +
                                    " values, got " + DTypeName(b.dtype()) + " " + ShapeToString(b.shape()));
      }
      bias = b.data<int32_t>();
    }
    const Tensor& y_zp_t = ctx.input(7);
    const int32_t y_zp = ZeroPointAt(y_zp_t, 0);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, y_zp_t.dtype(), OutputShape(g)));
    auto requantize = [&](auto tag) {
      using Q = decltype(tag);
      Q* yd = y->data<Q>();
      for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t m = 0; m < g.maps; ++m) {
          const float mult = x_scale[0] * w_scale[w_scale.size() == 1 ? 0 : static_cast<size_t>(m)] / y_scale[0];
          const int32_t b = bias != nullptr ? bias[m] : 0;
          const int64_t base = (n * g.maps + m) * g.out_size;
          for (int64_t i = 0; i < g.out_size; ++i) {
            yd[base + i] = QuantizeValue<Q>(static_cast<float>(acc[static_cast<size_t>(base + i)] + b) * mult, y_zp);
          }
        }
      }
      return Status::Ok();
    };
    if (y_zp_t.dtype() == DType::kUInt8) return requantize(uint8_t{});
    if (y_zp_t.dtype() == DType::kInt8) return requantize(int8_t{});
    return UnsupportedDType("QLinearConv y_zero_point", y_zp_t.dtype());
  }

  ConvAttributes attr_;
  bool qlinear_;
  QuantGemm gemm_;  // keeps its oneDNN primitives between runs
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeConvIntegerKernel(const KernelInit& init) {
  return std::unique_ptr<Kernel>(std::make_unique<QuantConvKernel>(init.node, false));
}

StatusOr<std::unique_ptr<Kernel>> MakeQLinearConvKernel(const KernelInit& init) {
  return std::unique_ptr<Kernel>(std::make_unique<QuantConvKernel>(init.node, true));
}

}  // namespace tessera
