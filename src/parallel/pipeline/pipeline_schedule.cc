// Fill/drain schedule of one stage.
#include "parallel/pipeline/pipeline_schedule.h"

#include <algorithm>
#include <unordered_map>

#include "parallel/data/batch_split.h"

namespace tessera {

namespace {

constexpr int kTagActivations = 20;
constexpr int kTagModelOutputs = 21;

}  // namespace

int EffectiveMicroBatches(int64_t rows, int requested) {
  if (rows <= 1 || requested <= 1) return 1;
  return static_cast<int>(std::min<int64_t>(rows, requested));
}

std::vector<Tensor> RunPipelineStage(const PipelineStageRun& run, Communicator& pipe, const std::vector<Tensor>& feeds,
                                     int64_t rows, int micro_batches) {
  const PipelinePartition& partition = *run.partition;
  const PipelineStage& stage = partition.stages[static_cast<size_t>(run.stage)];
  const int stages = static_cast<int>(partition.stages.size());
  auto fail = [&](const std::string& what, const Status& s) {
    run.abort_comm->Abort("(" + run.where + ") " + what + ": " + s.message(), 1);
  };
  const int m_count = EffectiveMicroBatches(rows, micro_batches);
  const BatchSlices slices = SplitBatch(rows, m_count);
  Session& session = *run.session;

  // parts[j][m]: graph output j of this stage (stage.graph_outputs order) for micro-batch m.
  std::vector<std::vector<Tensor>> parts(stage.graph_outputs.size());
  for (int m = 0; m < m_count; ++m) {
    std::unordered_map<int, Tensor> values;
    const int64_t begin = slices.begin[static_cast<size_t>(m)], end = begin + slices.rows[static_cast<size_t>(m)];
    for (size_t i = 0; i < stage.receives.size(); ++i) {
      if (run.stage == 0) {
        auto slice = SliceOfBatch(feeds[i], rows, begin, end);
        if (!slice.ok()) fail("micro-batch " + std::to_string(m), slice.status());
        values[stage.receives[i]] = std::move(slice).value();
      } else {
        auto t = pipe.Recv(run.stage - 1, kTagActivations);
        if (!t.ok()) fail("receiving from stage " + std::to_string(run.stage - 1), t.status());
        values[stage.receives[i]] = std::move(t).value();
      }
    }
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t k = 0; k < stage.inputs.size(); ++k) named.emplace_back(session.inputs()[k].name, values[stage.inputs[k]]);
    auto out = session.Run(named);
    if (!out.ok()) fail("micro-batch " + std::to_string(m), out.status());
    for (size_t k = 0; k < stage.outputs.size() && k < out->size(); ++k) values[stage.outputs[k]] = (*out)[k];
    if (run.stage + 1 < stages) {
      for (int id : stage.sends) {
        Status s = pipe.Send(values[id], run.stage + 1, kTagActivations);
        if (!s.ok()) fail("sending to stage " + std::to_string(run.stage + 1), s);
      }
    }
    for (size_t j = 0; j < stage.graph_outputs.size(); ++j) parts[j].push_back(values[stage.graph_outputs[j]]);
  }
  if (!run.collect_outputs) return {};

  // Join this stage's model outputs over the micro-batches.
  std::vector<int> output_index;  // stage.graph_outputs[j] is model output output_index[j]
  for (size_t o = 0; o < partition.graph_output_stage.size(); ++o) {
    if (partition.graph_output_stage[o] == run.stage) output_index.push_back(static_cast<int>(o));
  }
  std::vector<Tensor> joined;
  for (size_t j = 0; j < parts.size(); ++j) {
    const TensorInfo& info = run.model_outputs[static_cast<size_t>(output_index[j])];
    auto t = JoinBatchSlices(parts[j], info, slices.rows[0], run.model_name);
    if (!t.ok()) fail("joining micro-batches", t.status());
    joined.push_back(std::move(t).value());
  }
  if (run.stage != 0) {
    for (const Tensor& t : joined) {
      Status s = pipe.Send(t, 0, kTagModelOutputs);
      if (!s.ok()) fail("sending outputs to stage 0", s);
    }
    return {};
  }

  // Stage 0: its own outputs, then every later stage's, placed in model order.
  std::vector<Tensor> outputs(partition.graph_output_stage.size());
  size_t next_own = 0;
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (partition.graph_output_stage[o] == 0) outputs[o] = joined[next_own++];
  }
  for (int s = 1; s < stages; ++s) {
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (partition.graph_output_stage[o] != s) continue;
      auto t = pipe.Recv(s, kTagModelOutputs);
      if (!t.ok()) fail("receiving outputs of stage " + std::to_string(s), t.status());
      outputs[o] = std::move(t).value();
    }
  }
  return outputs;
}

}  // namespace tessera
