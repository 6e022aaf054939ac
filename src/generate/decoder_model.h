// A decoder-only language model loaded for generation: its session, calling convention and defaults.
//
//   auto model = DecoderModel::Load("models/llama_tiny", {});
//   Sequence seq;
//   seq.tokens = {1, 450, 4996};
//   auto logits = (*model)->Step({&seq});  // the prompt; then push a sampled token and Step again
//
// The cache. After a step, each sequence holds the model's present outputs and the next step feeds them as
// past inputs: the runtime never copies a batch-of-one cache (Tensor buffers are shared handles). The
// graph itself does copy: an exported decoder builds present = Concat(past, new) per layer, so each
// decode step writes the whole cache once more — per token, 2 x layers x heads x (past + 1) x head_dim
// elements (for a 4-layer, 128-wide model at 200 tokens about 0.8 MB of float32 per token), which makes a
// long generation quadratic in bytes moved. Measured on llama_tiny (tools/export_decoders.py), one
// decode step at past 100, one thread, 2026-12-07 (`tessera bench model.onnx --profile --shape
// past_key_values.N.key=1x2x100x16 ...`): the 49 Concat nodes take 0.09 of the step's 0.95 ms in nodes.
// GenAI graphs avoid the copy with a shared KV buffer (genai_config.json's past_present_share_buffer, or
// --shared-kv-buffer): each sequence's cache is one buffer of the context length allocated at its first
// step, and GroupQueryAttention writes each new row into it in place (signature().cache_capacity; such
// sequences always run alone). Optimum graphs get the same at load (DecoderOptions::kv_cache_in_place):
// graph/passes/kv_cache_in_place rewrites each Concat(past, new) into KvCacheAppend, which writes the new
// rows into a buffer of the context length, and the fused attention into CachedAttention, which reads the
// first past + new rows of it strided. The cache tensors keep their logical length (only their storage is
// strided, signature().cache_strided), so the graph's Shape readers stay right. The buffers are slots of
// a pool (kv_cache_pool.h, DecoderOptions::kv_cache_slots sequences) that a sequence leases at its first
// step and keeps until it ends, so sequences of different lengths still step together: the pass adds an
// input giving each row its slot and its own past length, KvCacheAppend writes each row's new entries at
// its own offset and CachedAttention reads each row's own length (the mask stays left-padded to the
// longest row, as for the graph's caches). No cache bytes are copied per token. A sequence that finds
// the pool full gets a pool of its own and steps apart from the others. Graphs the pass does not match
// (merged decoders, whose Concat sits in an If branch; float16 caches; unfused attention) keep the path
// above, and kv_cache_note() says why.
//
// Batching. Step() takes any set of sequences. When the graph's batch dim is dynamic, sequences with the
// same number of pending tokens run as one batch (their caches left-padded, step_batch.h; in-place caches
// batch by pool instead, unpadded); GenAI graphs batch only sequences of equal length, since
// GroupQueryAttention assumes right padding, and with a shared KV buffer every sequence runs alone.
// Otherwise each sequence runs alone. This is the step function a continuous-batching scheduler calls.
//
// Thread safety: one Step at a time per model (the session's rule).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "generate/decoder_signature.h"
#include "generate/kv_cache_pool.h"
#include "generate/model_files.h"
#include "generate/pipeline_stage.h"
#include "generate/sequence.h"
#include "parallel/comm/communicator.h"
#include "tessera/session.h"

namespace tessera::generate {

struct DecoderOptions {
  int threads = 0;                         // as SessionOptions::threads
  DecoderForm form = DecoderForm::kAuto;   // --decoder-form
  DecoderNames names;                      // overrides; merged over genai_config.json's
  bool shared_kv_buffer = false;           // --shared-kv-buffer: GenAI graphs only, as if the config asked
  // Optimum graphs: each sequence's K/V live in one buffer of the context length, written in place
  // (graph/passes/kv_cache_in_place.h). Falls back to the graph as written when it does not match, when
  // the context length is unknown, for tensor or pipeline parallelism, or with TESSERA_KV_IN_PLACE=0;
  // kv_cache_note() says which.
  bool kv_cache_in_place = true;
  // With kv_cache_in_place: how many sequences' caches the shared pool holds (the most that step
  // together; a server passes its --max-running-sequences). Reserved as address space at the first
  // step, committed as rows are written.
  int kv_cache_slots = 16;
  // --tp: this process is one rank of a tensor-parallel group (parallel/tensor/) that must outlive the
  // model. Every rank loads the same model and calls Step with the same sequences in the same order; each
  // holds its slice of the weights and the KV cache of its own heads (the past/present values are head
  // shards), and every rank gets the whole logits. Null or a group of one: the model as written.
  Communicator* tensor_group = nullptr;
  // --pp: this process is one stage of a pipeline group (generate/pipeline_stage.h) that must outlive the
  // model: it holds its layers and their KV cache; every rank calls Step alike and gets the whole logits.
  // With tensor_group too (pp x tp), each stage is split over its tensor group (pipeline_stage.h).
  Communicator* pipeline_group = nullptr;
};

class DecoderModel {
 public:
  // MODEL is the .onnx file or its folder (model_files.h).
  static StatusOr<std::unique_ptr<DecoderModel>> Load(const std::string& model_or_folder, const DecoderOptions& options);
  // Over a session already loaded (tests, in-memory rewrites).
  static StatusOr<std::unique_ptr<DecoderModel>> FromSession(std::unique_ptr<Session> session, DecoderFiles files,
                                                             const DecoderNames& overrides,
                                                             bool shared_kv_buffer = false);

  const DecoderSignature& signature() const { return signature_; }
  const GenerationDefaults& defaults() const { return files_.defaults; }
  const DecoderFiles& files() const { return files_; }
  const std::string& model_name() const { return session_->model_name(); }
  // Why the KV cache is not kept in place ("" when it is).
  const std::string& kv_cache_note() const { return kv_cache_note_; }

  // Runs every sequence's pending tokens (each must have some), stores its new cache and returns, per
  // sequence in order, the logits after its last token (float32, vocabulary-sized).
  StatusOr<std::vector<std::vector<float>>> Step(const std::vector<Sequence*>& sequences);

 private:
  DecoderModel(std::unique_ptr<Session> session, DecoderFiles files, DecoderSignature signature);
  static StatusOr<std::unique_ptr<DecoderModel>> LoadWithCacheInPlace(DecoderFiles files, const DecoderOptions& options,
                                                                      const SessionOptions& session_options);
  StatusOr<std::vector<std::vector<float>>> RunBatch(const std::vector<Sequence*>& rows);
  // In-place caches: gives every sequence without one a slot (of the shared pool while it has room) and
  // checks that each one's pending tokens fit its context.
  Status LeaseCacheSlots(const std::vector<Sequence*>& sequences);

  std::unique_ptr<Session> session_;
  DecoderFiles files_;
  DecoderSignature signature_;
  std::vector<std::string> output_names_;
  // Set for a pipeline stage (DecoderOptions::pipeline_group): Step runs each sequence through the stages.
  Communicator* pipe_ = nullptr;
  std::unique_ptr<PipelineStageInterface> stage_;
  std::string kv_cache_note_ = "the graph's own cache outputs are used";
  int64_t kv_cache_slots_ = 16;
  std::shared_ptr<KvCachePool> kv_pool_;  // created at the first step with in-place caches
  int64_t next_pool_id_ = 1;              // for the pools of sequences the shared one has no room for
};

}  // namespace tessera::generate
