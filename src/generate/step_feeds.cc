// Feeds for one batched step (step_batch.h): ids, mask, positions, GenAI lengths, and the caches.
#include <algorithm>
#include <cstring>

#include "generate/kv_cache_pool.h"
#include "generate/step_batch.h"

namespace tessera::generate {

namespace {

void SetIndex(Tensor& t, int64_t i, int64_t value) {
  if (t.dtype() == DType::kInt64) {
    t.data<int64_t>()[i] = value;
  } else {
    t.data<int32_t>()[i] = static_cast<int32_t>(value);
  }
}

// The cache slot's declared shape with the batch and sequence dims set.
StatusOr<Shape> SlotShape(const std::string& model_name, const CacheSlot& slot, int64_t batch, int64_t length) {
  Shape shape = slot.dims;
  shape[0] = batch;
  if (slot.grows) shape[static_cast<size_t>(slot.seq_axis)] = length;
  for (int64_t d : shape) {
    if (d < 0) {
      return InvalidArgument("model '" + model_name + "': cache input '" + slot.past_input + "' has shape " +
                             ShapeToString(slot.dims) + " with an unknown dim that cannot be inferred");
    }
  }
  return shape;
}

// Bytes of one step of the sequence axis below it, and the count of blocks above it (batch excluded).
void AxisSplit(const Shape& shape, int64_t axis, size_t elem, size_t& outer, size_t& inner) {
  outer = 1;
  inner = elem;
  for (int64_t a = 1; a < axis; ++a) outer *= static_cast<size_t>(shape[static_cast<size_t>(a)]);
  for (size_t a = static_cast<size_t>(axis) + 1; a < shape.size(); ++a) inner *= static_cast<size_t>(shape[a]);
}

// One slot's batched past: the rows' caches, KV caches left-padded to `max_past`.
StatusOr<Tensor> BatchedCache(const std::string& model_name, const CacheSlot& slot, size_t index,
                              const std::vector<Sequence*>& rows, const std::vector<int64_t>& past, int64_t max_past,
                              int64_t capacity, bool strided) {
  if (capacity > 0 && rows.size() != 1) return Internal("a shared KV buffer runs one sequence per step");
  const int64_t batch = static_cast<int64_t>(rows.size());
  if (batch == 1 && !rows[0]->cache.empty()) return rows[0]->cache[index];  // shared, not copied
  // With a shared buffer (batch 1, first step) the cache is allocated once at its full capacity.
  TS_ASSIGN_OR_RETURN(Shape shape, SlotShape(model_name, slot, batch, capacity > 0 ? capacity : max_past));
  Shape shape_empty = shape;
  if (slot.grows) shape_empty[static_cast<size_t>(slot.seq_axis)] = 0;
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(slot.dtype, shape));  // zeros: padding and first-step states
  // A strided cache (decoder_signature.h) starts empty: its logical length is 0, its buffer the capacity.
  if (strided && slot.grows) return Tensor(slot.dtype, std::move(shape_empty), out.buffer());
  const size_t elem = DTypeSize(slot.dtype);
  size_t outer = 1, inner = elem;
  if (slot.grows) AxisSplit(shape, slot.seq_axis, elem, outer, inner);
  const size_t row_bytes = out.byte_size() / static_cast<size_t>(batch);
  for (size_t b = 0; b < rows.size(); ++b) {
    if (rows[b]->cache.empty()) continue;
    const Tensor& src = rows[b]->cache[index];
    const char* from = static_cast<const char*>(src.raw_data());
    char* to = static_cast<char*>(out.raw_data()) + b * row_bytes;
    if (!slot.grows) {
      std::memcpy(to, from, row_bytes);
      continue;
    }
    const size_t pad = static_cast<size_t>(max_past - past[b]);
    const size_t run = static_cast<size_t>(past[b]) * inner;
    for (size_t o = 0; o < outer; ++o) {
      std::memcpy(to + (o * static_cast<size_t>(max_past) + pad) * inner, from + o * run, run);
    }
  }
  return out;
}

// In-place caches (kv_cache_pool.h): each past is its pool with the logical shape [batch, heads, longest
// past, dim], and the row table says where each row's slot is and how long its cache.
Status AddPooledCaches(const std::string& model_name, const DecoderSignature& sig, const std::vector<Sequence*>& rows,
                       StepFeeds& step) {
  const int64_t batch = static_cast<int64_t>(rows.size());
  const KvCachePool* pool = rows[0]->kv_lease ? rows[0]->kv_lease->pool.get() : nullptr;
  for (Sequence* row : rows) {
    if (!row->kv_lease || row->kv_lease->pool.get() != pool) {
      return Internal("model '" + model_name + "': the rows of a step with in-place caches need slots of one pool");
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor table, Tensor::Allocate(DType::kInt64, {batch, 2}));
  for (int64_t b = 0; b < batch; ++b) {
    table.data<int64_t>()[2 * b] = rows[static_cast<size_t>(b)]->kv_lease->slot;
    table.data<int64_t>()[2 * b + 1] = step.past[static_cast<size_t>(b)];
  }
  step.feeds.emplace_back(sig.kv_cache_rows, table);
  for (size_t c = 0; c < sig.cache.size(); ++c) {
    const Tensor& storage = pool->storage(c);
    Shape logical = storage.shape();
    logical[0] = batch;
    logical[2] = step.max_past;
    step.feeds.emplace_back(sig.cache[c].past_input,
                            Tensor(storage.dtype(), logical, storage.buffer(), storage.offset()));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<StepFeeds> BuildStepFeeds(const std::string& model_name, const DecoderSignature& sig,
                                   const std::vector<Sequence*>& rows) {
  StepFeeds step;
  const int64_t batch = static_cast<int64_t>(rows.size());
  step.pending = rows.at(0)->pending();
  for (Sequence* row : rows) {
    if (row->pending() != step.pending || step.pending <= 0) {
      return Internal("a batched step needs every row to have the same number (> 0) of pending tokens");
    }
    if (!row->cache.empty() && row->cache.size() != sig.cache.size()) {
      return Internal("a sequence's cache does not match model '" + model_name + "'");
    }
    step.past.push_back(row->cached);
    step.max_past = std::max(step.max_past, row->cached);
  }
  const int64_t s = step.pending;
  const int64_t total = step.max_past + s;

  TS_ASSIGN_OR_RETURN(Tensor ids, Tensor::Allocate(sig.ids_dtype, {batch, s}));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < s; ++i) SetIndex(ids, b * s + i, rows[b]->tokens[static_cast<size_t>(step.past[b] + i)]);
  }
  step.feeds.emplace_back(sig.input_ids, ids);

  if (!sig.attention_mask.empty()) {
    TS_ASSIGN_OR_RETURN(Tensor mask, Tensor::Allocate(sig.mask_dtype, {batch, total}));
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = step.max_past - step.past[b]; j < total; ++j) SetIndex(mask, b * total + j, 1);
    }
    step.feeds.emplace_back(sig.attention_mask, mask);
  }
  if (!sig.position_ids.empty()) {
    // Real positions: padding does not count, so a row's positions do not depend on its batch mates.
    const bool three = sig.position_layout == PositionIdsLayout::kThreeStream;
    Shape shape = three ? Shape{3, batch, s} : Shape{batch, s};
    TS_ASSIGN_OR_RETURN(Tensor pos, Tensor::Allocate(sig.position_dtype, shape));
    for (int64_t stream = 0; stream < (three ? 3 : 1); ++stream) {
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t i = 0; i < s; ++i) SetIndex(pos, (stream * batch + b) * s + i, step.past[b] + i);
      }
    }
    step.feeds.emplace_back(sig.position_ids, pos);
  }
  if (!sig.use_cache_branch.empty()) {
    TS_ASSIGN_OR_RETURN(Tensor branch, Tensor::Allocate(DType::kBool, {1}));
    branch.data<uint8_t>()[0] = step.max_past > 0 ? 1 : 0;
    step.feeds.emplace_back(sig.use_cache_branch, branch);
  }
  if (!sig.seqlens_k.empty()) {
    TS_ASSIGN_OR_RETURN(Tensor seqlens, Tensor::Allocate(DType::kInt32, {batch}));
    for (int64_t b = 0; b < batch; ++b) seqlens.data<int32_t>()[b] = static_cast<int32_t>(step.past[b] + s - 1);
    step.feeds.emplace_back(sig.seqlens_k, seqlens);
  }
  if (!sig.total_sequence_length.empty()) {
    TS_ASSIGN_OR_RETURN(Tensor length, Tensor::Allocate(DType::kInt32, {}));
    length.data<int32_t>()[0] = static_cast<int32_t>(total);
    step.feeds.emplace_back(sig.total_sequence_length, length);
  }
  if (!sig.kv_cache_rows.empty()) {
    TS_RETURN_IF_ERROR(AddPooledCaches(model_name, sig, rows, step));
    return step;
  }
  for (size_t c = 0; c < sig.cache.size(); ++c) {
    TS_ASSIGN_OR_RETURN(Tensor past,
                        BatchedCache(model_name, sig.cache[c], c, rows, step.past, step.max_past, sig.cache_capacity,
                                                     sig.cache_strided));
    step.feeds.emplace_back(sig.cache[c].past_input, past);
  }
  return step;
}

}  // namespace tessera::generate
