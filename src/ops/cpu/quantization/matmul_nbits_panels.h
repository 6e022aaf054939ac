// The accuracy_level 4 (int8 compute) form of a MatMulNBits weight: laid out once, at load, in panels of
// 16 output columns that the VNNI product (matmul_nbits_gemv_int8.cc) reads as one sequential stream.
//
// Panel p holds columns [16p, 16p + 16) (the last one padded with zero weights and zero scales). For each
// block g of K, in order, the panel has one record of record_bytes:
//   16 float scales, scale[16p + l, g] in lane l;
//   blob_size / 4 chunks of 64 bytes: chunk j, 32-bit lane l = bytes [4j, 4j + 4) of block g of column 16p + l.
// A vpdpbusd of chunk j against the activation bytes [4j, 4j + 4) of block g, broadcast to every lane,
// gives the 16 columns' partial dots at once: no horizontal sums, and one scale multiply per block for
// 16 columns. Zero points are either one constant (the default 8 / 128, or all equal), bytes
// [panels, k_blocks, 16] beside the records, or (float zero points) scale * zero_point floats in the same order.
//
// Packing replaces B, scales and zero_points: a kernel that packs holds the weight once.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/cpu/quantization/matmul_nbits_weights.h"

namespace tessera {

constexpr int64_t kNBitsPanelColumns = 16;

enum class NBitsPanelZero { kConstant, kBytes, kFloat };

struct NBitsPanels {
  int64_t K = 0, N = 0, bits = 4, block_size = 0, k_blocks = 0, blob_size = 0;
  int64_t panels = 0;        // ceil(N / 16)
  int64_t record_bytes = 0;  // 64 + 16 * blob_size
  NBitsPanelZero zero = NBitsPanelZero::kConstant;
  int32_t zero_constant = 8;              // kConstant: every zero point
  std::shared_ptr<Buffer> records;        // [panels, k_blocks] records, 64-byte aligned
  std::vector<uint8_t> zero_bytes;        // kBytes: [panels, k_blocks, 16]
  std::vector<float> scaled_zero;         // kFloat: [panels, k_blocks, 16] scale * zero_point
  const uint8_t* panel(int64_t p) const {
    return static_cast<const uint8_t*>(records->data()) + p * k_blocks * record_bytes;
  }
  // Bytes one product reads from the records and zero points.
  int64_t bytes() const {
    return panels * k_blocks * (record_bytes + (zero == NBitsPanelZero::kBytes ? 16 : 0) +
                                (zero == NBitsPanelZero::kFloat ? 64 : 0));
  }
};

// Whether the int8 product handles `w`: VNNI on this CPU, no g_idx, and blocks small enough that a block's
// int32 dot cannot overflow (255 * 127 * block_size < 2^31).
bool NBitsPanelsSupport(const NBitsWeights& w);

// Lays `w` out as panels (requires NBitsPanelsSupport). Fails only when memory runs out.
Status PackNBitsPanels(const NBitsWeights& w, NBitsPanels& out);

// Rows of A quantized to int8 per block of K (symmetric, scale amax / 127), laid out to meet the panels'
// bytes: for 4-bit weights byte b of block g pairs with q(a[2b]) in `even` and q(a[2b+1]) in `odd` (the
// low and high nibble); for 8-bit ones with q(a[b]) in `even`.
struct NBitsQuantizedRows {
  int rows = 0;
  int64_t row_bytes = 0;             // bytes per row of `even` / `odd`: k_blocks * blob_size
  std::vector<int8_t> even, odd;
  std::vector<float> scales;         // [rows, k_blocks] activation scale of each block
  std::vector<int32_t> int_sums;     // [rows, k_blocks] sum of the block's int8 values (zero-point term)
  std::vector<float> scaled_sums;    // [rows, k_blocks] scale * int_sums, for float zero points
};

// `a`: rows of k_blocks * block_size floats, zero past K. `out` may be reused from an earlier call of any
// shape: its buffers are resized, never shrunk, so decode steps do not allocate.
void QuantizeNBitsRows(const NBitsPanels& w, const float* a, int rows, NBitsQuantizedRows& out);

// y[r, n] = sum_k a[r, k] * W[n, k] for every row of `a` and the columns of panels [p0, p1); y has rows of
// y_stride floats. The weight is read once however many rows. Error: the rounding of A, at most
// amax(block) / 254 per activation, weighted by |q - zero_point| * scale.
void NBitsGemvInt8(const NBitsPanels& w, const NBitsQuantizedRows& a, int64_t p0, int64_t p1, float* y,
                   int64_t y_stride);

// AVX-512 VNNI (with F, BW and VL) on this CPU.
bool NBitsGemvInt8Available();

}  // namespace tessera
