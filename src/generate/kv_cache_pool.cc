// KvCachePool (kv_cache_pool.h).
#include "generate/kv_cache_pool.h"

#include <string>

namespace tessera::generate {

KvCacheLease::~KvCacheLease() { pool->Release(slot); }

KvCachePool::KvCachePool(std::vector<Tensor> storage, int64_t slots, int64_t capacity, int64_t id)
    : storage_(std::move(storage)), slots_(slots), capacity_(capacity), id_(id) {
  for (int64_t s = slots - 1; s >= 0; --s) free_.push_back(s);
}

StatusOr<std::shared_ptr<KvCachePool>> KvCachePool::Create(const std::string& model_name, const DecoderSignature& sig,
                                                            int64_t slots, int64_t capacity, int64_t id) {
  std::vector<Shape> shapes;
  for (const CacheSlot& slot : sig.cache) {
    Shape shape = slot.dims;
    if (!slot.grows || shape.size() != 4 || slot.seq_axis != 2) {
      return InvalidArgument("model '" + model_name + "': cache input '" + slot.past_input +
                             "' is not a [batch, heads, sequence, dim] KV cache");
    }
    shape[2] = capacity;
    for (size_t a = 1; a < shape.size(); ++a) {
      if (shape[a] <= 0) {
        return InvalidArgument("model '" + model_name + "': cache input '" + slot.past_input + "' has shape " +
                               ShapeToString(slot.dims) + " with an unknown dim that cannot be inferred");
      }
    }
    shapes.push_back(std::move(shape));
  }
  for (slots = std::max<int64_t>(1, slots);; slots /= 2) {
    std::vector<Tensor> storage;
    Status failed = Status::Ok();
    for (Shape shape : shapes) {
      shape[0] = slots;
      auto t = Tensor::AllocateUninitialized(sig.cache[storage.size()].dtype, std::move(shape));
      if (!t.ok()) {
        failed = t.status();
        break;
      }
      storage.push_back(std::move(*t));
    }
    if (failed.ok()) {
      return std::shared_ptr<KvCachePool>(new KvCachePool(std::move(storage), slots, capacity, id));
    }
    if (slots == 1 || failed.code() != StatusCode::kResourceExhausted) {
      return failed.WithContext("model '" + model_name + "': the KV cache of " + std::to_string(slots) +
                                " sequences of " + std::to_string(capacity) + " positions");
    }
  }
}

std::shared_ptr<KvCacheLease> KvCachePool::Acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return nullptr;
  const int64_t slot = free_.back();
  free_.pop_back();
  return std::make_shared<KvCacheLease>(shared_from_this(), slot);
}

void KvCachePool::Release(int64_t slot) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(slot);
}

}  // namespace tessera::generate
