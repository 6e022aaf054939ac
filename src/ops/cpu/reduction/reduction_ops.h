// The arithmetic of the Reduce* ops as small structs, and the loops that apply them over a ReducePlan.
//
// An op has an accumulator type Acc, Init(), Step(acc, x, shift), Combine(a, b) (associative, used to
// merge partial accumulators) and Finish(acc, count, shift). `shift` is only used by LogSumExp, which
// subtracts the per-output maximum before exponentiating so large inputs do not overflow.
// Integer sums and products accumulate in uint64_t so overflow wraps (as two's complement would)
// instead of being undefined behaviour.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/thread_pool.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/reduction/reduction_plan.h"

namespace tessera::reduce {

template <typename C>
using WrapAcc = std::conditional_t<std::is_integral_v<C>, uint64_t, C>;
template <typename C>
using RealAcc = std::conditional_t<std::is_integral_v<C>, double, C>;

template <typename C>
struct Sum {
  using Acc = WrapAcc<C>;
  static Acc Init() { return Acc(0); }
  static Acc Step(Acc a, C x, Acc) { return a + static_cast<Acc>(x); }
  static Acc Combine(Acc a, Acc b) { return a + b; }
  static C Finish(Acc a, int64_t, Acc) { return static_cast<C>(a); }
};

template <typename C>
struct Mean : Sum<C> {
  using Acc = WrapAcc<C>;
  static C Finish(Acc a, int64_t n, Acc) {
    if constexpr (std::is_floating_point_v<C>) {
      return a / static_cast<C>(n);  // 0/0 is NaN for an empty reduction, as numpy gives
    } else if constexpr (std::is_signed_v<C>) {
      return n == 0 ? C(0) : static_cast<C>(static_cast<int64_t>(a) / n);
    } else {
      return n == 0 ? C(0) : static_cast<C>(a / static_cast<uint64_t>(n));
    }
  }
};

template <typename C>
struct SumSquare : Sum<C> {
  using Acc = WrapAcc<C>;
  static Acc Step(Acc a, C x, Acc) { return a + static_cast<Acc>(x) * static_cast<Acc>(x); }
};

template <typename C>
struct L1 : Sum<C> {
  using Acc = WrapAcc<C>;
  static Acc Step(Acc a, C x, Acc) {
    if constexpr (std::is_floating_point_v<C>) {
      return a + std::abs(x);
    } else if constexpr (std::is_signed_v<C>) {
      return a + (x < 0 ? Acc(0) - static_cast<Acc>(x) : static_cast<Acc>(x));
    } else {
      return a + static_cast<Acc>(x);
    }
  }
};

template <typename C>
struct Prod {
  using Acc = WrapAcc<C>;
  static Acc Init() { return Acc(1); }
  static Acc Step(Acc a, C x, Acc) { return a * static_cast<Acc>(x); }
  static Acc Combine(Acc a, Acc b) { return a * b; }
  static C Finish(Acc a, int64_t, Acc) { return static_cast<C>(a); }
};

// Max and Min skip NaN (a NaN never compares greater), like a plain loop in the reference.
// MaxAcc takes the accumulator type separately (LogSumExp finds its shift in the wider type); Max is the
// one-parameter form that template-template users (ReduceWith) need.
template <typename C, typename A>
struct MaxAcc {
  using Acc = A;
  static Acc Init() {
    return std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::lowest();
  }
  static Acc Step(Acc a, C x, Acc) { return static_cast<Acc>(x) > a ? static_cast<Acc>(x) : a; }
  static Acc Combine(Acc a, Acc b) { return b > a ? b : a; }
  static C Finish(Acc a, int64_t, Acc) { return static_cast<C>(a); }
};

template <typename C>
struct Max : MaxAcc<C, C> {};

template <typename C>
struct Min {
  using Acc = C;
  static Acc Init() {
    return std::numeric_limits<C>::has_infinity ? std::numeric_limits<C>::infinity() : std::numeric_limits<C>::max();
  }
  static Acc Step(Acc a, C x, Acc) { return x < a ? x : a; }
  static Acc Combine(Acc a, Acc b) { return b < a ? b : a; }
  static C Finish(Acc a, int64_t, Acc) { return a; }
};

template <typename C>
struct L2 {
  using Acc = RealAcc<C>;
  static Acc Init() { return Acc(0); }
  static Acc Step(Acc a, C x, Acc) { return a + static_cast<Acc>(x) * static_cast<Acc>(x); }
  static Acc Combine(Acc a, Acc b) { return a + b; }
  static C Finish(Acc a, int64_t, Acc) { return static_cast<C>(std::sqrt(a)); }
};

template <typename C>
struct LogSum : L2<C> {
  using Acc = RealAcc<C>;
  static Acc Step(Acc a, C x, Acc) { return a + static_cast<Acc>(x); }
  static C Finish(Acc a, int64_t, Acc) { return static_cast<C>(std::log(a)); }
};

template <typename C>
struct LogSumExp : L2<C> {
  using Acc = RealAcc<C>;
  static Acc Step(Acc a, C x, Acc shift) { return a + std::exp(static_cast<Acc>(x) - shift); }
  static C Finish(Acc a, int64_t, Acc shift) { return static_cast<C>(std::log(a) + shift); }
};

// Reduces `x` by `plan`, calling write(output_index, acc) for every output. `shift` (one per output)
// is passed to Step; nullptr passes zero.
template <typename Op, typename T, typename Write>
void RunPlan(const T* x, const ReducePlan& plan, const typename Op::Acc* shift, ThreadPool& pool, Write&& write) {
  using Acc = typename Op::Acc;
  using Traits = NumericTraits<T>;
  const int64_t group_count = static_cast<int64_t>(plan.groups.size());
  const int64_t work_per_output = std::max<int64_t>(1, plan.count);
  if (plan.inner == 1) {
    const int64_t run = plan.run;
    pool.ParallelFor(group_count, std::max<int64_t>(1, 32768 / work_per_output), [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g) {
        const Acc s = shift ? shift[g] : Acc(0);
        // Four independent accumulators break the dependency chain of long contiguous runs.
        Acc acc[4] = {Op::Init(), Op::Init(), Op::Init(), Op::Init()};
        for (int64_t block : plan.blocks) {
          const T* p = x + plan.groups[static_cast<size_t>(g)] + block;
          int64_t l = 0;
          for (; l + 4 <= run; l += 4) {
            for (int k = 0; k < 4; ++k) acc[k] = Op::Step(acc[k], Traits::Load(p[l + k]), s);
          }
          for (; l < run; ++l) acc[0] = Op::Step(acc[0], Traits::Load(p[l]), s);
        }
        write(g, Op::Combine(Op::Combine(acc[0], acc[1]), Op::Combine(acc[2], acc[3])));
      }
    });
    return;
  }
  // Kept innermost dim: accumulate vectors of up to kTile outputs across the blocks.
  constexpr int64_t kTile = 256;
  const int64_t inner = plan.inner;
  const int64_t tiles = (inner + kTile - 1) / kTile;
  const int64_t per_task = std::min(inner, kTile) * work_per_output;
  pool.ParallelFor(group_count * tiles, std::max<int64_t>(1, 32768 / per_task), [&](int64_t begin, int64_t end) {
    Acc acc[kTile];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t g = task / tiles;
      const int64_t i0 = (task % tiles) * kTile;
      const int64_t n = std::min(kTile, inner - i0);
      const int64_t out0 = g * inner + i0;
      for (int64_t i = 0; i < n; ++i) acc[i] = Op::Init();
      for (int64_t block : plan.blocks) {
        const T* p = x + plan.groups[static_cast<size_t>(g)] + block + i0;
        for (int64_t i = 0; i < n; ++i) acc[i] = Op::Step(acc[i], Traits::Load(p[i]), shift ? shift[out0 + i] : Acc(0));
      }
      for (int64_t i = 0; i < n; ++i) write(out0 + i, acc[i]);
    }
  });
}

}  // namespace tessera::reduce
