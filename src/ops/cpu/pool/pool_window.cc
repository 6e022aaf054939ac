// Sliding-window pooling loops (see pool_window.h).
#include "ops/cpu/pool/pool_window.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"

namespace tessera {

PoolProblem MakePoolProblem(const WindowGeometry& g, int64_t planes) {
  PoolProblem p;
  p.planes = planes;
  const int64_t lead = 3 - g.rank;
  for (int64_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t j = static_cast<size_t>(i - lead);
    p.in[i] = real ? g.in[j] : 1;
    p.out[i] = real ? g.out[j] : 1;
    p.kernel[i] = real ? g.kernel[j] : 1;
    p.stride[i] = real ? g.stride[j] : 1;
    p.dilation[i] = real ? g.dilation[j] : 1;
    p.pad_begin[i] = real ? g.pad_begin[j] : 0;
    p.pad_end[i] = real ? g.pad_end[j] : 0;
  }
  return p;
}

namespace {

// The kernel taps [begin, end) of one output position along one axis that land in the input, and how many
// land in the padded input (AveragePool's count_include_pad divisor).
struct Taps {
  int64_t begin, end, first;  // first = input position of tap `begin`
  int64_t padded;
};

// Number of taps k in [0, kernel) with lo <= start + k * dilation < hi, and the first such k.
void ClipTaps(int64_t start, int64_t dilation, int64_t kernel, int64_t lo, int64_t hi, int64_t& b, int64_t& e) {
  b = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
  e = start >= hi ? 0 : std::min(kernel, (hi - start + dilation - 1) / dilation);
  if (e < b) e = b;
}

// The taps of every output position along axis `i`, computed once per call (the divisions in ClipTaps
// would otherwise dominate small windows).
std::vector<Taps> AxisTaps(const PoolProblem& p, int i) {
  std::vector<Taps> taps(static_cast<size_t>(p.out[i]));
  for (int64_t o = 0; o < p.out[i]; ++o) {
    const int64_t start = o * p.stride[i] - p.pad_begin[i];
    Taps& t = taps[static_cast<size_t>(o)];
    ClipTaps(start, p.dilation[i], p.kernel[i], 0, p.in[i], t.begin, t.end);
    t.first = start + t.begin * p.dilation[i];
    int64_t pb, pe;
    ClipTaps(start, p.dilation[i], p.kernel[i], -p.pad_begin[i], p.in[i] + p.pad_end[i], pb, pe);
    t.padded = pe - pb;
  }
  return taps;
}

// Calls fn(plane, y_offset, taps_d, taps_h, taps_w) for every output position.
template <typename F>
void ForEachWindow(const PoolProblem& p, ThreadPool& pool, F&& fn) {
  const int64_t out_count = p.OutCount();
  const std::vector<Taps> taps_d = AxisTaps(p, 0), taps_h = AxisTaps(p, 1), taps_w = AxisTaps(p, 2);
  const int64_t min_chunk = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, out_count));
  pool.ParallelFor(p.planes, min_chunk, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      int64_t o = plane * out_count;
      for (const Taps& td : taps_d) {
        for (const Taps& th : taps_h) {
          for (const Taps& tw : taps_w) fn(plane, o++, td, th, tw);
        }
      }
    }
  });
}

}  // namespace

template <typename T, bool kWithIndices>
void MaxPoolImpl(const PoolProblem& p, const T* x, T* y, int64_t* indices, bool column_major, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  const int64_t in_count = p.InCount();
  ForEachWindow(p, pool, [&](int64_t plane, int64_t o, const Taps& td, const Taps& th, const Taps& tw) {
    const T* xp = x + plane * in_count;
    C best = std::numeric_limits<C>::lowest();
    if constexpr (std::numeric_limits<C>::has_infinity) best = -std::numeric_limits<C>::infinity();
    int64_t bd = td.first, bh = th.first, bw = tw.first;
    for (int64_t kd = td.begin, id = td.first; kd < td.end; ++kd, id += p.dilation[0]) {
      for (int64_t kh = th.begin, ih = th.first; kh < th.end; ++kh, ih += p.dilation[1]) {
        const T* row = xp + (id * p.in[1] + ih) * p.in[2];
        for (int64_t kw = tw.begin, iw = tw.first; kw < tw.end; ++kw, iw += p.dilation[2]) {
          const C v = Traits::Load(row[iw]);
          if constexpr (kWithIndices) {
            if (v > best) {
              best = v;
              bd = id, bh = ih, bw = iw;
            }
          } else {
            best = std::max(best, v);  // branchless: data-dependent branches mispredict on real activations
          }
        }
      }
    }
    y[o] = Traits::Store(best);
    if constexpr (kWithIndices) {
      const int64_t local = column_major ? bd + p.in[0] * (bh + p.in[1] * bw) : (bd * p.in[1] + bh) * p.in[2] + bw;
      indices[o] = plane * in_count + local;
    }
  });
}

template <typename T>
void MaxPoolPlanes(const PoolProblem& p, const T* x, T* y, int64_t* indices, bool column_major, ThreadPool& pool) {
  if (indices)
    MaxPoolImpl<T, true>(p, x, y, indices, column_major, pool);
  else
    MaxPoolImpl<T, false>(p, x, y, nullptr, column_major, pool);
}

template <typename T>
void AveragePoolPlanes(const PoolProblem& p, const T* x, T* y, bool count_include_pad, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  const int64_t in_count = p.InCount();
  ForEachWindow(p, pool, [&](int64_t plane, int64_t o, const Taps& td, const Taps& th, const Taps& tw) {
    const T* xp = x + plane * in_count;
    double sum = 0;
    for (int64_t kd = td.begin, id = td.first; kd < td.end; ++kd, id += p.dilation[0]) {
      for (int64_t kh = th.begin, ih = th.first; kh < th.end; ++kh, ih += p.dilation[1]) {
        const T* row = xp + (id * p.in[1] + ih) * p.in[2];
        for (int64_t kw = tw.begin, iw = tw.first; kw < tw.end; ++kw, iw += p.dilation[2]) sum += Traits::Load(row[iw]);
      }
    }
    // With count_include_pad, taps over explicit padding count too; taps past it (ceil_mode overhang) do not.
    const int64_t count = count_include_pad ? td.padded * th.padded * tw.padded
                                            : (td.end - td.begin) * (th.end - th.begin) * (tw.end - tw.begin);
    y[o] = Traits::Store(static_cast<typename Traits::Compute>(count > 0 ? sum / static_cast<double>(count) : 0.0));
  });
}

template <typename T>
void LpPoolPlanes(const PoolProblem& p, const T* x, T* y, double power, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  const int64_t in_count = p.InCount();
  ForEachWindow(p, pool, [&](int64_t plane, int64_t o, const Taps& td, const Taps& th, const Taps& tw) {
    const T* xp = x + plane * in_count;
    double sum = 0;
    for (int64_t kd = td.begin, id = td.first; kd < td.end; ++kd, id += p.dilation[0]) {
      for (int64_t kh = th.begin, ih = th.first; kh < th.end; ++kh, ih += p.dilation[1]) {
        const T* row = xp + (id * p.in[1] + ih) * p.in[2];
        for (int64_t kw = tw.begin, iw = tw.first; kw < tw.end; ++kw, iw += p.dilation[2]) {
          const double v = std::fabs(static_cast<double>(Traits::Load(row[iw])));
          sum += power == 2.0 ? v * v : std::pow(v, power);
        }
      }
    }
    const double r = power == 2.0 ? std::sqrt(sum) : std::pow(sum, 1.0 / power);
    y[o] = Traits::Store(static_cast<typename Traits::Compute>(r));
  });
}

template void MaxPoolPlanes<float>(const PoolProblem&, const float*, float*, int64_t*, bool, ThreadPool&);
template void MaxPoolPlanes<double>(const PoolProblem&, const double*, double*, int64_t*, bool, ThreadPool&);
template void MaxPoolPlanes<Float16>(const PoolProblem&, const Float16*, Float16*, int64_t*, bool, ThreadPool&);
template void MaxPoolPlanes<int8_t>(const PoolProblem&, const int8_t*, int8_t*, int64_t*, bool, ThreadPool&);
template void MaxPoolPlanes<uint8_t>(const PoolProblem&, const uint8_t*, uint8_t*, int64_t*, bool, ThreadPool&);
template void AveragePoolPlanes<float>(const PoolProblem&, const float*, float*, bool, ThreadPool&);
template void AveragePoolPlanes<double>(const PoolProblem&, const double*, double*, bool, ThreadPool&);
template void AveragePoolPlanes<Float16>(const PoolProblem&, const Float16*, Float16*, bool, ThreadPool&);
template void LpPoolPlanes<float>(const PoolProblem&, const float*, float*, double, ThreadPool&);
template void LpPoolPlanes<double>(const PoolProblem&, const double*, double*, double, ThreadPool&);
template void LpPoolPlanes<Float16>(const PoolProblem&, const Float16*, Float16*, double, ThreadPool&);

}  // namespace tessera
