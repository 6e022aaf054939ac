// ThreadPool: a fixed set of workers for data-parallel loops inside a kernel.
//
// ParallelFor splits [0, n) into contiguous chunks and blocks until all are done; the calling thread
// takes a chunk itself, so a pool of one thread runs everything inline with no synchronisation.
// Thread safety: one ParallelFor at a time per pool (the executor runs nodes one after another).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

class ThreadPool {
 public:
  // `threads` >= 1 counts the caller; `threads - 1` workers are started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls fn(begin, end) over chunks covering [0, n). Chunks hold at least `min_chunk` items so that
  // tiny loops stay on one thread.
  void ParallelFor(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop(int index);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_chunks_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

// Number of hardware threads this process may use (cgroup-unaware; at least 1).
int DefaultThreadCount();

}  // namespace tessera
