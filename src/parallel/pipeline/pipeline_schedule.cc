// Fill/drain schedule of one stage, over one batch or a stream of rounds.
//
// Why this order cannot deadlock, even where Send blocks until the receiver takes the message (MPI's
// rendezvous for large messages): a stage's only messages are (1) activations to the next stage, sent
// in the order the next stage receives them, and (2) after its last micro-batch, its model outputs to
// stage 0. During (1) stage s waits only on stage s-1 (Recv) and stage s+1 (Send); the last stage only
// receives, so by induction from the last stage down every stage gets through all its micro-batches.
// Stage 0 then only receives (2), from stage 1, 2, ... in turn, and each of those has nothing left to
// do but send them; messages from different stages never match each other's receives. No two ranks
// ever wait on each other's Send.
#include "parallel/pipeline/pipeline_schedule.h"

#include <algorithm>
#include <unordered_map>

#include "parallel/data/batch_split.h"

namespace tessera {

namespace {

constexpr int kTagActivations = 20;
constexpr int kTagModelOutputs = 21;

// What every step of one stage's run shares.
struct StageContext {
  const PipelineStageRun& run;
  Communicator& pipe;
  const PipelineStage& stage;
  int stages;
  BatchSlices slices;  // the micro-batches' rows within the batch

  void Fail(const std::string& what, const Status& s) const {
    run.abort_comm->Abort("(" + run.where + ") " + what + ": " + s.message(), 1);
  }
};

// One round: every micro-batch of the batch received (or cut from `feeds` on stage 0), run and sent
// on. Returns parts[j][m]: graph output j of this stage (stage.graph_outputs order) for micro-batch m.
std::vector<std::vector<Tensor>> RunRound(const StageContext& c, const std::vector<Tensor>& feeds, int64_t rows,
                                          int round) {
  const PipelineStageRun& run = c.run;
  const PipelineStage& stage = c.stage;
  Session& session = *run.session;
  const std::string in_round = round > 0 ? " of round " + std::to_string(round) : "";
  std::vector<std::vector<Tensor>> parts(stage.graph_outputs.size());
  for (size_t m = 0; m < c.slices.rows.size(); ++m) {
    const std::string micro = "micro-batch " + std::to_string(m) + in_round;
    std::unordered_map<int, Tensor> values;
    const int64_t begin = c.slices.begin[m], end = begin + c.slices.rows[m];
    for (size_t i = 0; i < stage.receives.size(); ++i) {
      if (run.stage == 0) {
        auto slice = SliceOfBatch(feeds[i], rows, begin, end);
        if (!slice.ok()) c.Fail(micro, slice.status());
        values[stage.receives[i]] = std::move(slice).value();
      } else {
        auto t = c.pipe.Recv(run.stage - 1, kTagActivations);
        if (!t.ok()) c.Fail("receiving from stage " + std::to_string(run.stage - 1), t.status());
        values[stage.receives[i]] = std::move(t).value();
      }
    }
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t k = 0; k < stage.inputs.size(); ++k) {
      named.emplace_back(session.inputs()[k].name, values[stage.inputs[k]]);
    }
    auto out = session.Run(named);
    if (!out.ok()) c.Fail(micro, out.status());
    for (size_t k = 0; k < stage.outputs.size() && k < out->size(); ++k) values[stage.outputs[k]] = (*out)[k];
    if (run.stage + 1 < c.stages) {
      for (int id : stage.sends) {
        Status s = c.pipe.Send(values[id], run.stage + 1, kTagActivations);
        if (!s.ok()) c.Fail("sending to stage " + std::to_string(run.stage + 1), s);
      }
    }
    for (size_t j = 0; j < stage.graph_outputs.size(); ++j) parts[j].push_back(values[stage.graph_outputs[j]]);
  }
  return parts;
}

// This stage's model outputs of one round, joined over the micro-batches.
std::vector<Tensor> JoinRound(const StageContext& c, const std::vector<std::vector<Tensor>>& parts) {
  const PipelinePartition& partition = *c.run.partition;
  std::vector<int> output_index;  // stage.graph_outputs[j] is model output output_index[j]
  for (size_t o = 0; o < partition.graph_output_stage.size(); ++o) {
    if (partition.graph_output_stage[o] == c.run.stage) output_index.push_back(static_cast<int>(o));
  }
  std::vector<Tensor> joined;
  for (size_t j = 0; j < parts.size(); ++j) {
    const TensorInfo& info = c.run.model_outputs[static_cast<size_t>(output_index[j])];
    auto t = JoinBatchSlices(parts[j], info, c.slices.rows[0], c.run.model_name);
    if (!t.ok()) c.Fail("joining micro-batches", t.status());
    joined.push_back(std::move(t).value());
  }
  return joined;
}

// Stage 0: its own outputs of the last round, then every later stage's rounds (all received, the last
// kept), placed in model order.
std::vector<Tensor> CollectOutputs(const StageContext& c, std::vector<Tensor> own, int rounds) {
  const PipelinePartition& partition = *c.run.partition;
  std::vector<Tensor> outputs(partition.graph_output_stage.size());
  size_t next_own = 0;
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (partition.graph_output_stage[o] == 0) outputs[o] = std::move(own[next_own++]);
  }
  for (int s = 1; s < c.stages; ++s) {
    for (int r = 0; r < rounds; ++r) {
      for (size_t o = 0; o < outputs.size(); ++o) {
        if (partition.graph_output_stage[o] != s) continue;
        auto t = c.pipe.Recv(s, kTagModelOutputs);
        if (!t.ok()) c.Fail("receiving outputs of stage " + std::to_string(s), t.status());
        if (r + 1 == rounds) outputs[o] = std::move(t).value();
      }
    }
  }
  return outputs;
}

}  // namespace

int EffectiveMicroBatches(int64_t rows, int requested) {
  if (rows <= 1 || requested <= 1) return 1;
  return static_cast<int>(std::min<int64_t>(rows, requested));
}

std::vector<Tensor> RunPipelineStage(const PipelineStageRun& run, Communicator& pipe, const std::vector<Tensor>& feeds,
                                     int64_t rows, int micro_batches, int rounds) {
  const PipelinePartition& partition = *run.partition;
  const StageContext c{run, pipe, partition.stages[static_cast<size_t>(run.stage)],
                       static_cast<int>(partition.stages.size()),
                       SplitBatch(rows, EffectiveMicroBatches(rows, micro_batches))};
  rounds = std::max(rounds, 1);
  // Stage 0 keeps the last round's outputs; a later stage keeps every round's until the stream is
  // through, since stage 0 takes them only then.
  std::vector<std::vector<Tensor>> kept;
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::vector<Tensor>> parts = RunRound(c, feeds, rows, r);
    if (!run.collect_outputs) continue;
    std::vector<Tensor> joined = JoinRound(c, parts);
    if (run.stage == 0) kept.clear();
    kept.push_back(std::move(joined));
  }
  if (!run.collect_outputs) return {};
  if (run.stage == 0) return CollectOutputs(c, std::move(kept.back()), rounds);
  for (const std::vector<Tensor>& round : kept) {
    for (const Tensor& t : round) {
      Status s = pipe.Send(t, 0, kTagModelOutputs);
      if (!s.ok()) c.Fail("sending outputs to stage 0", s);
    }
  }
  return {};
}

}  // namespace tessera
