// MpiServing: `tessera serve` under mpirun, where a model whose config.json asks for a parallel plan
// ("parallel": {"dp", "pp", "tp"}) runs on a group of MPI ranks.
//
// Groups. Every rank reads the repository the same way (the models loaded at start, in repository
// order, each version its version_policy selects) and gives every model version with a plan of
// S = dp·pp·tp ranks its own group: world rank 0 plus the next S−1 ranks not yet taken. Rank 0 is the
// front end and also grid position 0 of every group (PlanRunner's rank 0 gives the feeds and gets the
// outputs, so it computes too); the other ranks belong to at most one group. The world must hold
// 1 + Σ(S−1) ranks; fewer is an error on every rank, naming what the repository needs.
//
// Requests. On rank 0 a model with a plan gets a ModelRunner (CreateDistributedRunner) whose Run sends a
// "run group g" control message to each member and then calls PlanRunner::Run, which is collective over
// the group. Workers wait for control messages by probing (not by a blocking receive, which busy-polls
// a core in most MPI libraries) and answer each with PlanRunner::Run. Inputs are validated on rank 0
// before they reach the model, so a bad request fails alone; a failure inside a run ends the job
// (PlanRunner's contract), since the group's other ranks could only hang.
//
// Threads. MPI is initialised with MPI_THREAD_FUNNELED: only the main thread may call it. Rank 0's
// front ends and model instances run on their own threads, so rank 0's main thread becomes the one MPI
// thread (RunFrontEnd): every MPI call of a run is posted to it and carried out in order. This also
// serialises runs of different parallel models on rank 0, which takes part in every group and so could
// not run two at once anyway; it needs nothing from the MPI library beyond FUNNELED.
//
// Decoders. A model whose version folder is a decoder's (generation_model.h) gets a group too, with tp or
// pp: every member loads a DecoderModel over the group's communicator, rank 0's serves the OpenAI
// endpoints through its SequenceScheduler, and each step is announced to the members first
// (decoder_group.h), posted to the MPI thread like a plan's run.
//
// Stop. SIGTERM/SIGINT reaches rank 0's front-end thread (mpirun also forwards it to every rank, where
// it stays blocked and is ignored); rank 0 drains, then sends "stop" to every other rank, and every rank
// exits 0.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "generate/scheduler.h"
#include "parallel/comm/communicator.h"
#include "serve/inference_server.h"
#include "serve/model_runner.h"

namespace tessera::serve {

class MpiServing {
 public:
  // Collective over `world`: forms the groups and creates every group's PlanRunner on its members.
  // Fails alike on every rank when the world is too small; `report` is set on the rank that should print
  // the error. A group whose model fails to load does not fail the server: on rank 0 that model's load
  // fails with the reason (the repository index shows it).
  static StatusOr<std::unique_ptr<MpiServing>> Start(Communicator& world, const ServerOptions& options, bool& report);
  ~MpiServing();

  // Ranks other than 0: answers run messages until rank 0 sends stop.
  Status RunWorker();

  // Rank 0: runs `front_end` (wait for a stop signal, shut the front ends, drain) on a new thread while
  // this thread carries out every MPI call posted by the model instances; then tells every rank to stop.
  void RunFrontEnd(const std::function<void()>& front_end);

  // "model 'a' version 1 (dp=2 pp=1 tp=1): ranks 0,1" per group, one a line; for rank 0's log.
  std::string Describe() const;

  struct Group;

 private:
  explicit MpiServing(Communicator& world) : world_(world) {}
  void TellWorkersToStop();

  Communicator& world_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<Group>> groups_;
  std::vector<std::unique_ptr<Communicator>> other_groups_;  // splits this rank is not in, kept until exit
};

// Rank 0's runner for the model version at `model_path`, whose `plan` asks for parallelism: a handle on
// the group MpiServing::Start formed for it. Unimplemented without mpirun; FailedPrecondition when the
// model was not part of the repository at start; the group's load error when its PlanRunner failed.
StatusOr<std::unique_ptr<ModelRunner>> CreateDistributedRunner(const std::string& model_path, const ServingPlan& plan,
                                                               const std::string& model_name);

// Rank 0's decoder of a group formed for a decoder version (decoder_group.h), with the StepDriver its
// scheduler must step it through. Once per group: a second call is Unavailable. Errors as
// CreateDistributedRunner's.
struct DistributedDecoder {
  std::unique_ptr<generate::DecoderModel> decoder;
  std::unique_ptr<generate::StepDriver> driver;
};
StatusOr<DistributedDecoder> TakeDistributedDecoder(const std::string& model_path, const ParallelConfig& parallel,
                                                    const std::string& model_name);

}  // namespace tessera::serve
