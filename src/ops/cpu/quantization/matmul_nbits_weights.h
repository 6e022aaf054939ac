// The blockwise-quantized weight of com.microsoft MatMulNBits, validated and read once into the form the
// kernels use (matmul_nbits_weights.cc builds it, matmul_nbits_gemv.cc multiplies by it;
// matmul_nbits_panels.h repacks it for the int8 product).
//
// The weight is W[n, k] (the transpose of MatMul's B): for each output column n, K values quantized in
// blocks of `block_size` along k, each block with its own scale and zero point:
//   W[n, k] = (q[n, k] - zero_point[n, g]) * scale[n, g],   g = k / block_size (or g_idx[k]).
// q is stored as B [N, k_blocks, blob_size] uint8, blob_size = block_size * bits / 8; 4-bit values are
// two per byte, the low nibble first. The last block of a K that is not a multiple of block_size is
// padded; the padding is never read as a weight (A is zero-padded to match).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/kernel.h"

namespace tessera {

struct NBitsAttributes {
  int64_t K = 0, N = 0, bits = 4, block_size = 0, accuracy_level = 0;
};

// Checks the attributes of a MatMulNBits node: K, N > 0, bits 4 or 8, block_size a power of two >= 16.
StatusOr<NBitsAttributes> ReadNBitsAttributes(const Node& node);

struct NBitsWeights {
  int64_t K = 0, N = 0, bits = 4, block_size = 0;
  int64_t k_blocks = 0;   // ceil(K / block_size)
  int64_t blob_size = 0;  // bytes per block
  Tensor q_tensor;        // B, kept alive: q points into it
  const uint8_t* q = nullptr;
  std::vector<float> scales;       // [N, k_blocks]
  std::vector<float> scaled_zero;  // [N, k_blocks]: scale * zero_point, subtracted times the block's sum of A
  // [N, k_blocks]: the zero points as bytes when every one is an integer in [0, 255] (packed or default
  // ones; not float zero points): the int8 product reads these, a quarter of scaled_zero's bytes.
  std::vector<uint8_t> zero_bytes;
  std::vector<int32_t> g_idx;      // [K] block of each k; empty when it is k / block_size (the usual case)
  // Bytes of quantized weight read by one product (B itself, for throughput reports).
  int64_t q_bytes() const { return N * k_blocks * blob_size; }
};

// Validates B, scales and the optional zero_points and g_idx (nullptr when absent) against the attributes
// and reads them into `out`. Errors name the input at fault.
Status BuildNBitsWeights(const NBitsAttributes& attrs, const Tensor& b, const Tensor& scales, const Tensor* zero_points,
                         const Tensor* g_idx, NBitsWeights& out);

// Writes W[n, :] for n in [n0, n1) as float rows of `row_stride` >= K elements into `out`.
void DequantizeNBitsRows(const NBitsWeights& w, int64_t n0, int64_t n1, float* out, int64_t row_stride);

// y[r, n] = sum_k a[r, k] * W[n, k] for r < rows (at most kNBitsGemvMaxRows) and n in [n0, n1). `a` holds
// rows of k_blocks * block_size floats, zero past K; a_block_sums [rows, k_blocks] the sum of each block
// of each row; y has rows of `y_stride` floats. Requires w.g_idx empty. Uses AVX-512 when the CPU has it.
constexpr int kNBitsGemvMaxRows = 4;
void NBitsGemv(const NBitsWeights& w, const float* a, const float* a_block_sums, int rows, int64_t n0, int64_t n1,
               float* y, int64_t y_stride);
// The portable version of NBitsGemv, which the AVX-512 one is tested against.
void NBitsGemvScalar(const NBitsWeights& w, const float* a, const float* a_block_sums, int rows, int64_t n0,
                     int64_t n1, float* y, int64_t y_stride);
// Whether NBitsGemv takes the AVX-512 path on this CPU.
bool NBitsGemvUsesAvx512();

// The int8 product of accuracy_level 4 reads the weight repacked: matmul_nbits_panels.h.

}  // namespace tessera
