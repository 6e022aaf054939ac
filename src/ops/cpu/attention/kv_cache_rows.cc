// ReadKvCacheRows (kv_cache_rows.h).
#include "ops/cpu/attention/kv_cache_rows.h"

#include <algorithm>
#include <string>

#include "ops/kernel.h"

namespace tessera {

StatusOr<KvCacheRows> ReadKvCacheRows(const Tensor& rows, int64_t batch, int64_t logical_past, int64_t fresh,
                                      int64_t capacity) {
  if (rows.dtype() != DType::kInt64 || rows.rank() != 2 || rows.dim(0) != batch || rows.dim(1) != 2) {
    return KernelContext::Error("the KV cache rows " + ShapeToString(rows.shape()) + " must be int64 [" +
                                std::to_string(batch) + ", 2] (slot, past length per batch row)");
  }
  KvCacheRows out;
  const int64_t* d = rows.data<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t slot = d[2 * b], past = d[2 * b + 1];
    const std::string row = "KV cache row " + std::to_string(b);
    if (slot < 0 || std::find(out.slot.begin(), out.slot.end(), slot) != out.slot.end()) {
      return KernelContext::Error(row + " names slot " + std::to_string(slot) + ", negative or already taken");
    }
    if (past < 0 || past > logical_past) {
      return KernelContext::Error(row + " has " + std::to_string(past) + " cached positions, outside the step's 0 .. " +
                                  std::to_string(logical_past));
    }
    if (past + fresh > capacity) {
      return KernelContext::Error(row + ": the KV cache is full: " + std::to_string(past) + " cached + " +
                                  std::to_string(fresh) + " new positions exceed the context length of " +
                                  std::to_string(capacity) + " positions");
    }
    out.slot.push_back(slot);
    out.past.push_back(past);
    out.max_slot = std::max(out.max_slot, slot);
  }
  return out;
}

}  // namespace tessera
