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
//
// Measured on this machine's Zen 4 core (bench figures in bench/RESULTS.md): with the weight hot in cache the
// loop runs at about 22 GB/s, streaming from memory at about 11 GB/s: the core's prefetchers do not run far
// enough ahead while it computes, so the loop prefetches the weight kPrefetchBytes ahead itself (11 -> 14 GB/s
// in isolation). Block 32 (16-byte blobs, the common export) expands its four chunk scales with a broadcast
// and an in-lane permute, cheaper than the masked load and cross-lane permute of the general case.
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
// How far ahead of the chunk being multiplied the weight is prefetched: 2-8 KiB measured best (4 KiB: one page,
// where the hardware stream prefetcher restarts), 512 bytes no better than none.
constexpr int64_t kPrefetchBytes = 4096;
// Weight bytes of the columns that every group of rows multiplies in turn (GemvInt8AllRows): with a group's
// activations (4 rows of K bytes, and their lane scales) about half of L1.
constexpr int64_t kColumnTileBytes = 8192;

int64_t RowBytes(const NBitsWeights& w) { return w.k_blocks * w.blob_size; }

// Lane sums of the zero-point term sum over blocks g of scaled_zero[n, g] * block_sums[g], left unreduced so
// the column's one horizontal sum covers it with the product.
VNNI_TARGET __m512 ZeroPointTerm(const float* scaled_zero, const float* block_sums, int64_t blocks) {
  __m512 acc = _mm512_setzero_ps();
  int64_t g = 0;
  for (; g + kLanes <= blocks; g += kLanes) {
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(scaled_zero + g), _mm512_loadu_ps(block_sums + g), acc);
  }
  if (g < blocks) {
    const __mmask16 m = static_cast<__mmask16>((1u << (blocks - g)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, scaled_zero + g), _mm512_maskz_loadu_ps(m, block_sums + g), acc);
  }
  return acc;
}

// The same term from byte zero points: sum over g of scale[g] * zero[g] * block_sums[g].
VNNI_TARGET __m512 ZeroPointTerm(const float* scales, const uint8_t* zero, const float* block_sums, int64_t blocks) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t g = 0; g < blocks; g += kLanes) {
    const int64_t left = std::min<int64_t>(kLanes, blocks - g);
    const __mmask16 m = static_cast<__mmask16>(left == kLanes ? 0xFFFF : (1u << left) - 1);
    const __m512 z = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, zero + g)));
    const __m512 sz = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, scales + g), z);
    acc = _mm512_fmadd_ps(sz, _mm512_maskz_loadu_ps(m, block_sums + g), acc);
  }
  return acc;
}

// How a chunk's weight scales expand to its 16 lanes: one block per chunk (blobs >= 64 bytes), four (blob 16,
// block 32 at 4 bits: 128-bit lane j is block j, a broadcast and an in-lane permute), or any other count
// (a masked load and a cross-lane permute).
enum class ChunkScales { kOne, kFour, kOther };

#define INLINE_VNNI __attribute__((always_inline)) inline VNNI_TARGET

template <ChunkScales FORM>
INLINE_VNNI __m512 ExpandChunkScales(const float* s, int64_t present, __m512i lane_block) {
  if constexpr (FORM == ChunkScales::kOne) {
    return _mm512_set1_ps(s[0]);
  } else if constexpr (FORM == ChunkScales::kFour) {
    const __m512i lane_in_quad = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    return _mm512_permutevar_ps(_mm512_broadcast_f32x4(_mm_loadu_ps(s)), lane_in_quad);
  } else {
    const __mmask16 m = static_cast<__mmask16>((1u << present) - 1);
    return _mm512_permutexvar_ps(lane_block, _mm512_maskz_loadu_ps(m, s));
  }
}

// acc[r] += (weight chunk . row r's chunk c, per lane) * sw * the lanes' activation scales.
template <int MR, int BITS>
INLINE_VNNI void AccumulateChunk(__m512i wq, __m512 sw, const int8_t* const* even, const int8_t* const* odd,
                                 const float* const* lane_scales, int64_t c, __m512* acc) {
  const int64_t off = c * kChunkBytes;
  if constexpr (BITS == 4) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_and_si512(wq, nibble);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wq, 4), nibble);
    for (int r = 0; r < MR; ++r) {
      __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(even[r] + off));
      d = _mm512_dpbusd_epi32(d, hi, _mm512_loadu_si512(odd[r] + off));
      const __m512 scale = _mm512_mul_ps(sw, _mm512_loadu_ps(lane_scales[r] + c * kLanes));
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), scale, acc[r]);
    }
  } else {
    for (int r = 0; r < MR; ++r) {
      const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, _mm512_loadu_si512(even[r] + off));
      const __m512 scale = _mm512_mul_ps(sw, _mm512_loadu_ps(lane_scales[r] + c * kLanes));
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), scale, acc[r]);
    }
  }
}

// One output column n for rows [r0, r0 + MR) of A: the whole chunks in a loop without branches (the
// struct's pointers hoisted, the chunk's first block by a shift, not a division), then the ragged last
// chunk with a masked load.
template <int MR, int BITS, ChunkScales FORM>
VNNI_TARGET void GemvInt8Column(const NBitsWeights& w, const NBitsQuantizedRows& a, int r0, __m512i lane_block,
                                int64_t n, float* y, int64_t y_stride) {
  const int64_t row_bytes = RowBytes(w);
  const int64_t whole_chunks = row_bytes / kChunkBytes;
  const int64_t blocks_per_chunk = std::max<int64_t>(1, kChunkBytes / w.blob_size);
  const int blob_shift = __builtin_ctzll(static_cast<unsigned long long>(w.blob_size));  // a power of two
  const uint8_t* q = w.q + n * row_bytes;
  const float* s = w.scales.data() + n * w.k_blocks;
  const int8_t* even[MR];
  const int8_t* odd[MR];
  const float* lane_scales[MR];
  __m512 acc[MR];
  for (int r = 0; r < MR; ++r) {
    even[r] = a.even.data() + (r0 + r) * a.row_stride;
    odd[r] = BITS == 4 ? a.odd.data() + (r0 + r) * a.row_stride : nullptr;
    lane_scales[r] = a.lane_scales.data() + (r0 + r) * a.chunks * kLanes;
    acc[r] = _mm512_setzero_ps();
  }
  for (int64_t c = 0; c < whole_chunks; ++c) {
    const int64_t off = c * kChunkBytes;
    // A prefetch never faults, so running past the end of the weight is harmless.
    _mm_prefetch(reinterpret_cast<const char*>(q + off + kPrefetchBytes), _MM_HINT_T0);
    const __m512 sw = ExpandChunkScales<FORM>(s + (off >> blob_shift), blocks_per_chunk, lane_block);
    AccumulateChunk<MR, BITS>(_mm512_loadu_si512(q + off), sw, even, odd, lane_scales, c, acc);
  }
  if (whole_chunks < a.chunks) {
    const int64_t off = whole_chunks * kChunkBytes;
    const int64_t block0 = off >> blob_shift;
    const __m512i wq = _mm512_maskz_loadu_epi8((__mmask64{1} << (row_bytes - off)) - 1, q + off);
    const __m512 sw = FORM == ChunkScales::kOne
                          ? _mm512_set1_ps(s[block0])
                          : ExpandChunkScales<ChunkScales::kOther>(
                                s + block0, std::min(blocks_per_chunk, w.k_blocks - block0), lane_block);
    AccumulateChunk<MR, BITS>(wq, sw, even, odd, lane_scales, whole_chunks, acc);
  }
  for (int r = 0; r < MR; ++r) {
    const float* sums = a.block_sums.data() + (r0 + r) * w.k_blocks;
    const __m512 zero_term = w.zero_bytes.empty()
                                 ? ZeroPointTerm(w.scaled_zero.data() + n * w.k_blocks, sums, w.k_blocks)
                                 : ZeroPointTerm(s, w.zero_bytes.data() + n * w.k_blocks, sums, w.k_blocks);
    y[(r0 + r) * y_stride + n] = _mm512_reduce_add_ps(_mm512_sub_ps(acc[r], zero_term));
  }
}

template <int MR, int BITS>
VNNI_TARGET void GemvInt8Column(const NBitsWeights& w, const NBitsQuantizedRows& a, int r0, __m512i lane_block,
                                int64_t n, float* y, int64_t y_stride) {
  if (w.blob_size >= kChunkBytes) {
    GemvInt8Column<MR, BITS, ChunkScales::kOne>(w, a, r0, lane_block, n, y, y_stride);
  } else if (w.blob_size * 4 == kChunkBytes) {
    GemvInt8Column<MR, BITS, ChunkScales::kFour>(w, a, r0, lane_block, n, y, y_stride);
  } else {
    GemvInt8Column<MR, BITS, ChunkScales::kOther>(w, a, r0, lane_block, n, y, y_stride);
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

// Every row of A against columns [n0, n1), a tile of columns at a time: each group of 4 rows of A multiplies
// the whole tile (its weights then in L1) before the next group, so a group's activations are read from L1
// across the tile, not once per column from L2 (64 prompt rows are 96 KiB of activations at K = 1536); the
// weight is read from memory once however many rows.
VNNI_TARGET void GemvInt8AllRows(const NBitsWeights& w, const NBitsQuantizedRows& a, int64_t n0, int64_t n1, float* y,
                                 int64_t y_stride) {
  // Lane l of a chunk covers weight bytes [4l, 4l + 4): block (4l / blob_size) of the chunk's first block.
  alignas(64) int32_t lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = w.blob_size >= kChunkBytes ? 0 : static_cast<int32_t>(4 * l / w.blob_size);
  const __m512i lane_block = _mm512_load_si512(lanes);
  const int64_t tile = std::max<int64_t>(1, kColumnTileBytes / RowBytes(w));
  for (int64_t t0 = n0; t0 < n1; t0 += tile) {
    const int64_t t1 = std::min(n1, t0 + tile);
    int r0 = 0;
    for (; r0 + 4 <= a.rows; r0 += 4) {
      for (int64_t n = t0; n < t1; ++n) GemvInt8Group<4>(w, a, r0, lane_block, n, y, y_stride);
    }
    for (int64_t n = t0; n < t1; ++n) {
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
}

// One block of A (a multiple of 16 floats): its float sum, its scale amax / 127, and its values rounded to
// nearest (ties to even, as nearbyint in the default mode) at 127 / amax, into `even`/`odd` as the weight
// bytes line them up (`odd` null: 8-bit weights, one stream).
VNNI_TARGET void QuantizeBlock(const float* ab, int64_t block_size, int8_t* even, int8_t* odd, float& sum,
                               float& scale) {
  __m512 vmax = _mm512_setzero_ps(), vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < block_size; j += kLanes) {
    const __m512 v = _mm512_loadu_ps(ab + j);
    vmax = _mm512_max_ps(vmax, _mm512_abs_ps(v));
    vsum = _mm512_add_ps(vsum, v);
  }
  const float amax = _mm512_reduce_max_ps(vmax);
  sum = _mm512_reduce_add_ps(vsum);
  scale = amax / 127.0f;
  const __m512 inverse = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  for (int64_t j = 0; j < block_size; j += kLanes) {
    const __m512i v = _mm512_min_epi32(
        hi, _mm512_max_epi32(lo, _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(ab + j), inverse),
                                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    if (odd == nullptr) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(even + j), _mm512_cvtepi32_epi8(v));
    } else {
      // As 64-bit lanes, the low half of each is an even k and the high half the odd k after it.
      _mm_storel_epi64(reinterpret_cast<__m128i*>(even + j / 2), _mm512_cvtepi64_epi8(v));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(odd + j / 2), _mm512_cvtepi64_epi8(_mm512_srli_epi64(v, 32)));
    }
  }
}

}  // namespace

bool NBitsGemvInt8Available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return has;
}

VNNI_TARGET void QuantizeNBitsRows(const NBitsWeights& w, const float* a, int rows, NBitsQuantizedRows& out) {
  const int64_t width = w.k_blocks * w.block_size;  // floats per row of `a`
  const int64_t row_bytes = RowBytes(w);
  out.rows = rows;
  out.chunks = (row_bytes + kChunkBytes - 1) / kChunkBytes;
  out.row_stride = out.chunks * kChunkBytes;
  // Kept between calls (resize, not assign): every byte up to row_bytes is written below, the rest zeroed.
  out.even.resize(static_cast<size_t>(rows * out.row_stride));
  out.odd.resize(w.bits == 4 ? out.even.size() : 0);
  out.lane_scales.resize(static_cast<size_t>(rows * out.chunks * kLanes));
  out.block_sums.resize(static_cast<size_t>(rows * w.k_blocks));
  out.block_scales.resize(static_cast<size_t>(w.k_blocks));
  for (int r = 0; r < rows; ++r) {
    const float* ar = a + r * width;
    int8_t* even = out.even.data() + r * out.row_stride;
    int8_t* odd = w.bits == 4 ? out.odd.data() + r * out.row_stride : nullptr;
    std::fill(even + row_bytes, even + out.row_stride, int8_t{0});
    if (odd != nullptr) std::fill(odd + row_bytes, odd + out.row_stride, int8_t{0});
    for (int64_t g = 0; g < w.k_blocks; ++g) {
      QuantizeBlock(ar + g * w.block_size, w.block_size, even + g * w.blob_size,
                    odd == nullptr ? nullptr : odd + g * w.blob_size,
                    out.block_sums[static_cast<size_t>(r * w.k_blocks + g)],
                    out.block_scales[static_cast<size_t>(g)]);
    }
    float* lanes = out.lane_scales.data() + r * out.chunks * kLanes;
    for (int64_t c = 0; c < out.chunks; ++c) {
      for (int l = 0; l < kLanes; ++l) {
        const int64_t g = (c * kChunkBytes + 4 * l) / w.blob_size;
        lanes[c * kLanes + l] = g < w.k_blocks ? out.block_scales[static_cast<size_t>(g)] : 0.0f;
      }
    }
  }
}

void NBitsGemvInt8(const NBitsWeights& w, const NBitsQuantizedRows& a, int64_t n0, int64_t n1, float* y,
                   int64_t y_stride) {
  GemvInt8AllRows(w, a, n0, n1, y, y_stride);
}

}  // namespace tessera
