// SpinBarrier: the threads of one team meet at Wait() many times in a row (a recurrent layer's time
// steps), far more cheaply than OpenMP's barrier under passive waiting, which sleeps in the kernel at once.
//
// A waiter spins on the generation counter for a short while, then yields the core between looks, so a
// peer that the scheduler took off its core (a busy machine) gets it back instead of waiting behind us.
// Thread safety: exactly `count` threads call Wait() for each generation.
#pragma once

#include <atomic>
#include <thread>

namespace tessera {

class SpinBarrier {
 public:
  explicit SpinBarrier(int count) : count_(count) {}
  SpinBarrier(const SpinBarrier&) = delete;
  SpinBarrier& operator=(const SpinBarrier&) = delete;

  void Wait() {
    const unsigned generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
      if (spins >= kSpinsBeforeYield) std::this_thread::yield();
    }
  }

 private:
  // About 10-20 us of looking before yielding: a time step's work on the peer is of that order.
  static constexpr int kSpinsBeforeYield = 4000;
  const int count_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> generation_{0};
};

}  // namespace tessera
