// Packing a MatMulNBits weight into the panels of matmul_nbits_panels.h (once, when the kernel is created).
#include "ops/cpu/quantization/matmul_nbits_panels.h"

#include <algorithm>
#include <cstring>

namespace tessera {

bool NBitsPanelsSupport(const NBitsWeights& w) {
  return NBitsGemvInt8Available() && w.g_idx.empty() && w.block_size <= 4096;
}

Status PackNBitsPanels(const NBitsWeights& w, NBitsPanels& out) {
  NBitsPanels p;
  p.K = w.K;
  p.N = w.N;
  p.bits = w.bits;
  p.block_size = w.block_size;
  p.k_blocks = w.k_blocks;
  p.blob_size = w.blob_size;
  p.panels = (w.N + kNBitsPanelColumns - 1) / kNBitsPanelColumns;
  p.record_bytes = 64 + kNBitsPanelColumns * w.blob_size;
  if (w.zero_bytes.empty()) {
    p.zero = NBitsPanelZero::kFloat;
  } else if (std::all_of(w.zero_bytes.begin(), w.zero_bytes.end(), [&](uint8_t z) { return z == w.zero_bytes[0]; })) {
    p.zero = NBitsPanelZero::kConstant;
    p.zero_constant = w.zero_bytes[0];
  } else {
    p.zero = NBitsPanelZero::kBytes;
  }
  TS_ASSIGN_OR_RETURN(p.records, Buffer::Allocate(static_cast<size_t>(p.panels * p.k_blocks * p.record_bytes), true));
  const size_t lanes = static_cast<size_t>(p.panels * p.k_blocks * kNBitsPanelColumns);
  if (p.zero == NBitsPanelZero::kBytes) p.zero_bytes.assign(lanes, 0);
  if (p.zero == NBitsPanelZero::kFloat) p.scaled_zero.assign(lanes, 0.0f);
  uint8_t* records = static_cast<uint8_t*>(p.records->data());
  const int64_t row_bytes = w.k_blocks * w.blob_size, chunks = w.blob_size / 4;
  for (int64_t n = 0; n < w.N; ++n) {
    const int64_t panel = n / kNBitsPanelColumns, lane = n % kNBitsPanelColumns;
    for (int64_t g = 0; g < w.k_blocks; ++g) {
      uint8_t* record = records + (panel * p.k_blocks + g) * p.record_bytes;
      const size_t wi = static_cast<size_t>(n * w.k_blocks + g);
      std::memcpy(record + 4 * lane, &w.scales[wi], sizeof(float));
      const uint8_t* blob = w.q + n * row_bytes + g * w.blob_size;
      for (int64_t j = 0; j < chunks; ++j) std::memcpy(record + 64 * (1 + j) + 4 * lane, blob + 4 * j, 4);
      const size_t zi = static_cast<size_t>((panel * p.k_blocks + g) * kNBitsPanelColumns + lane);
      if (p.zero == NBitsPanelZero::kBytes) p.zero_bytes[zi] = w.zero_bytes[wi];
      if (p.zero == NBitsPanelZero::kFloat) p.scaled_zero[zi] = w.scaled_zero[wi];
    }
  }
  out = std::move(p);
  return Status::Ok();
}

}  // namespace tessera
