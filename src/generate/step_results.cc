// Results of one batched step (step_batch.h): each row's new cache and its last-position logits.
#include <cstring>

#include "core/half.h"
#include "generate/kv_cache_pool.h"
#include "generate/step_batch.h"

namespace tessera::generate {

namespace {

const Tensor* Output(const std::vector<std::string>& names, const std::vector<Tensor>& outputs, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return &outputs[i];
  }
  return nullptr;
}

// Row `b`'s part of a batched present tensor: a view when it is contiguous, else a copy without padding.
StatusOr<Tensor> RowCache(const CacheSlot& slot, const Tensor& present, size_t b, int64_t pad) {
  const size_t batch = static_cast<size_t>(present.dim(0));
  Shape row_shape = present.shape();
  row_shape[0] = 1;
  const size_t row_bytes = present.byte_size() / batch;
  if (batch == 1) return present;
  if (!slot.grows || pad == 0) return Tensor(present.dtype(), row_shape, present.buffer(), present.offset() + b * row_bytes);
  const size_t axis = static_cast<size_t>(slot.seq_axis);
  const int64_t length = present.dim(static_cast<int64_t>(axis));
  row_shape[axis] = length - pad;
  TS_ASSIGN_OR_RETURN(Tensor row, Tensor::AllocateUninitialized(present.dtype(), row_shape));
  size_t outer = 1, inner = DTypeSize(present.dtype());
  for (size_t a = 1; a < axis; ++a) outer *= static_cast<size_t>(row_shape[a]);
  for (size_t a = axis + 1; a < row_shape.size(); ++a) inner *= static_cast<size_t>(row_shape[a]);
  const char* from = static_cast<const char*>(present.raw_data()) + b * row_bytes;
  char* to = static_cast<char*>(row.raw_data());
  const size_t kept = static_cast<size_t>(length - pad) * inner;
  for (size_t o = 0; o < outer; ++o) {
    std::memcpy(to + o * kept, from + (o * static_cast<size_t>(length) + static_cast<size_t>(pad)) * inner, kept);
  }
  return row;
}

std::vector<float> LogitsRow(const Tensor& logits, int64_t b) {
  // [batch, sequence, vocab] or [batch, vocab]: the last position of row b.
  const int64_t vocab = logits.dim(logits.rank() - 1);
  const int64_t positions = logits.rank() == 3 ? logits.dim(1) : 1;
  const int64_t start = (b * positions + positions - 1) * vocab;
  std::vector<float> row(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v) {
    switch (logits.dtype()) {
      case DType::kFloat16: row[v] = HalfToFloat(logits.data<uint16_t>()[start + v]); break;
      case DType::kBFloat16: row[v] = BFloat16ToFloat(logits.data<uint16_t>()[start + v]); break;
      default: row[v] = logits.data<float>()[start + v]; break;
    }
  }
  return row;
}

}  // namespace

StatusOr<std::vector<std::vector<float>>> TakeStepResults(const std::string& model_name, const DecoderSignature& sig,
                                                          const StepFeeds& step,
                                                          const std::vector<std::string>& output_names,
                                                          std::vector<Tensor>& outputs,
                                                          const std::vector<Sequence*>& rows) {
  const int64_t batch = static_cast<int64_t>(rows.size());
  const Tensor* logits = Output(output_names, outputs, sig.logits);
  if (!logits || (logits->rank() != 3 && logits->rank() != 2) || logits->dim(0) != batch ||
      logits->dim(logits->rank() - 1) < 1 || logits->dtype() != sig.logits_dtype) {
    return InvalidArgument("model '" + model_name + "': output '" + sig.logits + "' has shape " +
                           (logits ? ShapeToString(logits->shape()) : "(none)") + ", expected [" +
                           std::to_string(batch) + ", sequence, vocab] logits");
  }
  for (size_t c = 0; c < sig.cache.size(); ++c) {
    const CacheSlot& slot = sig.cache[c];
    const Tensor* present = Output(output_names, outputs, slot.present_output);
    const int64_t expected =
        sig.cache_capacity > 0 && !sig.cache_strided ? sig.cache_capacity : step.max_past + step.pending;
    bool ok = present && present->dtype() == slot.dtype && present->rank() == static_cast<int64_t>(slot.dims.size()) &&
              present->dim(0) == batch && (!slot.grows || present->dim(slot.seq_axis) == expected);
    if (!ok) {
      return InvalidArgument("model '" + model_name + "': output '" + slot.present_output + "' has shape " +
                             (present ? ShapeToString(present->shape()) : "(none)") + "; expected batch " +
                             std::to_string(batch) +
                             (slot.grows ? " and sequence length " + std::to_string(expected) : std::string()) +
                             " to feed back as '" + slot.past_input + "'");
    }
  }
  std::vector<std::vector<float>> result;
  for (size_t b = 0; b < rows.size(); ++b) {
    std::vector<Tensor> cache;
    if (!sig.kv_cache_rows.empty()) {
      // In place: the step wrote the new rows into the row's slot; its cache is a view of that slot.
      const KvCacheLease& lease = *rows[b]->kv_lease;
      const int64_t length = step.past[b] + step.pending;
      for (size_t c = 0; c < sig.cache.size(); ++c) {
        const Tensor& storage = lease.pool->storage(c);
        Shape shape = storage.shape();
        shape[0] = 1;
        shape[2] = length;
        cache.emplace_back(storage.dtype(), shape, storage.buffer(),
                           storage.offset() + static_cast<size_t>(lease.slot) * lease.pool->slot_bytes(c));
      }
      rows[b]->cache = std::move(cache);
      rows[b]->cached += step.pending;
      result.push_back(LogitsRow(*logits, static_cast<int64_t>(b)));
      continue;
    }
    for (size_t c = 0; c < sig.cache.size(); ++c) {
      const Tensor& present = *Output(output_names, outputs, sig.cache[c].present_output);
      TS_ASSIGN_OR_RETURN(Tensor row, RowCache(sig.cache[c], present, b, step.max_past - step.past[b]));
      cache.push_back(std::move(row));
    }
    rows[b]->cache = std::move(cache);
    rows[b]->cached += step.pending;
    result.push_back(LogitsRow(*logits, static_cast<int64_t>(b)));
  }
  return result;
}

}  // namespace tessera::generate
