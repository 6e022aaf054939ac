// MatMulInteger and QLinearMatMul: numpy.matmul over int8/uint8 with zero points.
//
// Both operands are widened to int32 with their zero points subtracted, then multiplied by the plain
// batched int32 GEMM (exact: |products| < 2^16, so K up to 2^15 cannot overflow int32). A's zero point is a
// scalar or one per row of A (shape [M] or [batch..., M, 1]); B's is a scalar or one per column ([N] or
// [batch..., 1, N]). QLinearMatMul then requantizes: y = saturate(rint(acc * a_scale * b_scale / y_scale) +
// y_zero_point), with b_scale scalar or per column.
#include <memory>
#include <string>

#include "ops/cpu/matmul_batched.h"
#include "ops/cpu/quant_common.h"
#include "ops/dispatch.h"
#include "ops/cpu/quant_family.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

int32_t LoadInt8Like(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kUInt8 ? int32_t{t.data<uint8_t>()[i]} : int32_t{t.data<int8_t>()[i]};
}

// x (int8/uint8, matrices of [rows, cols]) minus its zero point, as int32. `per_row` picks whether a
// non-scalar zero point indexes rows (A) or columns (B); it may also differ per matrix of the batch.
StatusOr<std::vector<int32_t>> WidenMinusZeroPoint(const Tensor& x, const Tensor* zp, int64_t rows, int64_t cols,
                                                   bool per_row, const char* what) {
  if (x.dtype() != DType::kUInt8 && x.dtype() != DType::kInt8) {
    return KernelContext::Error(std::string(what) + " must be uint8 or int8, got " + DTypeName(x.dtype()));
  }
  const int64_t total = x.element_count();
  const int64_t matrices = rows * cols == 0 ? 0 : total / (rows * cols);
  const int64_t per = per_row ? rows : cols;
  int64_t zp_count = 0;
  if (zp != nullptr) {
    zp_count = zp->element_count();
    if (zp->dtype() != x.dtype()) {
      return KernelContext::Error(std::string(what) + " zero point must have its dtype " + DTypeName(x.dtype()) +
                                  ", got " + DTypeName(zp->dtype()));
    }
    if (zp_count != 1 && zp_count != per && zp_count != matrices * per) {
      return KernelContext::Error(std::string(what) + " zero point " + ShapeToString(zp->shape()) +
                                  " is neither a scalar nor one value per " + (per_row ? "row" : "column") +
                                  " of " + ShapeToString(x.shape()));
    }
  }
  std::vector<int32_t> out(static_cast<size_t>(total));
  for (int64_t mi = 0; mi < matrices; ++mi) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t i = (mi * rows + r) * cols + c;
        int32_t z = 0;
        if (zp_count == 1) {
          z = ZeroPointAt(*zp, 0);
        } else if (zp_count > 1) {
          const int64_t j = per_row ? r : c;
          z = ZeroPointAt(*zp, zp_count == per ? j : mi * per + j);
        }
        out[static_cast<size_t>(i)] = LoadInt8Like(x, i) - z;
      }
    }
  }
  return out;
}

// The int32 product of inputs a (0) and b (b_index) with optional zero points; fills `plan`.
StatusOr<std::vector<int32_t>> IntegerProduct(KernelContext& ctx, size_t a_zp_index, size_t b_index,
                                              size_t b_zp_index, MatMulPlan& plan) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(b_index);
  TS_ASSIGN_OR_RETURN(plan, PlanMatMul(a.shape(), b.shape()));
  const int64_t a_rows = a.rank() == 1 ? 1 : plan.m;
  const int64_t b_cols = b.rank() == 1 ? 1 : plan.n;
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> a32,
                      WidenMinusZeroPoint(a, ctx.has_input(a_zp_index) ? &ctx.input(a_zp_index) : nullptr, a_rows,
                                          plan.k, true, "input A"));
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> b32,
                      WidenMinusZeroPoint(b, ctx.has_input(b_zp_index) ? &ctx.input(b_zp_index) : nullptr, plan.k,
                                          b_cols, false, "input B"));
  std::vector<int32_t> c(static_cast<size_t>(plan.batch_count() * plan.m * plan.n), 0);
  if (!c.empty() && plan.k > 0) ReferenceBatchedMatMul<int32_t>(a32.data(), b32.data(), c.data(), plan, ctx.pool());
  return c;
}

Status MatMulInteger(KernelContext& ctx) {
  MatMulPlan plan;
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> c, IntegerProduct(ctx, 2, 1, 3, plan));
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kInt32, plan.out_shape));
  std::copy(c.begin(), c.end(), y->data<int32_t>());
  return Status::Ok();
}

StatusOr<float> ScalarScale(const Tensor& t, const char* what) {
  if (t.element_count() != 1) {
    return KernelContext::Error(std::string(what) + " must be a scalar, got " + ShapeToString(t.shape()));
  }
  TS_ASSIGN_OR_RETURN(std::vector<float> v, ReadFloatValues(t, what));
  return v[0];
}

// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
Status QLinearMatMul(KernelContext& ctx) {
  for (size_t i : {2u, 5u, 7u}) {
    if (!ctx.has_input(i)) return KernelContext::Error("QLinearMatMul needs input " + std::to_string(i) + " (a zero point)");
  }
  MatMulPlan plan;
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> c, IntegerProduct(ctx, 2, 3, 5, plan));
  TS_ASSIGN_OR_RETURN(float a_scale, ScalarScale(ctx.input(1), "QLinearMatMul a_scale"));
  TS_ASSIGN_OR_RETURN(float y_scale, ScalarScale(ctx.input(6), "QLinearMatMul y_scale"));
  TS_ASSIGN_OR_RETURN(std::vector<float> b_scales, ReadFloatValues(ctx.input(4), "QLinearMatMul b_scale"));
  if (b_scales.size() != 1 && static_cast<int64_t>(b_scales.size()) != plan.n) {
    return KernelContext::Error("QLinearMatMul b_scale " + ShapeToString(ctx.input(4).shape()) +
                                " must be a scalar or one value per column (" + std::to_string(plan.n) + ")");
  }
  const Tensor& y_zp_t = ctx.input(7);
  if (y_zp_t.element_count() != 1) {
    return KernelContext::Error("QLinearMatMul y_zero_point must be a scalar, got " + ShapeToString(y_zp_t.shape()));
  }
  const int32_t y_zp = ZeroPointAt(y_zp_t, 0);
  std::vector<float> multipliers(static_cast<size_t>(plan.n));
  for (int64_t j = 0; j < plan.n; ++j) {
    multipliers[static_cast<size_t>(j)] = a_scale * b_scales[b_scales.size() == 1 ? 0 : static_cast<size_t>(j)] / y_scale;
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, y_zp_t.dtype(), plan.out_shape));
  auto requantize = [&](auto tag) {
    using Q = decltype(tag);
    Q* yd = y->data<Q>();
    for (size_t i = 0; i < c.size(); ++i) {
      yd[i] = QuantizeValue<Q>(static_cast<float>(c[i]) * multipliers[i % static_cast<size_t>(plan.n)], y_zp);
    }
    return Status::Ok();
  };
  if (y_zp_t.dtype() == DType::kUInt8) return requantize(uint8_t{});
  if (y_zp_t.dtype() == DType::kInt8) return requantize(int8_t{});
  return UnsupportedDType("QLinearMatMul y_zero_point", y_zp_t.dtype());
}

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeMatMulIntegerKernel(const KernelInit&) {
  return std::unique_ptr<Kernel>(std::make_unique<FunctionKernel>(MatMulInteger));
}

StatusOr<std::unique_ptr<Kernel>> MakeQLinearMatMulKernel(const KernelInit&) {
  return std::unique_ptr<Kernel>(std::make_unique<FunctionKernel>(QLinearMatMul));
}

}  // namespace tessera
