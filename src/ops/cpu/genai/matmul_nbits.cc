// MatMulNBits (com.microsoft): Y = A @ dequant(B)^T (+ bias), B quantized block-wise along K.
//
// B uint8 [N, blocks, block_size * bits / 8] with two 4-bit values a byte, the lower index in the low
// nibble; scales float32 [N * blocks]; zero_points uint8 [N * ceil(blocks / 2)] packed the same way (each
// row padded to whole bytes), or float32 [N * blocks], or absent (8, the midpoint); dequant(q) =
// (q - zero_point) * scale. 4 bits only; g_idx (act-order) is refused.
// The weights are dequantized to float32 once when they are constant (every exported model), so memory is
// that of the float model and the product runs as a plain float dot-product loop: correct, not fast. A
// kernel computing on the packed nibbles is the next step for large int4 models.
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/genai/genai_kernels.h"

namespace tessera::genai_ops {

namespace {

struct NBitsShape {
  int64_t k = 0, n = 0, block = 0, blocks = 0;
};

StatusOr<std::vector<float>> Dequantize(const NBitsShape& s, const Tensor& b, const Tensor& scales, const Tensor* zp) {
  const int64_t blob = s.block / 2;
  if (b.dtype() != DType::kUInt8 || b.element_count() != s.n * s.blocks * blob) {
    return KernelContext::Error("B must be uint8 [N, blocks, block_size / 2] = [" + std::to_string(s.n) + ", " +
                                std::to_string(s.blocks) + ", " + std::to_string(blob) + "], got " +
                                ShapeToString(b.shape()));
  }
  if (scales.dtype() != DType::kFloat32 || scales.element_count() != s.n * s.blocks) {
    return KernelContext::Error("scales must be float32 with N * blocks = " + std::to_string(s.n * s.blocks) + " values");
  }
  const int64_t zp_row = (s.blocks + 1) / 2;
  const bool zp_float = zp && zp->dtype() == DType::kFloat32;
  if (zp && !((zp->dtype() == DType::kUInt8 && zp->element_count() == s.n * zp_row) ||
              (zp_float && zp->element_count() == s.n * s.blocks))) {
    return KernelContext::Error("zero_points must be uint8 [N * ceil(blocks / 2)] or float32 [N * blocks], got " +
                                std::string(DTypeName(zp->dtype())) + " " + ShapeToString(zp->shape()));
  }
  std::vector<float> w(static_cast<size_t>(s.n * s.k));
  const uint8_t* q = b.data<uint8_t>();
  const float* sc = scales.data<float>();
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t kb = 0; kb < s.blocks; ++kb) {
      float zero = 8.0f;
      if (zp_float) {
        zero = zp->data<float>()[n * s.blocks + kb];
      } else if (zp) {
        const uint8_t packed = zp->data<uint8_t>()[n * zp_row + kb / 2];
        zero = static_cast<float>(kb % 2 ? packed >> 4 : packed & 0x0F);
      }
      const float scale = sc[n * s.blocks + kb];
      const uint8_t* blob_data = q + (n * s.blocks + kb) * blob;
      for (int64_t i = 0; i < s.block && kb * s.block + i < s.k; ++i) {
        const uint8_t v = i % 2 ? blob_data[i / 2] >> 4 : blob_data[i / 2] & 0x0F;
        w[n * s.k + kb * s.block + i] = (static_cast<float>(v) - zero) * scale;
      }
    }
  }
  return w;
}

class MatMulNBitsKernel : public Kernel {
 public:
  MatMulNBitsKernel(NBitsShape shape, std::vector<float> weights) : shape_(shape), weights_(std::move(weights)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    if (a.dtype() != DType::kFloat32 || a.rank() < 1 || a.dim(a.rank() - 1) != shape_.k) {
      return KernelContext::Error("A must be float32 [..., K = " + std::to_string(shape_.k) + "], got " +
                                  ShapeToString(a.shape()));
    }
    if (ctx.has_input(4)) return Unimplemented("MatMulNBits with g_idx is not supported");
    std::vector<float> per_run;
    const float* w = weights_.data();
    if (weights_.empty()) {
      TS_ASSIGN_OR_RETURN(per_run, Dequantize(shape_, ctx.input(1), ctx.input(2), ctx.has_input(3) ? &ctx.input(3) : nullptr));
      w = per_run.data();
    }
    const float* bias = nullptr;
    if (ctx.has_input(5)) {
      if (ctx.input(5).dtype() != DType::kFloat32 || ctx.input(5).element_count() != shape_.n) {
        return KernelContext::Error("bias must be float32 [N]");
      }
      bias = ctx.input(5).data<float>();
    }
    Shape out_shape = a.shape();
    out_shape.back() = shape_.n;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, out_shape));
    const int64_t m = shape_.k ? a.element_count() / shape_.k : 0, n = shape_.n, k = shape_.k;
    const float* x = a.data<float>();
    float* out = y->data<float>();
    ctx.pool().ParallelFor(m * n, 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float* xr = x + (i / n) * k;
        const float* wr = w + (i % n) * k;
        float acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t e = 0; e < k; ++e) acc += xr[e] * wr[e];
        out[i] = acc + (bias ? bias[i % n] : 0.0f);
      }
    });
    return Status::Ok();
  }

 private:
  NBitsShape shape_;
  std::vector<float> weights_;  // [N, K]; empty when B, scales or zero_points are not constant
};

}  // namespace

KernelFactory MakeMatMulNBitsFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    NBitsShape s;
    s.k = init.node.GetInt("K", 0);
    s.n = init.node.GetInt("N", 0);
    s.block = init.node.GetInt("block_size", 0);
    const int64_t bits = init.node.GetInt("bits", 4);
    if (bits != 4) return Unimplemented(init.node.Describe() + ": only 4-bit MatMulNBits is supported, got bits " + std::to_string(bits));
    if (s.k <= 0 || s.n <= 0 || s.block < 16 || (s.block & (s.block - 1)) != 0) {
      return InvalidArgument(init.node.Describe() + ": K and N must be positive and block_size a power of two >= 16");
    }
    s.blocks = (s.k + s.block - 1) / s.block;
    std::vector<float> weights;
    const Tensor* b = init.constant_input(1);
    const Tensor* scales = init.constant_input(2);
    const bool zp_given = init.node.inputs.size() > 3 && init.node.inputs[3] != kNoValue;
    const Tensor* zp = zp_given ? init.constant_input(3) : nullptr;
    if (b && scales && (!zp_given || zp)) {
      auto w = Dequantize(s, *b, *scales, zp);
      if (!w.ok()) return w.status().WithContext(init.node.Describe());
      weights = std::move(w).value();
    }
    return std::unique_ptr<Kernel>(new MatMulNBitsKernel(s, std::move(weights)));
  };
}

}  // namespace tessera::genai_ops
