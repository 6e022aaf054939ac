// MatMulInteger and QLinearMatMul: numpy.matmul over int8/uint8 with zero points.
//
// Where oneDNN's int8 matmul is exact (VNNI) and B has no batch dims, QuantGemm multiplies the raw values
// and folds the zero points in afterwards. Otherwise both operands are widened to int32 with their zero
// points subtracted and multiplied by the plain batched int32 GEMM (exact: |products| < 2^16, so K up to
// 2^15 cannot overflow int32). A's zero point is a scalar or one per row of A (shape [M] or
// [batch..., M, 1]); B's is a scalar or one per column ([N] or [batch..., 1, N]). QLinearMatMul then
// requantizes: y = saturate(rint(acc * a_scale * b_scale / y_scale) + y_zero_point), with b_scale a scalar
// or one per column.
#include <memory>
#include <string>

#include "ops/cpu/matmul/matmul_batched.h"
#include "ops/cpu/matmul/matmul_inputs.h"
#include "ops/cpu/quantization/quant_common.h"
#include "ops/cpu/quantization/quant_family.h"
#include "ops/cpu/quantization/quant_gemm.h"
#include "ops/dispatch.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

int32_t LoadInt8Like(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kUInt8 ? int32_t{t.data<uint8_t>()[i]} : int32_t{t.data<int8_t>()[i]};
}

// The zero points of x (int8/uint8 matrices of [rows, cols]) as int32: 1 value, one per row (A) or column
// (B) shared by every matrix, or one per row/column of each matrix.
StatusOr<std::vector<int32_t>> ReadZeroPoints(const Tensor& x, const Tensor* zp, int64_t rows, int64_t cols,
                                              bool per_row, const char* what) {
  if (x.dtype() != DType::kUInt8 && x.dtype() != DType::kInt8) {
    return KernelContext::Error(std::string(what) + " must be uint8 or int8, got " + DTypeName(x.dtype()));
  }
  if (zp == nullptr) return std::vector<int32_t>{0};
  const int64_t matrices = rows * cols == 0 ? 0 : x.element_count() / (rows * cols);
  const int64_t per = per_row ? rows : cols, count = zp->element_count();
  if (zp->dtype() != x.dtype()) {
    return KernelContext::Error(std::string(what) + " zero point must have its dtype " + DTypeName(x.dtype()) +
                                ", got " + DTypeName(zp->dtype()));
  }
  if (count != 1 && count != per && count != matrices * per) {
    return KernelContext::Error(std::string(what) + " zero point " + ShapeToString(zp->shape()) +
                                " is neither a scalar nor one value per " + (per_row ? "row" : "column") + " of " +
                                ShapeToString(x.shape()));
  }
  std::vector<int32_t> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) values[static_cast<size_t>(i)] = ZeroPointAt(*zp, i);
  return values;
}

// x minus its zero points (as read by ReadZeroPoints), widened to int32.
std::vector<int32_t> WidenMinusZeroPoint(const Tensor& x, const std::vector<int32_t>& zp, int64_t rows, int64_t cols,
                                         bool per_row) {
  const int64_t total = x.element_count();
  const int64_t per = per_row ? rows : cols;
  const int64_t count = static_cast<int64_t>(zp.size());
  std::vector<int32_t> out(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    const int64_t r = (i / cols) % std::max<int64_t>(rows, 1), c = i % cols, mi = i / std::max<int64_t>(rows * cols, 1);
    const int64_t j = per_row ? r : c;
    const int64_t zi = count == 1 ? 0 : (count == per ? j : mi * per + j);
    out[static_cast<size_t>(i)] = LoadInt8Like(x, i) - zp[static_cast<size_t>(zi)];
  }
  return out;
}

// The int32 product of inputs a (0) and b (b_index) with optional zero points; fills `plan`. A B without
// batch dims goes through oneDNN (QuantGemm) where that is exact, the rest through the plain int32 GEMM.
StatusOr<std::vector<int32_t>> IntegerProduct(KernelContext& ctx, size_t a_zp_index, size_t b_index, size_t b_zp_index,
                                              QuantGemm& gemm, MatMulPlan& plan) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(b_index);
  TS_ASSIGN_OR_RETURN(plan, PlanMatMul(a.shape(), b.shape()));
  TS_ASSIGN_OR_RETURN(
      std::vector<int32_t> a_zp,
      ReadZeroPoints(a, ctx.has_input(a_zp_index) ? &ctx.input(a_zp_index) : nullptr, plan.m, plan.k, true, "input A"));
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> b_zp,
                      ReadZeroPoints(b, ctx.has_input(b_zp_index) ? &ctx.input(b_zp_index) : nullptr, plan.k, plan.n,
                                     false, "input B"));
  const int64_t rows = plan.batch_count() * plan.m;
  std::vector<int32_t> c(static_cast<size_t>(rows * plan.n), 0);
  if (c.empty() || plan.k == 0) return c;
  if (b.rank() <= 2 && DnnlInt8IsExact()) {
    // A's batch folds into its rows; per-row zero points shared by every matrix repeat per matrix.
    std::vector<int32_t> row_zp = a_zp;
    if (a_zp.size() > 1 && static_cast<int64_t>(a_zp.size()) != rows) {
      row_zp.resize(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) row_zp[static_cast<size_t>(r)] = a_zp[static_cast<size_t>(r % plan.m)];
    }
    TS_RETURN_IF_ERROR(gemm.Run(a.raw_data(), a.dtype(), rows, plan.k, row_zp, b.raw_data(), b.dtype(), plan.n, b_zp,
                                c.data(), ctx.pool().threads()));
    return c;
  }
  const std::vector<int32_t> a32 = WidenMinusZeroPoint(a, a_zp, plan.m, plan.k, true);
  const std::vector<int32_t> b32 = WidenMinusZeroPoint(b, b_zp, plan.k, plan.n, false);
  ReferenceBatchedMatMul<int32_t>(a32.data(), b32.data(), c.data(), plan, ctx.pool());
  return c;
}

Status MatMulInteger(KernelContext& ctx, QuantGemm& gemm) {
  TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1}, "MatMulInteger"));
  MatMulPlan plan;
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> c, IntegerProduct(ctx, 2, 1, 3, gemm, plan));
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
Status QLinearMatMul(KernelContext& ctx, QuantGemm& gemm) {
  TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {0, 1, 2, 3, 4, 5, 6, 7}, "QLinearMatMul"));
  MatMulPlan plan;
  TS_ASSIGN_OR_RETURN(std::vector<int32_t> c, IntegerProduct(ctx, 2, 3, 5, gemm, plan));
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
    multipliers[static_cast<size_t>(j)] =
        a_scale * b_scales[b_scales.size() == 1 ? 0 : static_cast<size_t>(j)] / y_scale;
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

// Holds the node's QuantGemm (its cached oneDNN primitives) between runs.
class QuantMatMulKernel : public Kernel {
 public:
  explicit QuantMatMulKernel(bool qlinear) : qlinear_(qlinear) {}
  Status Run(KernelContext& ctx) override { return qlinear_ ? QLinearMatMul(ctx, gemm_) : MatMulInteger(ctx, gemm_); }
  // The constant stays alive in the executor (HasOwnCopyOfConstant is false), so its pointer is stable.
  void SetConstantB(const Tensor& b) {
    constant_b_ = b;
    gemm_.SetConstantB(constant_b_.raw_data(), b.dtype(), b.dim(0), b.dim(1));
  }

 private:
  bool qlinear_;
  Tensor constant_b_;
  QuantGemm gemm_;
};

}  // namespace

namespace {

// A constant 2-D B (the weight of a dynamically quantized layer) is prepared once; see QuantGemm.
StatusOr<std::unique_ptr<Kernel>> MakeQuantMatMul(const KernelInit& init, bool qlinear) {
  auto kernel = std::make_unique<QuantMatMulKernel>(qlinear);
  const size_t b_index = qlinear ? 3 : 1;
  const bool given = b_index < init.node.inputs.size() && init.node.inputs[b_index] != kNoValue;
  const Tensor* b = given ? init.constant_input(b_index) : nullptr;
  if (b != nullptr && b->defined() && b->rank() == 2 && (b->dtype() == DType::kUInt8 || b->dtype() == DType::kInt8) &&
      DnnlInt8IsExact()) {
    kernel->SetConstantB(*b);
  }
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeMatMulIntegerKernel(const KernelInit& init) {
  return MakeQuantMatMul(init, false);
}

StatusOr<std::unique_ptr<Kernel>> MakeQLinearMatMulKernel(const KernelInit& init) {
  return MakeQuantMatMul(init, true);
}

}  // namespace tessera
