// LoadDecoderStage and RunDecoderStage (see pipeline_stage.h).
#include "generate/pipeline_stage.h"

#include <map>
#include <set>

#include "generate/step_batch.h"
#include "parallel/pipeline/pipeline_partition.h"
#include "parallel/pipeline/stage_graph.h"
#include "parallel/tensor/tensor_parallel.h"
#include "runtime/session_factory.h"

namespace tessera::generate {

namespace {

// One tag for every activation: between two ranks MPI keeps messages of one tag in order.
constexpr int kActivationTag = 41;

// The stage's interface as names, graph inputs left out: every rank computes those itself.
std::vector<std::string> ComputedValueNames(const Graph& graph, const std::vector<int>& values) {
  const std::set<int> graph_inputs(graph.inputs.begin(), graph.inputs.end());
  std::vector<std::string> names;
  for (int v : values) {
    if (!graph_inputs.count(v)) names.push_back(graph.value(v).name);
  }
  return names;
}

Status KeepOwnCacheSlots(const std::string& model_name, PipelineStageInterface& stage) {
  const std::set<std::string> inputs(stage.inputs.begin(), stage.inputs.end());
  const std::set<std::string> outputs(stage.outputs.begin(), stage.outputs.end());
  stage.local = stage.whole;
  stage.local.cache.clear();
  for (const CacheSlot& slot : stage.whole.cache) {
    if (!inputs.count(slot.past_input)) continue;
    if (!outputs.count(slot.present_output)) {
      return Unimplemented("model '" + model_name + "': pipeline stage " + std::to_string(stage.stage) + " reads '" +
                           slot.past_input + "' but another stage makes '" + slot.present_output +
                           "'; a layer's cache must stay in one stage");
    }
    stage.local.cache.push_back(slot);
  }
  return Status::Ok();
}

// The last position's logits of the first row, as float32 [vocab].
StatusOr<Tensor> LastLogits(const std::string& model_name, const Tensor& logits) {
  if (logits.dtype() != DType::kFloat32 || (logits.rank() != 2 && logits.rank() != 3) || logits.dim(0) != 1) {
    return InvalidArgument("model '" + model_name + "': logits of shape " + ShapeToString(logits.shape()) +
                           " (pipeline stages take float32 [1, sequence, vocab])");
  }
  const int64_t vocab = logits.dim(logits.rank() - 1);
  const int64_t rows = logits.element_count() / vocab;
  TS_ASSIGN_OR_RETURN(Tensor last, Tensor::AllocateUninitialized(DType::kFloat32, {vocab}));
  const float* src = logits.data<float>() + (rows - 1) * vocab;
  std::copy(src, src + vocab, last.data<float>());
  return last;
}

}  // namespace

StatusOr<std::unique_ptr<Session>> LoadDecoderStage(const DecoderFiles& files, const DecoderNames& names,
                                                    const SessionOptions& session_options, Communicator& pipe,
                                                    Communicator* tensor_group, PipelineStageInterface& stage) {
  stage.stage = pipe.rank();
  stage.stages = pipe.size();
  const bool split = tensor_group != nullptr && tensor_group->size() > 1;
  auto tensor_split = std::make_shared<GraphRewrite>();  // kept until the session is built (its kernels' group)
  GraphRewrite rewrite = [&, tensor_split](Graph& graph) -> Status {
    std::vector<TensorInfo> inputs, outputs;
    for (int id : graph.inputs) inputs.push_back(TensorInfoOf(graph.value(id)));
    for (int id : graph.outputs) outputs.push_back(TensorInfoOf(graph.value(id)));
    TS_ASSIGN_OR_RETURN(stage.whole, DetectDecoderSignature(files.model_path, inputs, outputs, files.form, names));
    PipelinePartitionOptions partition_options;
    partition_options.stages = stage.stages;
    if (split) {
      for (int id : graph.inputs) {
        if (graph.value(id).name == stage.whole.input_ids) partition_options.block_stream_inputs.push_back(id);
      }
    }
    TS_ASSIGN_OR_RETURN(PipelinePartition partition, PartitionPipeline(graph, partition_options));
    const PipelineStage& mine = partition.stages[static_cast<size_t>(stage.stage)];
    stage.receive = stage.stage > 0 ? ComputedValueNames(graph, mine.receives) : std::vector<std::string>{};
    stage.send = stage.stage + 1 < stage.stages ? ComputedValueNames(graph, mine.sends) : std::vector<std::string>{};
    TS_RETURN_IF_ERROR(ExtractPipelineStage(graph, mine));
    stage.inputs.clear();
    stage.outputs.clear();
    for (int id : graph.inputs) stage.inputs.push_back(graph.value(id).name);
    for (int id : graph.outputs) stage.outputs.push_back(graph.value(id).name);
    if (!split) return Status::Ok();
    TensorParallelOptions tp_options;
    for (const CacheSlot& slot : stage.whole.cache) {
      tp_options.sharded_io.insert(slot.past_input);
      tp_options.sharded_io.insert(slot.present_output);
    }
    TS_ASSIGN_OR_RETURN(*tensor_split, MakeTensorParallelRewrite(*tensor_group, tp_options));
    return *tensor_split ? (*tensor_split)(graph) : Status::Ok();
  };
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                      LoadSessionWithRewrite(files.model_path, session_options, rewrite));
  TS_RETURN_IF_ERROR(KeepOwnCacheSlots(session->model_name(), stage));
  // Split over a tensor group, the stage's past inputs hold this rank's heads: feed them at its dims.
  for (CacheSlot& slot : stage.local.cache) {
    for (const TensorInfo& input : session->inputs()) {
      if (input.name == slot.past_input && input.has_shape) slot.dims = input.dims;
    }
  }
  return session;
}

namespace {

// This stage's part of one sequence's step; on the last stage, the logits of its last token.
StatusOr<Tensor> RunStageStep(Session& session, Communicator& pipe, const PipelineStageInterface& stage,
                              const std::string& model_name, Sequence& seq) {
  TS_ASSIGN_OR_RETURN(StepFeeds step, BuildStepFeeds(model_name, stage.local, {&seq}));
  const std::set<std::string> reads(stage.inputs.begin(), stage.inputs.end());
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (auto& [name, tensor] : step.feeds) {
    if (reads.count(name)) feeds.emplace_back(name, tensor);
  }
  std::map<std::string, Tensor> received;
  for (const std::string& name : stage.receive) {
    TS_ASSIGN_OR_RETURN(Tensor t, pipe.Recv(stage.stage - 1, kActivationTag));
    if (reads.count(name)) feeds.emplace_back(name, t);
    received.emplace(name, std::move(t));
  }
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session.Run(feeds));
  std::map<std::string, Tensor> made;
  for (size_t i = 0; i < outputs.size() && i < stage.outputs.size(); ++i) made.emplace(stage.outputs[i], outputs[i]);
  for (const std::string& name : stage.send) {
    const Tensor* value = nullptr;
    if (auto it = made.find(name); it != made.end()) value = &it->second;
    if (auto it = received.find(name); value == nullptr && it != received.end()) value = &it->second;
    if (value == nullptr) {
      return Internal("pipeline stage " + std::to_string(stage.stage) + " has no '" + name + "' to send");
    }
    TS_RETURN_IF_ERROR(pipe.Send(*value, stage.stage + 1, kActivationTag));
  }
  std::vector<Tensor> cache;
  for (const CacheSlot& slot : stage.local.cache) cache.push_back(made.at(slot.present_output));
  seq.cache = std::move(cache);
  seq.cached += step.pending;
  if (stage.stage + 1 < stage.stages) return Tensor();
  auto it = made.find(stage.whole.logits);
  if (it == made.end()) return Internal("the last pipeline stage does not make '" + stage.whole.logits + "'");
  return LastLogits(model_name, it->second);
}

}  // namespace

StatusOr<std::vector<std::vector<float>>> RunDecoderStages(Session& session, Communicator& pipe,
                                                           const PipelineStageInterface& stage,
                                                           const std::string& model_name,
                                                           const std::vector<Sequence*>& sequences) {
  std::vector<Tensor> logits;
  for (Sequence* seq : sequences) {
    TS_ASSIGN_OR_RETURN(Tensor last, RunStageStep(session, pipe, stage, model_name, *seq));
    logits.push_back(std::move(last));
  }
  // Only now: a broadcast after each sequence would hold the first stage until the last had finished it.
  std::vector<std::vector<float>> result;
  for (Tensor& t : logits) {
    TS_RETURN_IF_ERROR(pipe.Broadcast(t, stage.stages - 1));
    result.emplace_back(t.data<float>(), t.data<float>() + t.element_count());
  }
  return result;
}

}  // namespace tessera::generate
