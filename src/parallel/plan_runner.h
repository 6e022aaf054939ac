// PlanRunner: this rank's part of any dp × pp × tp plan, built and run the same way for every plan.
//
// The world's ranks form the grid of plan_spec.h (rank = (d·pp + p)·tp + t). Each rank splits the world
// into its pipeline (same data group and shard, ordered by stage), its tensor group (same data group
// and stage, ordered by shard) and its data group (same stage and shard, ordered by data index), and
// builds one session: the model after two rewrites, the pipeline stage extraction (pipeline/
// stage_graph.h) and then the tensor-parallel rewrite of its tensor group (tensor/tensor_parallel.h).
// The shards of one stage run the same stage and each holds the full activations at the stage's
// boundaries, so rank (d, s, t) exchanges activations with (d, s±1, t) only.
//
// A run: world rank 0 reads the inputs; data parallelism is outermost, so rank 0 cuts the batch over
// the data groups (data/data_parallel.h) and sends each group's slice to its first stage, shard 0,
// which hands it to the other shards of stage 0; the group's pipeline streams its rows through the
// stages in micro-batches (pipeline/pipeline_schedule.h); stage 0, shard 0 of each group collects the
// outputs and rank 0 joins the groups' outputs on their batch axis.
//
// Streaming (Run with rounds > 1): the batch is scattered once and each group's pipeline streams that
// many copies of its rows back to back (pipeline_schedule.h), so the pipeline fills and drains once per
// stream instead of once per batch; the result is the last round's outputs. With one stage the rounds
// simply run one after another. It measures (and is) a pipeline serving a steady flow of batches.
//
// Failures: Create and the input check of Run fail on every rank together (collectives decide), with
// exactly one rank told to report the error; a failure on one rank during a run ends the job through
// the world's Abort with a message naming the rank, since its peers would otherwise wait forever.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "parallel/comm/communicator.h"
#include "parallel/pipeline/pipeline_partition.h"
#include "parallel/plan_spec.h"
#include "tessera/session.h"

namespace tessera {

// How this rank loaded its part (PlanRunner::Create).
struct RankLoadStats {
  double seconds = 0;              // Create, from the model file to a session ready to run
  size_t weight_bytes = 0;         // the weights its part keeps (its stage's, its shard's slices)
  size_t peak_resident_bytes = 0;  // VmHWM when the session was ready
};

struct PlanRunnerOptions {
  PlanSpec spec;  // resolved for the world's size (ResolvePlan)
  SessionOptions session;
  PipelinePartitionOptions partition;  // `stages` is taken from spec.pp
};

class PlanRunner {
 public:
  // Collective over `world`, which must outlive the runner. On failure every rank gets an error and
  // `report` is set on the one rank that should print it: rank 0 when it failed too (a bad plan or
  // model fails everywhere alike), else the first rank that failed, whose message names it.
  static StatusOr<std::unique_ptr<PlanRunner>> Create(Communicator& world, const std::string& model_path,
                                                      const PlanRunnerOptions& options, bool& report);
  ~PlanRunner();

  // Collective. On world rank 0, `feeds` are the model's inputs in inputs() order and the result is the
  // model's outputs in outputs() order; elsewhere `feeds` is ignored and the result is empty. Bad
  // inputs fail on every rank (rank 0 reports); other failures end the job (see above).
  // `rounds` (rank 0's value counts; other ranks' are ignored) streams that many copies of the batch
  // through the plan as one stream and returns the last round's outputs; below 1 is a bad input.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& feeds, int rounds = 1);

  // Collective. On rank 0: the pipeline's stages (DescribePipelinePartition) with the resident memory
  // of each stage's ranks now (the most of any rank of the stage); "" on other ranks and when there is
  // one stage.
  StatusOr<std::string> DescribeStages();

  const std::vector<TensorInfo>& inputs() const { return inputs_; }    // the whole model's
  const std::vector<TensorInfo>& outputs() const { return outputs_; }  // the whole model's
  const std::string& model_name() const { return model_name_; }
  const GridPosition& position() const { return position_; }
  const PipelinePartition& partition() const { return *partition_; }
  // This rank's session (its stage, its shard).
  Session& session() { return *session_; }
  // "rank 3 (data 0, stage 1, shard 1)".
  const std::string& where() const { return where_; }
  const RankLoadStats& load_stats() const { return load_stats_; }

 private:
  PlanRunner(Communicator& world, const PlanRunnerOptions& options);

  Communicator& world_;
  PlanRunnerOptions options_;
  GridPosition position_;
  std::string place_;  // "data 0, stage 1, shard 1"
  std::string where_;  // "rank 3 (data 0, stage 1, shard 1)"
  // Declared before the session: a tensor-parallel session keeps using its group until it is gone.
  std::unique_ptr<Communicator> pipe_, tensor_, data_;
  std::shared_ptr<PipelinePartition> partition_;
  std::string description_;  // DescribePipelinePartition of the whole graph (it is gone after the rewrite)
  std::vector<TensorInfo> inputs_, outputs_;
  std::string model_name_;
  std::unique_ptr<Session> session_;
  RankLoadStats load_stats_;
};

// Resident memory of this process in bytes (VmRSS), 0 where the system does not say.
size_t ResidentBytes();
// The most this process has had resident so far (VmHWM; mapped file pages count while mapped), 0 where
// the system does not say.
size_t PeakResidentBytes();

}  // namespace tessera
