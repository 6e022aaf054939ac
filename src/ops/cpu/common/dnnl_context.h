// The oneDNN engine and stream shared by every CPU kernel, and the thread count oneDNN uses.
#pragma once

#include <dnnl.hpp>

#include "tessera/tensor.h"

namespace tessera {

// Process-wide CPU engine.
dnnl::engine& DnnlEngine();
// A stream on that engine for the calling thread.
dnnl::stream& DnnlStream();
// oneDNN parallelises with OpenMP in Debian's build; this sets its thread count for the calling thread.
void SetDnnlThreads(int threads);

// While alive and `serial`, oneDNN and ThreadPool loops on the calling thread run on that thread alone; the
// thread count is restored on destruction. For primitives too small to repay the OpenMP fork and join:
// under passive waiting a fork wakes sleeping workers (tens of microseconds on a busy machine), more than
// such a primitive takes on one core. oneDNN reads the thread count both when a primitive is created and
// when it runs, so both must happen under the same scope.
class DnnlSerialScope {
 public:
  explicit DnnlSerialScope(bool serial);
  ~DnnlSerialScope();
  DnnlSerialScope(const DnnlSerialScope&) = delete;
  DnnlSerialScope& operator=(const DnnlSerialScope&) = delete;

 private:
  int saved_;  // the thread count to restore, or 0 when nothing changed
};

// Whether idle OpenMP workers spin before sleeping (GOMP_SPINCOUNT set and non-zero, OMP_WAIT_POLICY=active,
// or neither set: libgomp's default spins), read once from the environment the runtime read at start.
// Kernels pick their serial thresholds by it: a fork to spinning workers costs about a microsecond, one
// to sleeping workers tens of microseconds on a busy machine.
bool OpenMpWorkersSpin();

// Slot `slot` (0-3) of the calling thread's scratch for reordered tensors and oneDNN's scratchpad, grown to
// the largest size asked and kept: allocating megabytes per run would page-fault them in on every primitive.
// A thread runs one kernel at a time, so kernels share the slots; a kernel that needs several buffers at once
// takes a different slot for each.
StatusOr<char*> DnnlThreadScratch(size_t bytes, int slot = 0);

// oneDNN's data type for `dtype`, or undef.
dnnl::memory::data_type ToDnnl(DType dtype);

}  // namespace tessera
