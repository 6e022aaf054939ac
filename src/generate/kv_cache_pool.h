// KvCachePool: the in-place KV caches of a decoder's sequences (graph/passes/kv_cache_in_place.h), as
// one buffer per cache value of [slots, heads, capacity, dim]. A sequence leases a slot at its first step
// and keeps it (and so its cache's address) until it ends; rows in the same pool step together whatever
// their lengths, each writing and reading its own slot (the graph's kKvCacheRowsInput says which).
//
// Chosen over a buffer per sequence because a step's past tensor is one buffer, and over pages because a
// slot of the context length needs no page table in the kernels. The storage is left uninitialized, so
// the memory behind a slot is committed only as its rows are written; the address space is reserved for
// slots x context length up front (Create halves the slot count until that fits the memory limit).
//
// Thread safety: Acquire and the leases' release may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "generate/decoder_signature.h"

namespace tessera::generate {

class KvCachePool;

// A sequence's slot: given back to its pool when the last holder lets go.
struct KvCacheLease {
  KvCacheLease(std::shared_ptr<KvCachePool> p, int64_t s) : pool(std::move(p)), slot(s) {}
  ~KvCacheLease();
  KvCacheLease(const KvCacheLease&) = delete;
  KvCacheLease& operator=(const KvCacheLease&) = delete;

  const std::shared_ptr<KvCachePool> pool;  // keeps the storage alive while a sequence holds the slot
  const int64_t slot;
};

class KvCachePool : public std::enable_shared_from_this<KvCachePool> {
 public:
  // Storage for up to `slots` sequences of `capacity` positions of every cache value of `sig` (dims other
  // than batch and sequence must be known); fewer slots (down to 1) when the memory limit refuses. `id`
  // tells pools apart (DecoderModel::Step groups rows by it).
  static StatusOr<std::shared_ptr<KvCachePool>> Create(const std::string& model_name, const DecoderSignature& sig,
                                                       int64_t slots, int64_t capacity, int64_t id);

  // A free slot, or null when every slot is leased.
  std::shared_ptr<KvCacheLease> Acquire();

  int64_t id() const { return id_; }
  int64_t slots() const { return slots_; }
  int64_t capacity() const { return capacity_; }
  // Cache value `c`'s pool: shape [slots, heads, capacity, dim] (the signature's dims).
  const Tensor& storage(size_t c) const { return storage_[c]; }
  // Bytes of one slot of cache value `c`.
  size_t slot_bytes(size_t c) const { return storage_[c].byte_size() / static_cast<size_t>(slots_); }

 private:
  friend struct KvCacheLease;
  KvCachePool(std::vector<Tensor> storage, int64_t slots, int64_t capacity, int64_t id);
  void Release(int64_t slot);

  std::vector<Tensor> storage_;
  const int64_t slots_, capacity_, id_;
  std::mutex mu_;
  std::vector<int64_t> free_;  // slots not leased; handed out from the back
};

}  // namespace tessera::generate
