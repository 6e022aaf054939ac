// ThreadPool implementation: fixed chunks handed to the threads of one OpenMP parallel region.
#include "core/thread_pool.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <thread>

namespace tessera {

int DefaultThreadCount() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {}

namespace {
void RunChunk(const std::function<void(int64_t, int64_t)>& fn, int64_t n, int chunks, int index) {
  int64_t begin = n * index / chunks;
  int64_t end = n * (index + 1) / chunks;
  if (begin < end) fn(begin, end);
}
}  // namespace

void ThreadPool::ParallelFor(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk));
  int chunks = static_cast<int>(std::min<int64_t>(threads_, max_chunks));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
#pragma omp parallel num_threads(chunks)
  {
    // The runtime may grant fewer threads than asked (nested region, thread limit): stride over chunks.
    const int team = omp_get_num_threads();
    for (int c = omp_get_thread_num(); c < chunks; c += team) RunChunk(fn, n, chunks, c);
  }
}

void ThreadPool::RunTeam(const std::function<void(int thread, int team, SpinBarrier& barrier)>& fn) {
  if (threads_ <= 1) {
    SpinBarrier alone(1);
    fn(0, 1, alone);
    return;
  }
  std::unique_ptr<SpinBarrier> barrier;
#pragma omp parallel num_threads(threads_)
  {
#pragma omp single
    barrier = std::make_unique<SpinBarrier>(omp_get_num_threads());
    // (the end of `single` is a barrier: every thread sees it built)
    fn(omp_get_thread_num(), omp_get_num_threads(), *barrier);
  }
}

}  // namespace tessera
