// Blockwise 4/8-bit quantization of a MatMul weight into com.microsoft MatMulNBits' storage, and back.
//
// MatMulNBits (ONNX Runtime contrib op, domain com.microsoft, since version 1) computes Y = A x W^T with
// W[n, k] = (q[n, k] - zero_point[n, g]) * scale[n, g] for block g = k / block_size. Its inputs:
//   B            uint8 [N, k_blocks, blob_size], blob_size = block_size * bits / 8; 4-bit codes two per
//                byte, the low nibble holding the even k. The last block of a K that is not a multiple of
//                block_size is padded with the zero point's code (the padding multiplies zeros of A).
//   scales       float [N * k_blocks]
//   zero_points  uint8 [N * ceil(k_blocks * bits / 8)]: 8-bit one per byte; 4-bit two per byte, low nibble
//                first, each row of N padded to a whole byte. Absent means the midpoint 2^(bits-1).
// Asymmetric blocks map [min(block, 0), max(block, 0)] onto [0, 2^bits - 1]; symmetric ones map
// [-amax, amax] onto [-(2^(bits-1) - 1), 2^(bits-1) - 1] around the implicit midpoint and write no zero
// points. The encoder here is the inverse of src/ops/cpu/quantization/matmul_nbits_weights.cc.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::compress {

struct NBitsPacked {
  int64_t K = 0, N = 0, bits = 4, block_size = 32;
  int64_t k_blocks = 0, blob_size = 0;
  std::vector<uint8_t> b;            // [N, k_blocks, blob_size]
  std::vector<float> scales;         // [N * k_blocks]
  std::vector<uint8_t> zero_points;  // [N * ceil(k_blocks * bits / 8)]; empty when symmetric
};

// Quantizes W. `w` holds K x N floats, as MatMul's B [K, N] (row-major) when `w_is_nk` is false or as
// Gemm's transposed B [N, K] when true. Requires bits 4 or 8 and block_size a power of two >= 16
// (QuantizeOptions are validated before this is reached).
NBitsPacked PackNBits(const float* w, int64_t K, int64_t N, bool w_is_nk, int bits, int64_t block_size, bool symmetric);

// The weight `packed` stands for, as MatMul's B [K, N] (row-major).
std::vector<float> UnpackNBits(const NBitsPacked& packed);

// The code of (n, k) and the zero point of (n, block), as MatMulNBits reads them.
int QuantizedCode(const NBitsPacked& packed, int64_t n, int64_t k);
int ZeroPointCode(const NBitsPacked& packed, int64_t n, int64_t block);

}  // namespace tessera::compress
