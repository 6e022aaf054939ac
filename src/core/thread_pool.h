// ThreadPool: data-parallel loops inside a kernel, on the same OpenMP threads that oneDNN uses.
//
// ParallelFor splits [0, n) into contiguous chunks and blocks until all are done; the calling thread
// takes a chunk itself, so a pool of one thread runs everything inline with no synchronisation.
//
// The chunks run in an OpenMP parallel region rather than on threads of our own: oneDNN (Debian's build)
// parallelises with OpenMP, and two sets of busy threads on the same cores made every switch between a
// oneDNN op and an elementwise op wait for the other set's spinning workers to yield (measured at
// --threads 2 on 2 cores: MobileNetV2 205 ms with a separate pool, 24 ms with OMP_WAIT_POLICY=PASSIVE;
// one shared team needs neither). A ParallelFor inside another parallel region runs on one thread.
// Thread safety: one ParallelFor at a time per pool; separate callers each lead their own OpenMP team.
#pragma once

#include <cstdint>
#include <functional>

#include "core/spin_barrier.h"

namespace tessera {

class ThreadPool {
 public:
  // `threads` >= 1 counts the caller.
  explicit ThreadPool(int threads);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls fn(begin, end) over chunks covering [0, n). Chunks hold at least `min_chunk` items so that
  // tiny loops stay on one thread. `fn` must not throw.
  void ParallelFor(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

  // Calls fn(thread, team, barrier) once on each thread of one parallel region, all at the same time, so
  // that they may meet at `barrier` (a SpinBarrier for `team` threads). `team` is what the runtime
  // granted: up to threads(), 1 inside another parallel region. `fn` must not throw.
  void RunTeam(const std::function<void(int thread, int team, SpinBarrier& barrier)>& fn);

 private:
  int threads_;
};

// Number of hardware threads this process may use (cgroup-unaware; at least 1).
int DefaultThreadCount();

}  // namespace tessera
