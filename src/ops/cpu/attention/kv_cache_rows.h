// The row table of pooled KV caches (com.tessera KvCacheAppend and CachedAttention, input `rows`):
// int64 [batch, 2], per batch row the pool slot that holds its cache and its own past length.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

struct KvCacheRows {
  std::vector<int64_t> slot, past;  // per batch row
  int64_t max_slot = -1;
};

// Checks the table against a step of `batch` rows whose past tensors are `logical_past` long, appending
// `fresh` rows each to caches of `capacity` positions: slots are >= 0 and distinct, 0 <= past <=
// logical_past, and past + fresh <= capacity (else the context-length error naming the row).
StatusOr<KvCacheRows> ReadKvCacheRows(const Tensor& rows, int64_t batch, int64_t logical_past, int64_t fresh,
                                      int64_t capacity);

}  // namespace tessera
