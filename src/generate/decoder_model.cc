// DecoderModel (decoder_model.h): loading, and grouping sequences into model steps.
#include "generate/decoder_model.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "generate/step_batch.h"
#include "graph/passes/attention_fusion.h"
#include "graph/passes/kv_cache_in_place.h"
#include "parallel/tensor/tensor_parallel.h"
#include "runtime/session_factory.h"

namespace tessera::generate {

namespace {

void MergeNames(const DecoderNames& overrides, DecoderNames& names) {
  for (auto [from, to] : {std::pair{&overrides.input_ids, &names.input_ids},
                          std::pair{&overrides.attention_mask, &names.attention_mask},
                          std::pair{&overrides.position_ids, &names.position_ids},
                          std::pair{&overrides.logits, &names.logits}}) {
    if (!from->empty()) *to = *from;
  }
  if (!overrides.cache.past.empty()) names.cache = overrides.cache;
}

// The decoder's KV cache as value names (every past input and present output), found in the graph as
// FromSession will find it in the session, so that the tensor-parallel split keeps them as head shards.
StatusOr<std::set<std::string>> CacheValueNames(const Graph& graph, const DecoderFiles& files,
                                                const DecoderNames& overrides) {
  std::vector<TensorInfo> inputs, outputs;
  for (int id : graph.inputs) inputs.push_back(TensorInfoOf(graph.value(id)));
  for (int id : graph.outputs) outputs.push_back(TensorInfoOf(graph.value(id)));
  DecoderNames names = files.names;
  MergeNames(overrides, names);
  TS_ASSIGN_OR_RETURN(DecoderSignature sig,
                      DetectDecoderSignature(files.model_path, inputs, outputs, files.form, names));
  std::set<std::string> cache;
  for (const CacheSlot& slot : sig.cache) {
    cache.insert(slot.past_input);
    cache.insert(slot.present_output);
  }
  return cache;
}

// Loads the session with this rank's tensor-parallel split. The split's rewrite (which registers the
// group for the collective kernels) is made inside the graph rewrite, once the cache names are known,
// and kept until the session is built.
StatusOr<std::unique_ptr<Session>> LoadTensorParallelSession(const DecoderFiles& files, const DecoderOptions& options,
                                                             const SessionOptions& session_options) {
  auto split = std::make_shared<GraphRewrite>();
  Communicator* group = options.tensor_group;
  GraphRewrite rewrite = [split, group, &files, &options](Graph& graph) -> Status {
    TensorParallelOptions tp_options;
    TS_ASSIGN_OR_RETURN(tp_options.sharded_io, CacheValueNames(graph, files, options.names));
    TS_ASSIGN_OR_RETURN(*split, MakeTensorParallelRewrite(*group, tp_options));
    return *split ? (*split)(graph) : Status::Ok();
  };
  return LoadSessionWithRewrite(files.model_path, session_options, rewrite);
}

// The rewrite that keeps an Optimum decoder's KV cache in place (kv_cache_in_place.h), or why it does
// not apply, in `note` ("" when applied). Attention is fused first, as the session's passes would.
GraphRewrite KvCacheInPlaceRewrite(const DecoderFiles& files, const DecoderNames& overrides,
                                   std::shared_ptr<std::string> note) {
  return [&files, &overrides, note](Graph& graph) -> Status {
    std::vector<TensorInfo> inputs, outputs;
    for (int id : graph.inputs) inputs.push_back(TensorInfoOf(graph.value(id)));
    for (int id : graph.outputs) outputs.push_back(TensorInfoOf(graph.value(id)));
    DecoderNames names = files.names;
    MergeNames(overrides, names);
    auto sig = DetectDecoderSignature(files.model_path, inputs, outputs, files.form, names);
    if (!sig.ok()) return Status::Ok();  // FromSession reports it
    if (sig->form != DecoderForm::kOptimum) {
      *note = "not an Optimum graph";
      return Status::Ok();
    }
    if (!sig->use_cache_branch.empty()) {
      *note = "a merged decoder (its Concat of the cache sits in an If branch)";
      return Status::Ok();
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const CacheSlot& slot : sig->cache) pairs.emplace_back(slot.past_input, slot.present_output);
    TS_RETURN_IF_ERROR(FuseAttention(graph));
    *note = MakeKvCacheInPlace(graph, pairs, files.defaults.context_length);
    return Status::Ok();
  };
}

}  // namespace

DecoderModel::DecoderModel(std::unique_ptr<Session> session, DecoderFiles files, DecoderSignature signature)
    : session_(std::move(session)), files_(std::move(files)), signature_(std::move(signature)) {
  for (const TensorInfo& o : session_->outputs()) output_names_.push_back(o.name);
}

StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::Load(const std::string& model_or_folder,
                                                           const DecoderOptions& options) {
  TS_ASSIGN_OR_RETURN(DecoderFiles files, LocateDecoderFiles(model_or_folder, options.form));
  SessionOptions session_options;
  session_options.threads = options.threads;
  if (options.pipeline_group != nullptr && options.pipeline_group->size() > 1) {
    if (files.shared_kv_buffer || options.shared_kv_buffer) {
      return Unimplemented("model '" + files.model_path + "': a shared KV buffer with pipeline stages is not supported "
                           "yet (leave out --shared-kv-buffer or set past_present_share_buffer false)");
    }
    MergeNames(options.names, files.names);
    auto stage = std::make_unique<PipelineStageInterface>();
    TS_ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                        LoadDecoderStage(files, files.names, session_options, *options.pipeline_group,
                                         options.tensor_group, *stage));
    const DecoderSignature whole = stage->whole;
    std::unique_ptr<DecoderModel> model(new DecoderModel(std::move(session), std::move(files), whole));
    model->pipe_ = options.pipeline_group;
    model->stage_ = std::move(stage);
    return model;
  }
  const char* in_place_env = std::getenv("TESSERA_KV_IN_PLACE");
  const bool tensor_parallel = options.tensor_group != nullptr && options.tensor_group->size() > 1;
  std::string note = "the graph's own cache outputs are used";
  if (!options.kv_cache_in_place || (in_place_env != nullptr && std::strcmp(in_place_env, "0") == 0)) {
    note = "turned off (DecoderOptions::kv_cache_in_place or TESSERA_KV_IN_PLACE=0)";
  } else if (tensor_parallel) {
    note = "tensor parallelism keeps the graph's cache outputs";
  } else if (files.shared_kv_buffer || options.shared_kv_buffer) {
    note = "the GenAI shared buffer is used instead";
  } else if (files.defaults.context_length <= 0) {
    note = "the context length is unknown (config.json max_position_embeddings)";
  } else {
    return LoadWithCacheInPlace(std::move(files), options, session_options);
  }
  std::unique_ptr<Session> session;
  if (tensor_parallel) {
    TS_ASSIGN_OR_RETURN(session, LoadTensorParallelSession(files, options, session_options));
  } else {
    TS_ASSIGN_OR_RETURN(session, Session::Load(files.model_path, session_options));
  }
  TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model,
                      FromSession(std::move(session), std::move(files), options.names, options.shared_kv_buffer));
  model->kv_cache_note_ = note;
  return model;
}

StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::LoadWithCacheInPlace(DecoderFiles files,
                                                                           const DecoderOptions& options,
                                                                           const SessionOptions& session_options) {
  auto note = std::make_shared<std::string>();
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                      LoadSessionWithRewrite(files.model_path, session_options,
                                             KvCacheInPlaceRewrite(files, options.names, note)));
  const int64_t capacity = files.defaults.context_length;
  TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model,
                      FromSession(std::move(session), std::move(files), options.names, false));
  model->kv_cache_note_ = *note;
  if (!note->empty()) return model;
  if (model->signature_.kv_cache_rows.empty()) {
    return Internal("model '" + model->model_name() + "': the in-place KV cache rewrite left no row input");
  }
  model->kv_cache_slots_ = std::max(1, options.kv_cache_slots);
  // Each sequence owns its buffers and feeds them back every step: KvCacheAppend writes into them.
  model->signature_.cache_capacity = capacity;
  model->signature_.cache_strided = true;
  std::vector<std::string> pasts;
  for (const CacheSlot& slot : model->signature_.cache) pasts.push_back(slot.past_input);
  TS_RETURN_IF_ERROR(model->session_->DonateInputs(pasts));
  return model;
}

StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::FromSession(std::unique_ptr<Session> session, DecoderFiles files,
                                                                  const DecoderNames& overrides, bool shared_kv_buffer) {
  MergeNames(overrides, files.names);
  TS_ASSIGN_OR_RETURN(DecoderSignature sig, DetectDecoderSignature(session->model_name(), session->inputs(),
                                                                   session->outputs(), files.form, files.names));
  if (files.shared_kv_buffer || shared_kv_buffer) {
    const std::string in_model = "model '" + session->model_name() + "'";
    if (files.form != DecoderForm::kGenAi) {
      return InvalidArgument("a shared KV buffer needs a GenAI graph (GroupQueryAttention writes it in place); " +
                             in_model + " is not in the GenAI form");
    }
    if (files.defaults.context_length <= 0) {
      return InvalidArgument("a shared KV buffer needs the context length (genai_config.json model.context_length) of " +
                             in_model);
    }
    for (const CacheSlot& slot : sig.cache) {
      if (!slot.grows) {
        return InvalidArgument(in_model + ": cache '" + slot.past_input + "' is a fixed-size state; a shared KV "
                               "buffer is only for key/value caches");
      }
    }
    sig.cache_capacity = files.defaults.context_length;
    // Each sequence owns its buffers and feeds them back every step: the session may append to them in
    // place (GroupQueryAttention returns the same buffer as present).
    std::vector<std::string> pasts;
    for (const CacheSlot& slot : sig.cache) pasts.push_back(slot.past_input);
    TS_RETURN_IF_ERROR(session->DonateInputs(pasts));
  }
  return std::unique_ptr<DecoderModel>(new DecoderModel(std::move(session), std::move(files), std::move(sig)));
}

StatusOr<std::vector<std::vector<float>>> DecoderModel::RunBatch(const std::vector<Sequence*>& rows) {
  TS_ASSIGN_OR_RETURN(StepFeeds step, BuildStepFeeds(model_name(), signature_, rows));
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session_->Run(step.feeds));
  return TakeStepResults(model_name(), signature_, step, output_names_, outputs, rows);
}

Status DecoderModel::LeaseCacheSlots(const std::vector<Sequence*>& sequences) {
  const int64_t capacity = signature_.cache_capacity;
  for (size_t i = 0; i < sequences.size(); ++i) {
    Sequence& s = *sequences[i];
    if (s.pending() <= 0) continue;  // Step reports it
    if (s.cached + s.pending() > capacity) {
      return InvalidArgument("model '" + model_name() + "': sequence " + std::to_string(i) +
                             ": the KV cache is full: " + std::to_string(s.cached) + " cached + " +
                             std::to_string(s.pending()) + " new positions exceed the context length of " +
                             std::to_string(capacity) + " positions");
    }
    if (s.kv_lease) continue;
    if (!kv_pool_) {
      TS_ASSIGN_OR_RETURN(kv_pool_, KvCachePool::Create(model_name(), signature_, kv_cache_slots_, capacity, 0));
    }
    s.kv_lease = kv_pool_->Acquire();
    if (s.kv_lease) continue;
    TS_ASSIGN_OR_RETURN(std::shared_ptr<KvCachePool> own,
                        KvCachePool::Create(model_name(), signature_, 1, capacity, next_pool_id_++));
    s.kv_lease = own->Acquire();
  }
  return Status::Ok();
}

StatusOr<std::vector<std::vector<float>>> DecoderModel::Step(const std::vector<Sequence*>& sequences) {
  std::vector<std::vector<float>> logits(sequences.size());
  if (stage_) {
    // Through the stages in the order given (the same on every rank), interleaved (pipeline_stage.h).
    for (size_t i = 0; i < sequences.size(); ++i) {
      if (sequences[i]->pending() <= 0) {
        return InvalidArgument("model '" + model_name() + "': sequence " + std::to_string(i) +
                               " has no pending tokens to run");
      }
    }
    return RunDecoderStages(*session_, *pipe_, *stage_, model_name(), sequences);
  }
  if (!signature_.kv_cache_rows.empty()) TS_RETURN_IF_ERROR(LeaseCacheSlots(sequences));
  // Group key: pending tokens, plus the cache length for GenAI graphs, whose GroupQueryAttention takes
  // right-padded rows (the valid length from the mask or seqlens_k) and so cannot take left-padded caches.
  const bool equal_lengths_only = signature_.form == DecoderForm::kGenAi || !signature_.seqlens_k.empty();
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const Sequence& s = *sequences[i];
    if (s.pending() <= 0) {
      return InvalidArgument("model '" + model_name() + "': sequence " + std::to_string(i) +
                             " has no pending tokens to run");
    }
    const bool pooled = !signature_.kv_cache_rows.empty();
    if (!signature_.batch_dynamic || (signature_.cache_capacity > 0 && !pooled)) {
      // A fixed batch of one, or GenAI's shared buffer per sequence: every sequence alone.
      groups[{-1, static_cast<int64_t>(i)}].push_back(i);
      continue;
    }
    if (pooled) {
      // Rows of one pool step together whatever their lengths (ids >= 0; the others' keys are -1).
      groups[{s.pending(), s.kv_lease->pool->id()}].push_back(i);
      continue;
    }
    groups[{s.pending(), equal_lengths_only ? s.cached : 0}].push_back(i);
  }
  for (const auto& [key, members] : groups) {
    std::vector<Sequence*> rows;
    for (size_t i : members) rows.push_back(sequences[i]);
    TS_ASSIGN_OR_RETURN(std::vector<std::vector<float>> group_logits, RunBatch(rows));
    for (size_t k = 0; k < members.size(); ++k) logits[members[k]] = std::move(group_logits[k]);
  }
  return logits;
}

}  // namespace tessera::generate
