// com.tessera KvCacheAppend: the in-place form of a decoder's present = Concat(past, new) on the sequence
// axis, written by graph/passes/kv_cache_in_place for generation.
//
// Inputs: past [B, H, P, D] and new [B, H, S, D], one dtype. Attribute capacity C. The past tensor has its
// logical shape (P rows) but lives in a buffer laid out as [B, H, C, D]: row r of head h sits at
// ((b * H + h) * C + r) * D. The new rows are copied to rows P .. P + S - 1 of that buffer and the output
// is the same buffer with the logical shape [B, H, P + S, D]. Readers of the output's data must read it
// with that layout (com.tessera CachedAttention); Shape readers see the logical length, so position ids
// and masks computed from it stay right. A decode step thus writes S rows per head instead of the whole
// cache. When the past buffer is not the caller's to overwrite (not donated) or not capacity-sized, a
// fresh capacity buffer is filled first: correct, only slower.
//
// Pooled rows (optional input 2, `rows`, int64 [B, 2]: per batch row its slot and its own past length):
// the past buffer is a pool laid out as [slots, H, C, D], so rows of different lengths step together.
// Batch row b lives in slot s_b: its head h row r at ((s_b * H + h) * C + r) * D; it has p_b <= P valid
// rows (P, the past's logical length, is the longest row's) and its new rows go to p_b .. p_b + S - 1.
// The pool must be writable (donated) and hold every named slot; there is no copying fallback, since a
// copy would lose the other rows' slots. CachedAttention reads the same table.
#include <cstring>
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/kv_cache_rows.h"

namespace tessera {
namespace {

class KvCacheAppendKernel : public Kernel {
 public:
  explicit KvCacheAppendKernel(const Node& node) : capacity_(node.GetInt("capacity", 0)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& past = ctx.input(0);
    const Tensor& fresh = ctx.input(1);
    if (past.rank() != 4 || fresh.rank() != 4 || past.dtype() != fresh.dtype() || past.dim(0) != fresh.dim(0) ||
        past.dim(1) != fresh.dim(1) || past.dim(3) != fresh.dim(3)) {
      return KernelContext::Error("past " + ShapeToString(past.shape()) + " and new " + ShapeToString(fresh.shape()) +
                                  " must be [batch, heads, rows, dim] caches of one dtype");
    }
    if (ctx.input_count() > 2 && ctx.has_input(2)) return RunPooled(ctx);
    const int64_t batch = past.dim(0), heads = past.dim(1), rows = past.dim(2), s = fresh.dim(2), dim = past.dim(3);
    if (rows + s > capacity_) {
      return KernelContext::Error("the KV cache is full: " + std::to_string(rows) + " cached + " + std::to_string(s) +
                                  " new positions exceed the context length of " + std::to_string(capacity_) +
                                  " positions");
    }
    const size_t elem = DTypeSize(past.dtype());
    const size_t row_bytes = static_cast<size_t>(dim) * elem;
    const size_t head_bytes = static_cast<size_t>(capacity_) * row_bytes;
    const size_t needed = static_cast<size_t>(batch * heads) * head_bytes;
    Tensor out_storage = past;
    const bool in_place = ctx.input_writable(0) && past.buffer() && past.buffer()->bytes() >= past.offset() + needed;
    if (!in_place) {
      TS_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> buffer, Buffer::Allocate(needed));
      out_storage = Tensor(past.dtype(), past.shape(), buffer);
      const char* from = static_cast<const char*>(past.raw_data());
      // A past of this layout (the previous step's output) or, not knowing, a contiguous one: only a
      // capacity-sized buffer can be the former.
      const bool strided = past.buffer() && past.buffer()->bytes() >= past.offset() + needed;
      const size_t from_head = strided ? head_bytes : static_cast<size_t>(rows) * row_bytes;
      for (int64_t bh = 0; bh < batch * heads && rows > 0; ++bh) {
        std::memcpy(static_cast<char*>(out_storage.raw_data()) + bh * head_bytes, from + bh * from_head,
                    static_cast<size_t>(rows) * row_bytes);
      }
    }
    char* base = static_cast<char*>(out_storage.raw_data());
    const char* src = static_cast<const char*>(fresh.raw_data());
    for (int64_t bh = 0; bh < batch * heads; ++bh) {
      std::memcpy(base + bh * head_bytes + static_cast<size_t>(rows) * row_bytes,
                  src + static_cast<size_t>(bh * s) * row_bytes, static_cast<size_t>(s) * row_bytes);
    }
    ctx.SetOutput(0, Tensor(past.dtype(), {batch, heads, rows + s, dim}, out_storage.buffer(), out_storage.offset()));
    return Status::Ok();
  }

 private:
  Status RunPooled(KernelContext& ctx) {
    const Tensor& past = ctx.input(0);
    const Tensor& fresh = ctx.input(1);
    const int64_t batch = past.dim(0), heads = past.dim(1), s = fresh.dim(2), dim = past.dim(3);
    TS_ASSIGN_OR_RETURN(KvCacheRows rows, ReadKvCacheRows(ctx.input(2), batch, past.dim(2), s, capacity_));
    const size_t elem = DTypeSize(past.dtype());
    const size_t row_bytes = static_cast<size_t>(dim) * elem;
    const size_t head_bytes = static_cast<size_t>(capacity_) * row_bytes;
    const size_t needed = static_cast<size_t>((rows.max_slot + 1) * heads) * head_bytes;
    if (!ctx.input_writable(0) || !past.buffer() || past.buffer()->bytes() < past.offset() + needed) {
      return KernelContext::Error("a pooled KV cache must be a donated buffer of at least " +
                                  std::to_string(rows.max_slot + 1) + " slots of " + std::to_string(capacity_) +
                                  " positions");
    }
    Tensor pool = past;  // the same buffer, which this node may write (checked above)
    char* base = static_cast<char*>(pool.raw_data());
    const char* src = static_cast<const char*>(fresh.raw_data());
    for (int64_t b = 0; b < batch; ++b) {
      const size_t slot = static_cast<size_t>(rows.slot[static_cast<size_t>(b)]);
      const size_t at = static_cast<size_t>(rows.past[static_cast<size_t>(b)]) * row_bytes;
      for (int64_t h = 0; h < heads; ++h) {
        std::memcpy(base + (slot * static_cast<size_t>(heads) + static_cast<size_t>(h)) * head_bytes + at,
                    src + static_cast<size_t>((b * heads + h) * s) * row_bytes, static_cast<size_t>(s) * row_bytes);
      }
    }
    ctx.SetOutput(0, Tensor(past.dtype(), {batch, heads, past.dim(2) + s, dim}, past.buffer(), past.offset()));
    return Status::Ok();
  }

  int64_t capacity_;
};

}  // namespace

KernelFactory KvCacheAppendFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    if (init.node.GetInt("capacity", 0) <= 0) {
      return InvalidArgument("KvCacheAppend node '" + init.node.name + "' needs a capacity > 0");
    }
    return std::unique_ptr<Kernel>(std::make_unique<KvCacheAppendKernel>(init.node));
  };
}

}  // namespace tessera
