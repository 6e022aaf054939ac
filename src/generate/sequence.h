// One sequence being generated: its tokens and the cache state its model carries between steps.
//
// A Sequence is plain data owned by the caller (the generation loop, later a scheduler); DecoderModel::Step
// reads its pending tokens and replaces its cache. Cache tensors always hold this sequence alone (batch 1,
// no padding), so sequences can join and leave batched steps freely. With in-place caches
// (kv_cache_pool.h) they are views of the slot `kv_lease` holds, which the sequence gives back when it is
// destroyed; a copy of such a Sequence shares the slot, so only one of them may step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::generate {

using TokenId = int32_t;
struct KvCacheLease;

struct Sequence {
  std::vector<TokenId> tokens;  // the prompt, then every generated token
  int64_t cached = 0;           // tokens[0, cached) have been run; their keys and values are in `cache`
  std::vector<Tensor> cache;    // one per CacheSlot of the model's signature; empty before the first step
  std::shared_ptr<KvCacheLease> kv_lease;  // in-place caches only: the pool slot they live in

  // Tokens the next step runs: the whole prompt first, then the token sampled last.
  int64_t pending() const { return static_cast<int64_t>(tokens.size()) - cached; }
};

}  // namespace tessera::generate
