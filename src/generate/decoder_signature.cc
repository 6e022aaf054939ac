// Decoder calling-convention detection (decoder_signature.h).
#include "generate/decoder_signature.h"

#include <algorithm>

#include "graph/passes/kv_cache_in_place.h"

namespace tessera::generate {

namespace {

const TensorInfo* Find(const std::vector<TensorInfo>& values, const std::string& name) {
  for (const TensorInfo& v : values) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

bool IsIndexType(DType d) { return d == DType::kInt64 || d == DType::kInt32; }

// `chosen` (an override) must exist; otherwise the first of `defaults` that does, or none.
StatusOr<const TensorInfo*> Role(const std::string& model_name, const std::vector<TensorInfo>& values,
                                 const std::string& chosen, const std::vector<std::string>& defaults,
                                 const char* what) {
  if (!chosen.empty()) {
    const TensorInfo* v = Find(values, chosen);
    if (!v) return NotFound("model '" + model_name + "' has no " + what + " named '" + chosen + "'");
    return v;
  }
  for (const std::string& d : defaults) {
    if (const TensorInfo* v = Find(values, d)) return v;
  }
  return static_cast<const TensorInfo*>(nullptr);
}

Status CheckIndexInput(const std::string& model_name, const TensorInfo* v, size_t rank) {
  if (!IsIndexType(v->dtype)) {
    return InvalidArgument("model '" + model_name + "': input '" + v->name + "' is " + DTypeName(v->dtype) +
                           ", expected int64 or int32");
  }
  if (v->has_shape && v->dims.size() != rank) {
    return InvalidArgument("model '" + model_name + "': input '" + v->name + "' has rank " +
                           std::to_string(v->dims.size()) + ", expected " + std::to_string(rank));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<DecoderSignature> DetectDecoderSignature(const std::string& model_name, const std::vector<TensorInfo>& inputs,
                                                  const std::vector<TensorInfo>& outputs, DecoderForm form,
                                                  const DecoderNames& names) {
  DecoderSignature sig;
  sig.form = form == DecoderForm::kGenAi ? DecoderForm::kGenAi : DecoderForm::kOptimum;
  std::vector<std::string> known;

  TS_ASSIGN_OR_RETURN(const TensorInfo* ids, Role(model_name, inputs, names.input_ids, {"input_ids"}, "ids input"));
  if (!ids) {
    if (Find(inputs, "inputs_embeds")) {
      return Unimplemented("model '" + model_name +
                           "' takes inputs_embeds, not input_ids: it needs its embedding graph (e.g. "
                           "embed_tokens.onnx) run first, which tessera generate does not do yet");
    }
    return NotFound("model '" + model_name + "' has no 'input_ids' input; name the ids input with --input-ids-name");
  }
  TS_RETURN_IF_ERROR(CheckIndexInput(model_name, ids, 2));
  sig.input_ids = ids->name;
  sig.ids_dtype = ids->dtype;
  sig.batch_dynamic = ids->has_shape && !ids->dims.empty() && ids->dims[0] < 0;
  known.push_back(ids->name);

  TS_ASSIGN_OR_RETURN(const TensorInfo* mask,
                      Role(model_name, inputs, names.attention_mask, {"attention_mask"}, "mask input"));
  if (mask) {
    TS_RETURN_IF_ERROR(CheckIndexInput(model_name, mask, 2));
    sig.attention_mask = mask->name;
    sig.mask_dtype = mask->dtype;
    known.push_back(mask->name);
  }

  TS_ASSIGN_OR_RETURN(const TensorInfo* pos,
                      Role(model_name, inputs, names.position_ids, {"position_ids"}, "position input"));
  if (pos) {
    bool three = pos->has_shape && pos->dims.size() == 3;
    if (three && pos->dims[0] != 3) {
      return InvalidArgument("model '" + model_name + "': position input '" + pos->name +
                             "' has rank 3 but its first dim is not 3 (expected [3, batch, sequence])");
    }
    TS_RETURN_IF_ERROR(CheckIndexInput(model_name, pos, three ? 3 : 2));
    sig.position_ids = pos->name;
    sig.position_dtype = pos->dtype;
    sig.position_layout = three ? PositionIdsLayout::kThreeStream : PositionIdsLayout::kPerToken;
    known.push_back(pos->name);
  }

  if (const TensorInfo* branch = Find(inputs, "use_cache_branch")) {
    if (branch->dtype != DType::kBool) {
      return InvalidArgument("model '" + model_name + "': input 'use_cache_branch' is " + DTypeName(branch->dtype) +
                             ", expected bool");
    }
    sig.use_cache_branch = branch->name;
    known.push_back(branch->name);
  }
  for (const char* name : {"seqlens_k", "total_sequence_length"}) {
    const TensorInfo* v = Find(inputs, name);
    if (!v) continue;
    if (v->dtype != DType::kInt32) {
      return InvalidArgument("model '" + model_name + "': input '" + name + "' is " + DTypeName(v->dtype) +
                             ", expected int32 (GroupQueryAttention)");
    }
    (std::string(name) == "seqlens_k" ? sig.seqlens_k : sig.total_sequence_length) = name;
    known.push_back(name);
  }

  if (const TensorInfo* rows = Find(inputs, kKvCacheRowsInput)) {
    sig.kv_cache_rows = rows->name;
    known.push_back(rows->name);
  }

  TS_ASSIGN_OR_RETURN(const TensorInfo* logits, Role(model_name, outputs, names.logits, {"logits"}, "logits output"));
  if (!logits) {
    return NotFound("model '" + model_name + "' has no 'logits' output; name it with --logits-name");
  }
  if (logits->dtype != DType::kFloat32 && logits->dtype != DType::kFloat16 && logits->dtype != DType::kBFloat16) {
    return InvalidArgument("model '" + model_name + "': logits output '" + logits->name + "' is " +
                           DTypeName(logits->dtype) + ", expected float32, float16 or bfloat16");
  }
  sig.logits = logits->name;
  sig.logits_dtype = logits->dtype;
  if (logits->has_shape && !logits->dims.empty()) sig.vocab_size = logits->dims.back();

  std::vector<TensorInfo> cache_inputs;
  for (const TensorInfo& in : inputs) {
    if (std::find(known.begin(), known.end(), in.name) == known.end()) cache_inputs.push_back(in);
  }
  TS_ASSIGN_OR_RETURN(sig.cache, PairCacheValues(model_name, cache_inputs, outputs, {sig.logits}, names.cache));
  for (const CacheSlot& slot : sig.cache) {
    // The runtime only moves cache bytes (float32, float16, bfloat16, or a quantized cache alike).
    if (slot.dtype == DType::kString || DTypeSize(slot.dtype) == 0) {
      return Unimplemented("model '" + model_name + "': cache input '" + slot.past_input + "' is " +
                           DTypeName(slot.dtype) + ", which cannot be carried between steps");
    }
  }
  return sig;
}

}  // namespace tessera::generate
