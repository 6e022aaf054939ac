// oneDNN engine/stream singletons and the per-thread scratch of oneDNN kernels.
#include "ops/cpu/common/dnnl_context.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace tessera {

dnnl::engine& DnnlEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& DnnlStream() {
  thread_local dnnl::stream stream(DnnlEngine());
  return stream;
}

void SetDnnlThreads(int threads) { omp_set_num_threads(threads > 0 ? threads : 1); }

bool OpenMpWorkersSpin() {
  static const bool spin = [] {
    const char* count = std::getenv("GOMP_SPINCOUNT");
    if (count != nullptr) return std::strtoll(count, nullptr, 10) > 0 || std::strchr(count, 'n') != nullptr;
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    return policy == nullptr || (std::strcmp(policy, "PASSIVE") != 0 && std::strcmp(policy, "passive") != 0);
  }();
  return spin;
}

DnnlSerialScope::DnnlSerialScope(bool serial) : saved_(serial ? omp_get_max_threads() : 0) {
  if (saved_ > 1) {
    omp_set_num_threads(1);
  } else {
    saved_ = 0;
  }
}

DnnlSerialScope::~DnnlSerialScope() {
  if (saved_ > 0) omp_set_num_threads(saved_);
}

dnnl::memory::data_type ToDnnl(DType dtype) {
  using dt = dnnl::memory::data_type;
  switch (dtype) {
    case DType::kFloat32: return dt::f32;
    case DType::kFloat16: return dt::f16;
    case DType::kBFloat16: return dt::bf16;
    case DType::kInt32: return dt::s32;
    case DType::kInt8: return dt::s8;
    case DType::kUInt8: return dt::u8;
    default: return dt::undef;
  }
}

StatusOr<char*> DnnlThreadScratch(size_t bytes, int slot) {
  constexpr int kSlots = 4;
  if (slot < 0 || slot >= kSlots) return Internal("oneDNN scratch slot " + std::to_string(slot) + " out of range");
  thread_local std::shared_ptr<Buffer> buffers[kSlots];
  std::shared_ptr<Buffer>& buffer = buffers[slot];
  if (!buffer || buffer->bytes() < bytes) {
    buffer.reset();  // the old one first: peak memory is the new size, not both
    TS_ASSIGN_OR_RETURN(buffer, Buffer::Allocate(bytes));
  }
  return static_cast<char*>(buffer->data());
}

}  // namespace tessera
