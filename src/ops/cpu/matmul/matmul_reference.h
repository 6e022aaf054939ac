// Plain GEMM loops for the dtypes oneDNN does not take here (float64, the integers, float16/bfloat16)
// and for the integer accumulation of MatMulInteger / ConvInteger.
//
// Row-major, contiguous A [M, K] and B [K, N]. Each output row accumulates in Acc over a block of
// columns so the accumulator stays in L1 while B's rows stream past (the i-k-j order vectorises).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tessera {

// c[m, n] = sum_k load(a[m, k]) * load(b[k, n]) for m in [m_begin, m_end), stored through `store`.
// `acc` is scratch of at least min(N, kGemmColumnBlock) values.
constexpr int64_t kGemmColumnBlock = 512;

template <typename Acc, typename TA, typename TB, typename TC, typename LoadA, typename LoadB, typename Store>
void ReferenceGemmRows(const TA* a, const TB* b, TC* c, int64_t m_begin, int64_t m_end, int64_t k_size, int64_t n_size,
                       Acc* acc, LoadA load_a, LoadB load_b, Store store) {
  for (int64_t n0 = 0; n0 < n_size; n0 += kGemmColumnBlock) {
    const int64_t nb = std::min(kGemmColumnBlock, n_size - n0);
    for (int64_t m = m_begin; m < m_end; ++m) {
      std::fill(acc, acc + nb, Acc(0));
      const TA* a_row = a + m * k_size;
      for (int64_t k = 0; k < k_size; ++k) {
        const Acc av = load_a(a_row[k]);
        const TB* b_row = b + k * n_size + n0;
        for (int64_t j = 0; j < nb; ++j) acc[j] += av * static_cast<Acc>(load_b(b_row[j]));
      }
      TC* c_row = c + m * n_size + n0;
      for (int64_t j = 0; j < nb; ++j) c_row[j] = store(acc[j]);
    }
  }
}

// Copies a strided view (`dims`, `strides` in elements) of `src` into contiguous `dst`: transposes,
// broadcasts (stride 0) and diagonals (summed strides) all go through here.
template <typename T>
void GatherStridedView(const T* src, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, T* dst) {
  const size_t rank = dims.size();
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total <= 0) return;
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  std::vector<int64_t> index(rank, 0);
  const int64_t inner = dims[rank - 1], inner_stride = strides[rank - 1];
  int64_t offset = 0;
  for (int64_t o = 0; o < total; o += inner) {
    const T* s = src + offset;
    T* out = dst + o;
    if (inner_stride == 1) {
      std::copy(s, s + inner, out);
    } else {
      for (int64_t i = 0; i < inner; ++i) out[i] = s[i * inner_stride];
    }
    for (size_t d = rank - 1; d-- > 0;) {
      offset += strides[d];
      if (++index[d] < dims[d]) break;
      offset -= strides[d] * dims[d];
      index[d] = 0;
    }
  }
}

}  // namespace tessera
