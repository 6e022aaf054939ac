// The calling convention of a decoder graph: which input takes the token ids, the mask, the positions,
// which output gives the logits, and which inputs carry state between steps (cache_pairing.h).
//
// Detected from the graph's input and output names:
//   Optimum / transformers.js: input_ids, attention_mask, optional position_ids ([b,s], or [3,b,s] for
//     multi-stream rotary positions), past_key_values.N.key/.value -> logits, present.N.key/.value;
//     merged decoders add a bool use_cache_branch (false on the prompt step, true after).
//   ONNX Runtime GenAI (genai_config.json beside the model): names from the config's templates, ids often
//     int32, and seqlens_k ([b] int32: tokens seen minus one) / total_sequence_length (scalar int32) for
//     GroupQueryAttention.
// Hybrid models' fixed-size states pair like KV caches. A graph taking inputs_embeds instead of ids needs
// its embedding graph, which this runtime does not run: that is an Unimplemented error saying so.
#pragma once

#include <string>
#include <vector>

#include "generate/cache_pairing.h"
#include "tessera/session.h"

namespace tessera::generate {

enum class DecoderForm { kAuto, kOptimum, kGenAi };
enum class PositionIdsLayout { kNone, kPerToken, kThreeStream };

// Names that replace detection where set (--input-ids-name ..., or genai_config.json's inputs/outputs).
struct DecoderNames {
  std::string input_ids;
  std::string attention_mask;
  std::string position_ids;
  std::string logits;
  CacheNameTemplates cache;
};

struct DecoderSignature {
  DecoderForm form = DecoderForm::kOptimum;
  std::string input_ids;
  DType ids_dtype = DType::kInt64;
  std::string attention_mask;  // empty when the graph takes none
  DType mask_dtype = DType::kInt64;
  std::string position_ids;  // empty when the graph takes none
  DType position_dtype = DType::kInt64;
  PositionIdsLayout position_layout = PositionIdsLayout::kNone;
  std::string use_cache_branch;       // merged decoders; empty otherwise
  std::string seqlens_k;              // GenAI GroupQueryAttention; empty otherwise
  std::string total_sequence_length;  // GenAI GroupQueryAttention; empty otherwise
  std::string logits;
  DType logits_dtype = DType::kFloat32;
  int64_t vocab_size = -1;  // the logits' last dim when the graph declares it
  std::vector<CacheSlot> cache;
  bool batch_dynamic = false;  // input_ids' batch dim is unknown: several sequences may share one step
  // When > 0, each sequence's KV caches are one buffer of this many positions, allocated at its first step
  // and written in place by the graph's GroupQueryAttention (GenAI's past_present_share_buffer); 0: the
  // caches grow by the graph's present outputs.
  int64_t cache_capacity = 0;
  // With cache_capacity > 0: true when the cache tensors keep their logical length (past + new rows) and
  // only their buffers hold cache_capacity rows per head (Optimum graphs rewritten by
  // graph/passes/kv_cache_in_place); false for GenAI's shared buffer, whose tensors are capacity-long.
  bool cache_strided = false;
  // With cache_strided: the int64 [batch, 2] input naming each row's pool slot and past length
  // (graph/passes/kv_cache_in_place.h), so rows of different lengths step together; empty otherwise.
  std::string kv_cache_rows;
};

// `form` kAuto means Optimum naming unless `names` came from a GenAI config (the caller passes kGenAi
// then). Errors name the model and the value at fault.
StatusOr<DecoderSignature> DetectDecoderSignature(const std::string& model_name, const std::vector<TensorInfo>& inputs,
                                                  const std::vector<TensorInfo>& outputs, DecoderForm form,
                                                  const DecoderNames& names);

}  // namespace tessera::generate
