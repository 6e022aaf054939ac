// Running one stage of a pipeline: micro-batches in, activations on, model outputs back to stage 0.
//
// GPipe's forward schedule (fill, steady state, drain): stage 0 cuts its rows into M micro-batches
// (uneven allowed: 10 rows in 4 are 3 3 2 2; more micro-batches than rows are clamped to one per row)
// and feeds them in order; every stage receives micro-batch m from the stage before, runs it, sends its
// `sends` on, and starts on m+1 while the next stage works on m. Sends block until the next stage takes
// them, so at most one micro-batch waits on each link and memory stays bounded.
//
// Streaming: with R rounds, R copies of the batch go through as one stream of R·M micro-batches; stage 0
// starts round r+1 right after round r without waiting for the later stages, so the pipeline fills and
// drains once for the whole stream instead of once per batch (a 2-stage pipeline of equal stages then
// approaches R·M / (R·M + 1) of the slowest stage's throughput instead of M / (M + 1)).
//
// Model outputs: each stage joins the outputs it delivers on their batch axis at the end of every round;
// once all rounds are through, every later stage sends all its rounds' outputs to stage 0, which by then
// is done with its own micro-batches, so nobody waits on stage 0 mid-stream. Stage 0 returns the last
// round's outputs in model order. The cost: a later stage holds R rounds of its model outputs until the
// end (R x the outputs' bytes: small for classifiers, large for a long stream of sequence outputs).
//
// Errors: every rank knows the same rows, micro-batch and round counts, so there is nothing to agree on;
// a failure here (a stage's run, the transport) ends the job through `abort_comm`.Abort, naming `where`.
#pragma once

#include <string>
#include <vector>

#include "parallel/comm/communicator.h"
#include "parallel/pipeline/pipeline_partition.h"
#include "tessera/session.h"

namespace tessera {

struct PipelineStageRun {
  Session* session = nullptr;  // this stage's session: inputs stage.inputs, outputs stage.outputs
  const PipelinePartition* partition = nullptr;
  int stage = 0;                          // this rank's stage; pipe.rank() must equal it
  std::vector<TensorInfo> model_outputs;  // the whole model's outputs (names, batch axes)
  std::string model_name;
  bool collect_outputs = true;         // false: later stages keep their outputs (a replica's copy)
  Communicator* abort_comm = nullptr;  // whose Abort ends the job on failure (the world)
  std::string where;                   // this rank's place in messages ("data 0, stage 1, shard 1")
};

// Collective over `pipe` (one rank per stage, ordered by stage). On stage 0, `feeds` are the model's
// inputs for `rows` rows, in graph-input order; `rounds` (>= 1, the same on every stage) copies of them
// are streamed through. The result is the model's outputs for the last round on stage 0 when
// collect_outputs is set, else (and on other stages) empty.
std::vector<Tensor> RunPipelineStage(const PipelineStageRun& run, Communicator& pipe, const std::vector<Tensor>& feeds,
                                     int64_t rows, int micro_batches, int rounds = 1);

// Micro-batches actually used for `rows` rows when `requested` are asked for: at least 1, at most rows.
int EffectiveMicroBatches(int64_t rows, int requested);

}  // namespace tessera
