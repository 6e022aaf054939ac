// The product of MatMulNBits at accuracy_level 4 (the attribute's "int8 compute" level), decode and prefill:
// A quantized to int8 per block of K, times the weight in panels of 16 columns (matmul_nbits_panels.h) with
// AVX-512 VNNI (vpdpbusd: unsigned weight bytes times signed activation bytes, four products per 32-bit lane).
//
// Per 64-byte chunk of a panel (8 weights of each of 16 columns) the loop does one load, two ANDs (low
// nibbles, and high nibbles left in place as 16x their value) and two vpdpbusd per row of A against
// activation bytes broadcast from memory; per block it combines the two int32 dots (the high one shifted
// down by 4, exact), subtracts the zero point times the block's int8 sum (integer, so the rounding of A is
// weighted by |q - zero_point|, not by q), converts once and multiplies by weight scale x activation scale.
// Lane l of the accumulators is column 16p + l throughout: a panel ends with one masked store, no
// horizontal sums.
//
// The panel's records are one sequential stream (scales inside), so the hardware prefetchers see one
// stream per thread; the loop also prefetches kPrefetchBytes ahead: the per-column kernel this replaced
// streamed best at 2-8 KiB ahead (11 -> 14 GB/s in isolation); on panels the distance is not re-tuned yet.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

// See matmul_nbits_gemv.cc: GCC 12 warns inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ops/cpu/quantization/matmul_nbits_panels.h"

// The ISA of every function here; the build assumes no -march, NBitsGemvInt8Available() checks the CPU.
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INLINE_VNNI __attribute__((always_inline)) inline VNNI_TARGET

namespace tessera {
namespace {

constexpr int kLanes = 16;
constexpr int64_t kPrefetchBytes = 2048;
// Rows of A per pass over a panel: their accumulators (3 registers a row) and the weight's fit the 32 zmm.
constexpr int kMaxRowsPerPass = 4;

INLINE_VNNI __m512i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// Rows [r0, r0 + MR) of A against panel p, into y[r, 16p + l] for the `valid` columns of the panel.
template <int MR, int BITS, NBitsPanelZero ZERO>
VNNI_TARGET void PanelRows(const NBitsPanels& w, const NBitsQuantizedRows& a, int r0, int64_t p, int valid,
                           float* y, int64_t y_stride) {
  const int64_t chunks = w.blob_size / 4, blob = w.blob_size, record_bytes = w.record_bytes;
  const uint8_t* record = w.panel(p);
  const uint8_t* zero_bytes = ZERO == NBitsPanelZero::kBytes ? w.zero_bytes.data() + p * w.k_blocks * kLanes : nullptr;
  const float* scaled_zero = ZERO == NBitsPanelZero::kFloat ? w.scaled_zero.data() + p * w.k_blocks * kLanes : nullptr;
  const int8_t* even[MR];
  const int8_t* odd[MR];
  const float* scales[MR];
  const int32_t* int_sums[MR];
  const float* scaled_sums[MR];
  __m512 acc[MR];
  for (int r = 0; r < MR; ++r) {
    even[r] = a.even.data() + (r0 + r) * a.row_bytes;
    odd[r] = BITS == 4 ? a.odd.data() + (r0 + r) * a.row_bytes : nullptr;
    scales[r] = a.scales.data() + (r0 + r) * w.k_blocks;
    int_sums[r] = a.int_sums.data() + (r0 + r) * w.k_blocks;
    scaled_sums[r] = a.scaled_sums.data() + (r0 + r) * w.k_blocks;
    acc[r] = _mm512_setzero_ps();
  }
  const __m512i low = _mm512_set1_epi8(0x0F), high = _mm512_set1_epi8(static_cast<char>(0xF0));
  const __m512i zero_constant = _mm512_set1_epi32(w.zero_constant);
  for (int64_t g = 0; g < w.k_blocks; ++g, record += record_bytes) {
    // A prefetch never faults, so running past the end of the panel is harmless.
    for (int64_t line = 0; line < record_bytes; line += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(record + kPrefetchBytes + line), _MM_HINT_T0);
    }
    const __m512 weight_scale = _mm512_load_ps(reinterpret_cast<const float*>(record));
    const uint8_t* q = record + 64;
    __m512i dot[MR], dot_high[MR];
    for (int r = 0; r < MR; ++r) dot[r] = dot_high[r] = _mm512_setzero_si512();
    for (int64_t j = 0; j < chunks; ++j) {
      const __m512i wq = _mm512_load_si512(q + 64 * j);
      const int64_t off = g * blob + 4 * j;
      if constexpr (BITS == 4) {
        const __m512i lo = _mm512_and_si512(wq, low), hi = _mm512_and_si512(wq, high);
        for (int r = 0; r < MR; ++r) {
          dot[r] = _mm512_dpbusd_epi32(dot[r], lo, Broadcast4(even[r] + off));
          dot_high[r] = _mm512_dpbusd_epi32(dot_high[r], hi, Broadcast4(odd[r] + off));
        }
      } else {
        for (int r = 0; r < MR; ++r) dot[r] = _mm512_dpbusd_epi32(dot[r], wq, Broadcast4(even[r] + off));
      }
    }
    __m512i zero = zero_constant;
    if constexpr (ZERO == NBitsPanelZero::kBytes) {
      zero = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(zero_bytes + g * kLanes)));
    }
    for (int r = 0; r < MR; ++r) {
      __m512i d = dot[r];
      if constexpr (BITS == 4) d = _mm512_add_epi32(d, _mm512_srai_epi32(dot_high[r], 4));
      if constexpr (ZERO != NBitsPanelZero::kFloat) {
        d = _mm512_sub_epi32(d, _mm512_mullo_epi32(zero, _mm512_set1_epi32(int_sums[r][g])));
      }
      const __m512 scale = _mm512_mul_ps(weight_scale, _mm512_set1_ps(scales[r][g]));
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), scale, acc[r]);
      if constexpr (ZERO == NBitsPanelZero::kFloat) {
        acc[r] = _mm512_fnmadd_ps(_mm512_loadu_ps(scaled_zero + g * kLanes), _mm512_set1_ps(scaled_sums[r][g]), acc[r]);
      }
    }
  }
  const __mmask16 mask = static_cast<__mmask16>(valid >= kLanes ? 0xFFFF : (1u << valid) - 1);
  for (int r = 0; r < MR; ++r) _mm512_mask_storeu_ps(y + (r0 + r) * y_stride + p * kLanes, mask, acc[r]);
}

template <int MR, int BITS>
VNNI_TARGET void PanelRows(const NBitsPanels& w, const NBitsQuantizedRows& a, int r0, int64_t p, int valid, float* y,
                           int64_t y_stride) {
  switch (w.zero) {
    case NBitsPanelZero::kConstant:
      PanelRows<MR, BITS, NBitsPanelZero::kConstant>(w, a, r0, p, valid, y, y_stride);
      break;
    case NBitsPanelZero::kBytes:
      PanelRows<MR, BITS, NBitsPanelZero::kBytes>(w, a, r0, p, valid, y, y_stride);
      break;
    case NBitsPanelZero::kFloat:
      PanelRows<MR, BITS, NBitsPanelZero::kFloat>(w, a, r0, p, valid, y, y_stride);
      break;
  }
}

template <int MR>
VNNI_TARGET void PanelRows(const NBitsPanels& w, const NBitsQuantizedRows& a, int r0, int64_t p, int valid, float* y,
                           int64_t y_stride) {
  if (w.bits == 4) {
    PanelRows<MR, 4>(w, a, r0, p, valid, y, y_stride);
  } else {
    PanelRows<MR, 8>(w, a, r0, p, valid, y, y_stride);
  }
}

// One block of A (a multiple of 16 floats): its scale amax / 127, its values rounded to nearest (ties to
// even) at 127 / amax into `even`/`odd` as the weight bytes line them up (`odd` null: 8-bit weights), and
// the sum of those int8 values.
VNNI_TARGET void QuantizeBlock(const float* ab, int64_t block_size, int8_t* even, int8_t* odd, float& scale,
                               int32_t& int_sum) {
  __m512 vmax = _mm512_setzero_ps();
  for (int64_t j = 0; j < block_size; j += kLanes) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(ab + j)));
  const float amax = _mm512_reduce_max_ps(vmax);
  scale = amax / 127.0f;
  const __m512 inverse = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  __m512i vsum = _mm512_setzero_si512();
  for (int64_t j = 0; j < block_size; j += kLanes) {
    const __m512i v = _mm512_min_epi32(
        hi, _mm512_max_epi32(lo, _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(ab + j), inverse),
                                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    vsum = _mm512_add_epi32(vsum, v);
    if (odd == nullptr) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(even + j), _mm512_cvtepi32_epi8(v));
    } else {
      // As 64-bit lanes, the low half of each is an even k and the high half the odd k after it.
      _mm_storel_epi64(reinterpret_cast<__m128i*>(even + j / 2), _mm512_cvtepi64_epi8(v));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(odd + j / 2), _mm512_cvtepi64_epi8(_mm512_srli_epi64(v, 32)));
    }
  }
  int_sum = _mm512_reduce_add_epi32(vsum);
}

template <typename T>
void GrowTo(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

bool NBitsGemvInt8Available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return has;
}

VNNI_TARGET void QuantizeNBitsRows(const NBitsPanels& w, const float* a, int rows, NBitsQuantizedRows& out) {
  const int64_t width = w.k_blocks * w.block_size;  // floats per row of `a`
  out.rows = rows;
  out.row_bytes = w.k_blocks * w.blob_size;
  GrowTo(out.even, static_cast<size_t>(rows * out.row_bytes));
  if (w.bits == 4) GrowTo(out.odd, static_cast<size_t>(rows * out.row_bytes));
  GrowTo(out.scales, static_cast<size_t>(rows * w.k_blocks));
  GrowTo(out.int_sums, static_cast<size_t>(rows * w.k_blocks));
  GrowTo(out.scaled_sums, static_cast<size_t>(rows * w.k_blocks));
  for (int r = 0; r < rows; ++r) {
    int8_t* even = out.even.data() + r * out.row_bytes;
    int8_t* odd = w.bits == 4 ? out.odd.data() + r * out.row_bytes : nullptr;
    for (int64_t g = 0; g < w.k_blocks; ++g) {
      const size_t i = static_cast<size_t>(r * w.k_blocks + g);
      QuantizeBlock(a + r * width + g * w.block_size, w.block_size, even + g * w.blob_size,
                    odd == nullptr ? nullptr : odd + g * w.blob_size, out.scales[i], out.int_sums[i]);
      out.scaled_sums[i] = out.scales[i] * static_cast<float>(out.int_sums[i]);
    }
  }
}

void NBitsGemvInt8(const NBitsPanels& w, const NBitsQuantizedRows& a, int64_t p0, int64_t p1, float* y,
                   int64_t y_stride) {
  for (int64_t p = p0; p < p1; ++p) {
    const int valid = static_cast<int>(std::min<int64_t>(kNBitsPanelColumns, w.N - p * kNBitsPanelColumns));
    // Every group of rows reads the panel in turn, from L1/L2 after the first: the weight comes from memory once.
    int r0 = 0;
    for (; r0 + kMaxRowsPerPass <= a.rows; r0 += kMaxRowsPerPass) {
      PanelRows<kMaxRowsPerPass>(w, a, r0, p, valid, y, y_stride);
    }
    switch (a.rows - r0) {
      case 1:
        PanelRows<1>(w, a, r0, p, valid, y, y_stride);
        break;
      case 2:
        PanelRows<2>(w, a, r0, p, valid, y, y_stride);
        break;
      case 3:
        PanelRows<3>(w, a, r0, p, valid, y, y_stride);
        break;
      default:
        break;
    }
  }
}

}  // namespace tessera
