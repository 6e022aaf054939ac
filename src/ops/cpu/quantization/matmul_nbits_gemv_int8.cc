// The decode-time product of MatMulNBits at accuracy_level 4 (the attribute's "int8 compute" level):
// A is quantized to int8 per block of K, with the weight's own blocks, and multiplied by the packed
// weight with AVX-512 VNNI (vpdpbusd: unsigned weight bytes times signed activation bytes, four products
// summed per 32-bit lane). The float path (matmul_nbits_gemv.cc) widens every weight to a float and is
// bound by those conversions at about a quarter of this machine's read bandwidth; here 64 weight bytes
// (128 four-bit weights) cost two masks, one shift and two vpdpbusd per row of A.
//
// For 4-bit weights byte b of a row holds weights 2b (low nibble) and 2b+1 (high nibble), so A is laid
// out as two byte streams, q(a[2b]) and q(a[2b+1]), that line up with the weight bytes: the low nibbles
// meet the first, the high nibbles the second. For 8-bit weights there is one stream, q(a[b]).
//
// Each 32-bit lane of a 64-byte chunk falls inside one block (blocks are >= 8 bytes), so a chunk's lane
// sums are scaled lane by lane: weight scale of the lane's block (expanded by a permute of the chunk's
// block scales) times the activation scale of that block (expanded once per call into lane_scales), then
// accumulated in float. The zero point term, scale * zp * sum(a over the block), uses the exact float
// block sums of A, as the float path does.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

// See matmul_nbits_gemv.cc: GCC 12 warns inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ops/cpu/quantization/matmul_nbits_weights.h"

// The ISA of every function here; the build assumes no -march, NBitsGemvInt8Available() checks the CPU.
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace tessera {
namespace {

constexpr int64_t kChunkBytes = 64;
constexpr int kLanes = 16;

int64_t RowBytes(const NBitsWeights& w) { return w.k_blocks * w.blob_size; }

// sum over blocks g of scaled_zero[n, g] * block_sums[g].
VNNI_TARGET float ZeroPointTerm(const float* scaled_zero, const float* block_sums, int64_t blocks) {
  __m512 acc = _mm512_setzero_ps();
  int64_t g = 0;
  for (; g + kLanes <= blocks; g += kLanes) {
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(scaled_zero + g), _mm512_loadu_ps(block_sums + g), acc);
  }
  if (g < blocks) {
    const __mmask16 m = static_cast<__mmask16>((1u << (blocks - g)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, scaled_zero + g), _mm512_maskz_loadu_ps(m, block_sums + g), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// The same term from byte zero points: sum over g of scale[g] * zero[g] * block_sums[g].
VNNI_TARGET float ZeroPointTerm(const float* scales, const uint8_t* zero, const float* block_sums, int64_t blocks) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t g = 0; g < blocks; g += kLanes) {
    const int64_t left = std::min<int64_t>(kLanes, blocks - g);
    const __mmask16 m = static_cast<__mmask16>((1u << left) - 1);
    const __m512 z = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, zero + g)));
    const __m512 sz = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, scales + g), z);
    acc = _mm512_fmadd_ps(sz, _mm512_maskz_loadu_ps(m, block_sums + g), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// One output column n for rows [r0, r0 + MR) of A.
template <int MR, int BITS>
VNNI_TARGET void GemvInt8Column(const NBitsWeights& w, const NBitsQuantizedRows& a, int r0, __m512i lane_block,
                                int64_t n, float* y, int64_t y_stride) {
  const int64_t row_bytes = RowBytes(w);
  const int64_t chunks = a.chunks;
  const int64_t blocks_per_chunk = std::max<int64_t>(1, kChunkBytes / w.blob_size);
  const uint8_t* q = w.q + n * row_bytes;
  const float* s = w.scales.data() + n * w.k_blocks;
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  __m512 acc[MR];
  for (int r = 0; r < MR; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t off = c * kChunkBytes;
    const __m512i wq = off + kChunkBytes <= row_bytes
                           ? _mm512_loadu_si512(q + off)
                           : _mm512_maskz_loadu_epi8((__mmask64{1} << (row_bytes - off)) - 1, q + off);
    const int64_t block0 = off / w.blob_size;
    __m512 sw;
    if (blocks_per_chunk == 1) {
      sw = _mm512_set1_ps(s[block0]);
    } else {
      const int64_t present = std::min(blocks_per_chunk, w.k_blocks - block0);
      const __mmask16 m = static_cast<__mmask16>((1u << present) - 1);
      sw = _mm512_permutexvar_ps(lane_block, _mm512_maskz_loadu_ps(m, s + block0));
    }
    if constexpr (BITS == 4) {
      const __m512i lo = _mm512_and_si512(wq, nibble);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wq, 4), nibble);
      for (int r = 0; r < MR; ++r) {
        const int8_t* even = a.even.data() + (r0 + r) * a.row_stride + off;
        const int8_t* odd = a.odd.data() + (r0 + r) * a.row_stride + off;
        __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(even));
        d = _mm512_dpbusd_epi32(d, hi, _mm512_loadu_si512(odd));
        const __m512 scale =
            _mm512_mul_ps(sw, _mm512_loadu_ps(a.lane_scales.data() + ((r0 + r) * chunks + c) * kLanes));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), scale, acc[r]);
      }
    } else {
      for (int r = 0; r < MR; ++r) {
        const int8_t* qa = a.even.data() + (r0 + r) * a.row_stride + off;
        const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, _mm512_loadu_si512(qa));
        const __m512 scale =
            _mm512_mul_ps(sw, _mm512_loadu_ps(a.lane_scales.data() + ((r0 + r) * chunks + c) * kLanes));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), scale, acc[r]);
      }
    }
  }
  for (int r = 0; r < MR; ++r) {
    const float* sums = a.block_sums.data() + (r0 + r) * w.k_blocks;
    const float zero_term = w.zero_bytes.empty()
                                ? ZeroPointTerm(w.scaled_zero.data() + n * w.k_blocks, sums, w.k_blocks)
                                : ZeroPointTerm(s, w.zero_bytes.data() + n * w.k_blocks, sums, w.k_blocks);
    y[(r0 + r) * y_stride + n] = _mm512_reduce_add_ps(acc[r]) - zero_term;
  }
}

template <int MR>
VNNI_TARGET void GemvInt8Group(const NBitsWeights& w, const NBitsQuantizedRows& a, int r0, __m512i lane_block,
                               int64_t n, float* y, int64_t y_stride) {
  if (w.bits == 4) {
    GemvInt8Column<MR, 4>(w, a, r0, lane_block, n, y, y_stride);
  } else {
    GemvInt8Column<MR, 8>(w, a, r0, lane_block, n, y, y_stride);
  }
}

// Every row of A against columns [n0, n1): column by column, so one column's weights (K/2 bytes) stay in
// L1 while each group of 4 rows of A reads them; the weight is read from memory once however many rows.
VNNI_TARGET void GemvInt8AllRows(const NBitsWeights& w, const NBitsQuantizedRows& a, int64_t n0, int64_t n1, float* y,
                                 int64_t y_stride) {
  // Lane l of a chunk covers weight bytes [4l, 4l + 4): block (4l / blob_size) of the chunk's first block.
  alignas(64) int32_t lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = w.blob_size >= kChunkBytes ? 0 : static_cast<int32_t>(4 * l / w.blob_size);
  const __m512i lane_block = _mm512_load_si512(lanes);
  for (int64_t n = n0; n < n1; ++n) {
    int r0 = 0;
    for (; r0 + 4 <= a.rows; r0 += 4) GemvInt8Group<4>(w, a, r0, lane_block, n, y, y_stride);
    switch (a.rows - r0) {
      case 1:
        GemvInt8Group<1>(w, a, r0, lane_block, n, y, y_stride);
        break;
      case 2:
        GemvInt8Group<2>(w, a, r0, lane_block, n, y, y_stride);
        break;
      case 3:
        GemvInt8Group<3>(w, a, r0, lane_block, n, y, y_stride);
        break;
      default:
        break;
    }
  }
}

}  // namespace

bool NBitsGemvInt8Available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return has;
}

void QuantizeNBitsRows(const NBitsWeights& w, const float* a, int rows, NBitsQuantizedRows& out) {
  const int64_t width = w.k_blocks * w.block_size;  // floats per row of `a`
  const int64_t row_bytes = RowBytes(w);
  out.rows = rows;
  out.chunks = (row_bytes + kChunkBytes - 1) / kChunkBytes;
  out.row_stride = out.chunks * kChunkBytes;
  out.even.assign(static_cast<size_t>(rows * out.row_stride), 0);
  out.odd.assign(w.bits == 4 ? out.even.size() : 0, 0);
  out.lane_scales.assign(static_cast<size_t>(rows * out.chunks * kLanes), 0.0f);
  out.block_sums.assign(static_cast<size_t>(rows * w.k_blocks), 0.0f);
  std::vector<float> block_scale(static_cast<size_t>(w.k_blocks));
  for (int r = 0; r < rows; ++r) {
    const float* ar = a + r * width;
    int8_t* even = out.even.data() + r * out.row_stride;
    int8_t* odd = w.bits == 4 ? out.odd.data() + r * out.row_stride : nullptr;
    for (int64_t g = 0; g < w.k_blocks; ++g) {
      const float* ab = ar + g * w.block_size;
      float amax = 0.0f, sum = 0.0f;
      for (int64_t j = 0; j < w.block_size; ++j) {
        amax = std::max(amax, std::fabs(ab[j]));
        sum += ab[j];
      }
      out.block_sums[static_cast<size_t>(r * w.k_blocks + g)] = sum;
      const float scale = amax / 127.0f;
      block_scale[static_cast<size_t>(g)] = scale;
      const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (int64_t j = 0; j < w.block_size; ++j) {
        const int64_t k = g * w.block_size + j;
        const auto v = static_cast<int8_t>(std::clamp(std::nearbyint(ab[j] * inverse), -127.0f, 127.0f));
        if (odd == nullptr) {
          even[k] = v;
        } else if (k % 2 == 0) {
          even[k / 2] = v;
        } else {
          odd[k / 2] = v;
        }
      }
    }
    float* lanes = out.lane_scales.data() + r * out.chunks * kLanes;
    for (int64_t c = 0; c < out.chunks; ++c) {
      for (int l = 0; l < kLanes; ++l) {
        const int64_t g = (c * kChunkBytes + 4 * l) / w.blob_size;
        if (g < w.k_blocks) lanes[c * kLanes + l] = block_scale[static_cast<size_t>(g)];
      }
    }
  }
}

void NBitsGemvInt8(const NBitsWeights& w, const NBitsQuantizedRows& a, int64_t n0, int64_t n1, float* y,
                   int64_t y_stride) {
  GemvInt8AllRows(w, a, n0, n1, y, y_stride);
}

}  // namespace tessera
