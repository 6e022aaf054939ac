// Staging, views, KV-cache concatenation and mask conversion for the attention ops.
#include "ops/cpu/attention/attention_tensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/half.h"

namespace tessera {

StatusOr<Tensor> AttentionFloat32(const Tensor& t, const char* what) {
  if (t.dtype() == DType::kFloat32) return t;
  if (t.dtype() != DType::kFloat16 && t.dtype() != DType::kBFloat16) {
    return KernelContext::Error(std::string(what) + " must be float32, float16 or bfloat16, got " +
                                DTypeName(t.dtype()));
  }
  TS_ASSIGN_OR_RETURN(Tensor f, Tensor::AllocateUninitialized(DType::kFloat32, t.shape()));
  const uint16_t* src = static_cast<const uint16_t*>(t.raw_data());
  float* dst = f.data<float>();
  const int64_t n = t.element_count();
  if (t.dtype() == DType::kFloat16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = HalfToFloat(src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = BFloat16ToFloat(src[i]);
  }
  return f;
}

void StoreFromFloat32(const Tensor& value, Tensor& out) {
  const float* src = value.data<float>();
  const int64_t n = value.element_count();
  if (out.dtype() == DType::kFloat32) {
    if (out.raw_data() != value.raw_data()) std::memcpy(out.raw_data(), src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  uint16_t* dst = static_cast<uint16_t*>(out.raw_data());
  if (out.dtype() == DType::kFloat16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = FloatToHalf(src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = FloatToBFloat16(src[i]);
  }
}

StatusOr<Tensor> AttentionOutputStorage(KernelContext& ctx, size_t i, DType dtype, const Shape& shape, bool zero) {
  if (dtype == DType::kFloat32 && ctx.wants_output(i)) {
    TS_ASSIGN_OR_RETURN(Tensor * out,
                        zero ? ctx.AllocateOutput(i, dtype, shape) : ctx.AllocateUninitializedOutput(i, dtype, shape));
    return *out;
  }
  return zero ? Tensor::Allocate(DType::kFloat32, shape) : Tensor::AllocateUninitialized(DType::kFloat32, shape);
}

Status FinishAttentionOutput(KernelContext& ctx, size_t i, DType dtype, const Tensor& value) {
  if (dtype == DType::kFloat32 && ctx.wants_output(i)) return Status::Ok();  // computed in place
  if (i > 0 && !ctx.wants_output(i)) return Status::Ok();
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(i, dtype, value.shape()));
  StoreFromFloat32(value, *out);
  return Status::Ok();
}

StatusOr<AttentionBias> KeyPaddingBias(const Tensor& mask, int64_t batch, int64_t q_rows, int64_t kv_rows, float filter,
                                       const char* what, Tensor& storage) {
  if (mask.dtype() != DType::kInt32) {
    return KernelContext::Error(std::string(what) + " must be int32, got " + DTypeName(mask.dtype()));
  }
  const Shape& s = mask.shape();
  const bool lengths = s == Shape{batch}, ranges = s == Shape{2 * batch};
  const bool per_query = s == Shape{batch, q_rows, kv_rows};
  if (!lengths && !ranges && !per_query && s != Shape{batch, kv_rows}) {
    return KernelContext::Error(std::string(what) + " of shape " + ShapeToString(s) + " is none of [batch] = [" +
                                std::to_string(batch) + "], [2 * batch], [batch, total] = [" + std::to_string(batch) +
                                ", " + std::to_string(kv_rows) + "] or [batch, seq, total]");
  }
  const int64_t rows = per_query ? q_rows : 1;
  TS_ASSIGN_OR_RETURN(storage, Tensor::AllocateUninitialized(DType::kFloat32, {batch, rows, kv_rows}));
  const int32_t* m = mask.data<int32_t>();
  float* dst = storage.data<float>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < kv_rows; ++j) {
        bool keep;
        if (lengths)
          keep = j < m[b];
        else if (ranges)
          keep = j < m[b] && j >= m[batch + b];
        else
          keep = m[(b * rows + r) * kv_rows + j] != 0;
        dst[(b * rows + r) * kv_rows + j] = keep ? 0.0f : filter;
      }
    }
  }
  return AttentionBias{dst, rows * kv_rows, 0, per_query ? kv_rows : 0, 1};
}

StatusOr<AttentionBias> SumAttentionBiases(const AttentionBias& a, const AttentionBias& b, int64_t batch, int64_t heads,
                                           int64_t q_rows, int64_t kv_rows, Tensor& storage) {
  TS_ASSIGN_OR_RETURN(storage, Tensor::AllocateUninitialized(DType::kFloat32, {batch, heads, q_rows, kv_rows}));
  float* dst = storage.data<float>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t r = 0; r < q_rows; ++r) {
        const float* ra = a.data + n * a.batch_stride + h * a.head_stride + r * a.row_stride;
        const float* rb = b.data + n * b.batch_stride + h * b.head_stride + r * b.row_stride;
        for (int64_t j = 0; j < kv_rows; ++j) *dst++ = ra[j * a.key_stride] + rb[j * b.key_stride];
      }
    }
  }
  return AttentionBias{storage.data<float>(), heads * q_rows * kv_rows, q_rows * kv_rows, kv_rows, 1};
}

AttentionInput ViewRowsOfHeads(const float* data, int64_t rows, int64_t row_width, int64_t head_dim, int64_t column) {
  return {data + column, rows * row_width, head_dim, row_width};
}

AttentionInput ViewHeadsOfRows(const float* data, int64_t heads, int64_t rows, int64_t head_dim) {
  return {data, heads * rows * head_dim, rows * head_dim, head_dim};
}

AttentionOutput OutputRowsOfHeads(float* data, int64_t rows, int64_t heads, int64_t head_dim) {
  return {data, rows * heads * head_dim, head_dim, heads * head_dim};
}

AttentionOutput OutputHeadsOfRows(float* data, int64_t heads, int64_t rows, int64_t head_dim) {
  return {data, heads * rows * head_dim, rows * head_dim, head_dim};
}

void ConcatKvCache(const float* past, int64_t past_rows, const AttentionInput& fresh, int64_t fresh_rows, int64_t batch,
                   int64_t heads, int64_t dim, float* present) {
  const int64_t total = past_rows + fresh_rows;
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      float* dst = present + (b * heads + h) * total * dim;
      if (past_rows > 0)
        std::memcpy(dst, past + (b * heads + h) * past_rows * dim, row_bytes * static_cast<size_t>(past_rows));
      const float* src = fresh.data + b * fresh.batch_stride + h * fresh.head_stride;
      for (int64_t r = 0; r < fresh_rows; ++r)
        std::memcpy(dst + (past_rows + r) * dim, src + r * fresh.row_stride, row_bytes);
    }
  }
}

StatusOr<AttentionBias> BroadcastAttentionBias(const Tensor& mask, int64_t batch, int64_t heads, int64_t q_rows,
                                               int64_t kv_rows, const char* what, Tensor& storage) {
  const int64_t target[4] = {batch, heads, q_rows, kv_rows};
  const int64_t rank = mask.rank();
  auto bad = [&] {
    return KernelContext::Error(
        std::string(what) + " of shape " + ShapeToString(mask.shape()) +
        " does not broadcast to [batch, heads, q_rows, kv_rows] = " + ShapeToString(Shape(target, target + 4)));
  };
  if (rank < 1 || rank > 4) return bad();
  int64_t dims[4] = {1, 1, 1, 1};
  for (int64_t i = 0; i < rank; ++i) dims[4 - rank + i] = mask.dim(i);
  for (int i = 0; i < 4; ++i) {
    if (dims[i] != 1 && dims[i] != target[i]) return bad();
  }
  if (mask.dtype() == DType::kBool) {
    TS_ASSIGN_OR_RETURN(storage, Tensor::AllocateUninitialized(DType::kFloat32, mask.shape()));
    const bool* src = mask.data<bool>();
    float* dst = storage.data<float>();
    for (int64_t i = 0; i < mask.element_count(); ++i) dst[i] = src[i] ? 0.0f : -std::numeric_limits<float>::infinity();
  } else {
    TS_ASSIGN_OR_RETURN(storage, AttentionFloat32(mask, what));
  }
  int64_t strides[4];
  int64_t step = 1;
  for (int i = 3; i >= 0; --i) {
    strides[i] = dims[i] == 1 ? 0 : step;
    step *= dims[i];
  }
  return AttentionBias{storage.data<float>(), strides[0], strides[1], strides[2], strides[3]};
}

StatusOr<AttentionBias> FusedConditionAndMask(KernelContext& ctx, int64_t batch, int64_t heads, int64_t q_rows,
                                              int64_t kv_rows, FusedBiasStorage& storage) {
  AttentionBias cond, mask;
  if (ctx.input_count() > 3 && ctx.has_input(3)) {
    if (ctx.input(3).dtype() != DType::kBool) return KernelContext::Error("condition must be bool");
    TS_ASSIGN_OR_RETURN(cond, BroadcastAttentionBias(ctx.input(3), batch, heads, q_rows, kv_rows, "condition",
                                                     storage.condition));
  }
  if (ctx.input_count() > 4 && ctx.has_input(4)) {
    if (ctx.input(4).dtype() == DType::kBool) return KernelContext::Error("mask must be a float tensor");
    TS_ASSIGN_OR_RETURN(mask,
                        BroadcastAttentionBias(ctx.input(4), batch, heads, q_rows, kv_rows, "mask", storage.mask));
  }
  if (cond.data && mask.data) return SumAttentionBiases(cond, mask, batch, heads, q_rows, kv_rows, storage.sum);
  return cond.data ? cond : mask;
}

}  // namespace tessera
