// Strided copy: coalescing, the inner loops (run copy, fill, strided, cache-tiled transpose with a 4x4
// SSE block for 4-byte elements) and the parallel walk over outer rows.
#include "ops/cpu/common/strided_copy.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "ops/dispatch.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Elements one thread should copy at least before another thread is worth waking.
constexpr int64_t kParallelGrain = 1 << 16;
// Tile edge of the transposing inner loop: 32x32 elements of 8 bytes stay well inside L1.
constexpr int64_t kTile = 32;

struct StridedDims {
  Shape shape;
  std::vector<int64_t> src, dst;
};

// Drops size-1 dims and merges neighbours that walk memory as one dim in both source and destination,
// so that e.g. a slice of whole rows becomes one long run.
StridedDims Coalesce(const Shape& shape, const std::vector<int64_t>& src, const std::vector<int64_t>& dst) {
  StridedDims out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!out.shape.empty() && out.src.back() == src[d] * shape[d] && out.dst.back() == dst[d] * shape[d]) {
      out.shape.back() *= shape[d];
      out.src.back() = src[d];
      out.dst.back() = dst[d];
    } else {
      out.shape.push_back(shape[d]);
      out.src.push_back(src[d]);
      out.dst.push_back(dst[d]);
    }
  }
  return out;
}

// Calls body(src_offset, dst_offset, last) for every index of `outer` (`last` is the index's value in
// the last outer dim), in parallel chunks when the total work (`work_per_item` elements per index) is large.
template <typename Body>
void ForEachOuter(const StridedDims& outer, int64_t work_per_item, ThreadPool& pool, Body&& body) {
  int64_t n = 1;
  for (int64_t d : outer.shape) n *= d;
  const size_t rank = outer.shape.size();
  auto walk = [&](int64_t begin, int64_t end) {
    std::vector<int64_t> index(rank + 1, 0);  // one spare slot so index[rank - 1] exists when rank == 0
    int64_t s = 0, d = 0, rest = begin;
    for (size_t k = rank; k-- > 0;) {
      index[k] = rest % outer.shape[k];
      rest /= outer.shape[k];
      s += index[k] * outer.src[k];
      d += index[k] * outer.dst[k];
    }
    for (int64_t i = begin; i < end; ++i) {
      body(s, d, rank ? index[rank - 1] : 0);
      for (size_t k = rank; k-- > 0;) {  // odometer over the outer dims
        ++index[k];
        s += outer.src[k];
        d += outer.dst[k];
        if (index[k] < outer.shape[k]) break;
        s -= outer.src[k] * outer.shape[k];
        d -= outer.dst[k] * outer.shape[k];
        index[k] = 0;
      }
    }
  };
  work_per_item = std::max<int64_t>(1, work_per_item);
  if (n * work_per_item < 2 * kParallelGrain || pool.threads() == 1) {
    walk(0, n);
  } else {
    pool.ParallelFor(n, std::max<int64_t>(1, kParallelGrain / work_per_item), walk);
  }
}

template <typename T>
void CopyRun(const T* src, T* dst, int64_t n) {
  if constexpr (std::is_trivially_copyable_v<T>) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
  } else {
    std::copy(src, src + n, dst);
  }
}

// d[i * dm + j] = s[i + j * ss] for i < rows, j < cols: a transposing tile, L1-resident.
template <typename T>
void TransposeTile(const T* s, int64_t ss, T* d, int64_t dm, int64_t rows, int64_t cols) {
  int64_t i = 0;
#if defined(__SSE2__)
  if constexpr (sizeof(T) == 4 && std::is_trivially_copyable_v<T>) {
    // 4x4 blocks through registers: four unit-stride loads, a shuffle transpose, four unit-stride stores.
    for (; i + 4 <= rows; i += 4) {
      int64_t j = 0;
      for (; j + 4 <= cols; j += 4) {
        const float* sf = reinterpret_cast<const float*>(s + i + j * ss);
        __m128 r0 = _mm_loadu_ps(sf), r1 = _mm_loadu_ps(sf + ss), r2 = _mm_loadu_ps(sf + 2 * ss),
               r3 = _mm_loadu_ps(sf + 3 * ss);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        float* df = reinterpret_cast<float*>(d + i * dm + j);
        _mm_storeu_ps(df, r0);
        _mm_storeu_ps(df + dm, r1);
        _mm_storeu_ps(df + 2 * dm, r2);
        _mm_storeu_ps(df + 3 * dm, r3);
      }
      for (; j < cols; ++j) {
        for (int64_t ii = i; ii < i + 4; ++ii) d[ii * dm + j] = s[ii + j * ss];
      }
    }
  }
#endif
  for (; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) d[i * dm + j] = s[i + j * ss];
  }
}

template <typename T>
void CopyTyped(const T* src, T* dst, const StridedDims& dims, ThreadPool& pool) {
  const size_t rank = dims.shape.size();
  if (rank == 0) {
    *dst = *src;
    return;
  }
  const size_t last = rank - 1;
  const int64_t n = dims.shape[last], ss = dims.src[last], ds = dims.dst[last];
  // A transpose that moves the source's unit-stride dim away from the end: tile that dim against the
  // last one, so reads and writes both stay in a few cache lines.
  size_t unit = rank;
  if (ds == 1 && ss != 1) {
    for (size_t k = 0; k < last; ++k) {
      if (dims.src[k] == 1 && dims.shape[k] >= 4) unit = k;
    }
  }
  StridedDims outer;
  for (size_t k = 0; k < last; ++k) {
    if (k == unit) continue;
    outer.shape.push_back(dims.shape[k]);
    outer.src.push_back(dims.src[k]);
    outer.dst.push_back(dims.dst[k]);
  }
  if (unit < rank) {
    // The unit dim is cut into blocks of kTile rows, the last outer dim, so a single matrix still
    // spreads over the pool.
    const int64_t m = dims.shape[unit], dm = dims.dst[unit];
    outer.shape.push_back((m + kTile - 1) / kTile);
    outer.src.push_back(kTile);
    outer.dst.push_back(kTile * dm);
    ForEachOuter(outer, kTile * n, pool, [&](int64_t so, int64_t dof, int64_t block) {
      const int64_t rows = std::min(kTile, m - block * kTile);
      for (int64_t j0 = 0; j0 < n; j0 += kTile) {
        TransposeTile(src + so + j0 * ss, ss, dst + dof + j0, dm, rows, std::min(kTile, n - j0));
      }
    });
    return;
  }
  // Long innermost runs are cut into chunks, the last outer dim, so one long run is still copied by
  // several threads.
  const int64_t chunk = n > 4 * kParallelGrain ? kParallelGrain : n;
  outer.shape.push_back((n + chunk - 1) / chunk);
  outer.src.push_back(chunk * ss);
  outer.dst.push_back(chunk * ds);
  auto length = [&](int64_t c) { return std::min(chunk, n - c * chunk); };
  if (ss == 1 && ds == 1) {
    ForEachOuter(outer, chunk, pool,
                 [&](int64_t so, int64_t dof, int64_t c) { CopyRun(src + so, dst + dof, length(c)); });
  } else if (ss == 0 && ds == 1) {
    ForEachOuter(outer, chunk, pool,
                 [&](int64_t so, int64_t dof, int64_t c) { std::fill(dst + dof, dst + dof + length(c), src[so]); });
  } else {
    ForEachOuter(outer, chunk, pool, [&](int64_t so, int64_t dof, int64_t c) {
      const int64_t len = length(c);
      for (int64_t j = 0; j < len; ++j) dst[dof + j * ds] = src[so + j * ss];
    });
  }
}

}  // namespace

Status CopyStrided(DType dtype, const void* src, const std::vector<int64_t>& src_strides, void* dst,
                   const std::vector<int64_t>& dst_strides, const Shape& shape, ThreadPool& pool) {
  for (int64_t d : shape) {
    if (d == 0) return Status::Ok();
  }
  const StridedDims dims = Coalesce(shape, src_strides, dst_strides);
  return DispatchByElementSize(
      dtype,
      [&](auto tag) {
        using T = decltype(tag);
        CopyTyped<T>(static_cast<const T*>(src), static_cast<T*>(dst), dims, pool);
        return Status::Ok();
      },
      "strided copy");
}

Status GatherStrided(DType dtype, const void* src, const std::vector<int64_t>& src_strides, void* dst,
                     const Shape& shape, ThreadPool& pool) {
  return CopyStrided(dtype, src, src_strides, dst, ContiguousStrides(shape), shape, pool);
}

void CopyElements(DType dtype, const void* src, void* dst, int64_t count) {
  if (count <= 0) return;
  if (dtype == DType::kString) {
    const auto* s = static_cast<const std::string*>(src);
    std::copy(s, s + count, static_cast<std::string*>(dst));
  } else {
    std::memcpy(dst, src, static_cast<size_t>(count) * DTypeSize(dtype));
  }
}

void FillElements(DType dtype, void* dst, int64_t count, const void* value) {
  if (count <= 0) return;
  const size_t size = DTypeSize(dtype);
  if (dtype != DType::kString) {
    bool zero = true;
    for (size_t b = 0; b < size; ++b) zero &= static_cast<const char*>(value)[b] == 0;
    if (zero) {
      std::memset(dst, 0, static_cast<size_t>(count) * size);
      return;
    }
  }
  (void)DispatchByElementSize(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_trivially_copyable_v<T>) {
      std::memcpy(&v, value, sizeof(T));
    } else {
      v = *static_cast<const T*>(value);
    }
    std::fill(static_cast<T*>(dst), static_cast<T*>(dst) + count, v);
    return Status::Ok();
  });
}

}  // namespace tessera
