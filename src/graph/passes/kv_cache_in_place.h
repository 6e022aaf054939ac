// KV cache in place: for generation, a decoder's per-layer present = Concat(past, new) and the fused
// attention reading it become com.tessera KvCacheAppend (new rows written into a buffer of `capacity`
// positions per head, owned by the sequence) and com.tessera CachedAttention (reads the first past + new
// rows of that buffer, strided). Kernels: src/ops/cpu/attention/kv_cache_append.cc, cached_attention.cc.
//
// The decode step's shapes stay logical: past and present have their real length, only their storage
// holds `capacity` rows per head. So the graph's other readers of the cache — Shape nodes feeding
// position ids, masks and the grouped-head repeat's Expand shape — see the right length unchanged.
// Readers of the cache's data must know the layout, hence the match is strict: for every given pair,
// past (float32, rank 4) is read only by a Concat on axis 2 whose output is present; present is read
// only by Shape nodes, by FusedAttention (key_transposed = 0) as K or V, or by the grouped-head repeat
// Unsqueeze(axis 2) -> Expand -> Reshape that feeds one; each such FusedAttention reads both K and V from
// matched caches. Must run after FuseAttention. All pairs are rewritten or none.
//
// Rows of different lengths step together: the rewrite adds the graph input kKvCacheRowsInput (int64
// [batch, 2]: per batch row its slot in a pool of caches and its own past length) and feeds it to every
// KvCacheAppend and CachedAttention. The caller then feeds each past as a pool ([slots, heads, capacity,
// dim] storage, the logical shape [batch, heads, longest past, dim]) and the mask left-padded to the
// longest row, as for the graph's own Concat caches; a lone sequence is a pool of one slot.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// The input the rewrite adds (see above).
inline constexpr const char* kKvCacheRowsInput = "tessera_kv_cache_rows";

// `past_present`: the (past input, present output) names of the KV caches. Returns "" when the graph was
// rewritten, else why not (the graph is left as it was).
std::string MakeKvCacheInPlace(Graph& graph, const std::vector<std::pair<std::string, std::string>>& past_present,
                               int64_t capacity);

}  // namespace tessera
