// MatMulNBits weight encoding (see nbits_packing.h for the layout).
#include "compress/nbits_packing.h"

#include <algorithm>
#include <cmath>

namespace tessera::compress {
namespace {

// Writes `code` (< 2^bits) as element `index` of a packed row of `bits`-bit codes.
void PutCode(uint8_t* row, int64_t index, int bits, int code) {
  if (bits == 8) {
    row[index] = static_cast<uint8_t>(code);
    return;
  }
  uint8_t& byte = row[index / 2];
  if (index % 2 == 0) {
    byte = static_cast<uint8_t>((byte & 0xF0) | (code & 0x0F));
  } else {
    byte = static_cast<uint8_t>((byte & 0x0F) | ((code & 0x0F) << 4));
  }
}

int GetCode(const uint8_t* row, int64_t index, int bits) {
  if (bits == 8) return row[index];
  const uint8_t byte = row[index / 2];
  return index % 2 == 0 ? (byte & 0x0F) : (byte >> 4);
}

int64_t ZeroPointRowBytes(const NBitsPacked& p) { return (p.k_blocks * p.bits + 7) / 8; }

}  // namespace

NBitsPacked PackNBits(const float* w, int64_t K, int64_t N, bool w_is_nk, int bits, int64_t block_size,
                      bool symmetric) {
  NBitsPacked p;
  p.K = K;
  p.N = N;
  p.bits = bits;
  p.block_size = block_size;
  p.k_blocks = (K + block_size - 1) / block_size;
  p.blob_size = block_size * bits / 8;
  p.b.assign(static_cast<size_t>(N * p.k_blocks * p.blob_size), 0);
  p.scales.assign(static_cast<size_t>(N * p.k_blocks), 1.0f);
  if (!symmetric) p.zero_points.assign(static_cast<size_t>(N * ZeroPointRowBytes(p)), 0);
  const int max_code = (1 << bits) - 1, mid = 1 << (bits - 1);
  auto at = [&](int64_t n, int64_t k) { return w_is_nk ? w[n * K + k] : w[k * N + n]; };
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < p.k_blocks; ++g) {
      const int64_t k0 = g * block_size, k1 = std::min(K, k0 + block_size);
      float lo = 0.0f, hi = 0.0f;  // the range always holds 0, so 0 is exact
      for (int64_t k = k0; k < k1; ++k) {
        lo = std::min(lo, at(n, k));
        hi = std::max(hi, at(n, k));
      }
      float scale;
      int zero;
      if (symmetric) {
        scale = std::max(-lo, hi) / static_cast<float>(mid - 1);
        zero = mid;
      } else {
        scale = (hi - lo) / static_cast<float>(max_code);
        zero = scale > 0.0f ? std::clamp(static_cast<int>(std::lround(-lo / scale)), 0, max_code) : 0;
      }
      if (!(scale > 0.0f)) scale = 1.0f;  // an all-zero block: any scale reproduces it
      p.scales[static_cast<size_t>(n * p.k_blocks + g)] = scale;
      if (!symmetric) PutCode(&p.zero_points[static_cast<size_t>(n * ZeroPointRowBytes(p))], g, bits, zero);
      uint8_t* blob = &p.b[static_cast<size_t>((n * p.k_blocks + g) * p.blob_size)];
      for (int64_t i = 0; i < block_size; ++i) {
        const int64_t k = k0 + i;
        const int code = k < K ? std::clamp(static_cast<int>(std::lround(at(n, k) / scale)) + zero, 0, max_code) : zero;
        PutCode(blob, i, bits, code);
      }
    }
  }
  return p;
}

int QuantizedCode(const NBitsPacked& p, int64_t n, int64_t k) {
  const int64_t g = k / p.block_size;
  return GetCode(&p.b[static_cast<size_t>((n * p.k_blocks + g) * p.blob_size)], k % p.block_size,
                 static_cast<int>(p.bits));
}

int ZeroPointCode(const NBitsPacked& p, int64_t n, int64_t block) {
  if (p.zero_points.empty()) return 1 << (p.bits - 1);
  return GetCode(&p.zero_points[static_cast<size_t>(n * ZeroPointRowBytes(p))], block, static_cast<int>(p.bits));
}

std::vector<float> UnpackNBits(const NBitsPacked& p) {
  std::vector<float> w(static_cast<size_t>(p.K * p.N));
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t k = 0; k < p.K; ++k) {
      const int64_t g = k / p.block_size;
      w[static_cast<size_t>(k * p.N + n)] = static_cast<float>(QuantizedCode(p, n, k) - ZeroPointCode(p, n, g)) *
                                            p.scales[static_cast<size_t>(n * p.k_blocks + g)];
    }
  }
  return w;
}

}  // namespace tessera::compress
