// Plan runner: communicators, the rewritten session, and the scatter -> pipeline -> gather of a run.
#include "parallel/plan_runner.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "parallel/comm/agreement.h"
#include "parallel/data/data_parallel.h"
#include "parallel/pipeline/pipeline_schedule.h"
#include "parallel/pipeline/stage_graph.h"
#include "parallel/tensor/tensor_parallel.h"
#include "runtime/session_factory.h"

namespace tessera {

namespace {

// The whole graph as one stage: what a plan without pipeline parallelism runs.
PipelinePartition SingleStage(const Graph& graph) {
  PipelinePartition p;
  PipelineStage s;
  s.end_node = graph.nodes.size();
  for (size_t i = 0; i < graph.nodes.size(); ++i) s.nodes.push_back(i);
  s.receives = s.inputs = graph.inputs;
  s.outputs = s.graph_outputs = graph.outputs;
  p.stages.push_back(std::move(s));
  p.graph_output_stage.assign(graph.outputs.size(), 0);
  return p;
}

// The lowest rank whose `mine` failed, or -1 when none did. Collective.
StatusOr<int> FirstFailingRank(Communicator& comm, const Status& mine) {
  Tensor flag =
      Tensor::FromVector<int64_t>(DType::kInt64, {1}, std::vector<int64_t>{mine.ok() ? INT_MAX : comm.rank()});
  TS_ASSIGN_OR_RETURN(Tensor all, comm.AllGather(flag, 0));
  int64_t first = INT_MAX;
  for (int64_t i = 0; i < all.element_count(); ++i) first = std::min(first, all.data<int64_t>()[i]);
  return first == INT_MAX ? -1 : static_cast<int>(first);
}

std::string Mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

namespace {

// A "Vm...:   1234 kB" line of /proc/self/status in bytes, 0 where the system does not say.
size_t StatusBytes(const char* key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const size_t length = std::strlen(key);
  while (std::getline(status, line)) {
    if (line.compare(0, length, key) == 0) {
      return static_cast<size_t>(std::strtoull(line.c_str() + length, nullptr, 10)) * 1024;
    }
  }
  return 0;
}

}  // namespace

size_t ResidentBytes() { return StatusBytes("VmRSS:"); }
size_t PeakResidentBytes() { return StatusBytes("VmHWM:"); }

PlanRunner::PlanRunner(Communicator& world, const PlanRunnerOptions& options)
    : world_(world), options_(options), position_(PositionOf(options.spec, world.rank())) {
  place_ = "data " + std::to_string(position_.data) + ", stage " + std::to_string(position_.stage) + ", shard " +
           std::to_string(position_.shard);
  where_ = "rank " + std::to_string(world.rank()) + " (" + place_ + ")";
}

PlanRunner::~PlanRunner() = default;

StatusOr<std::unique_ptr<PlanRunner>> PlanRunner::Create(Communicator& world, const std::string& model_path,
                                                         const PlanRunnerOptions& options, bool& report) {
  report = world.rank() == 0;
  std::unique_ptr<PlanRunner> runner(new PlanRunner(world, options));
  const PlanSpec& spec = options.spec;
  const GridPosition& pos = runner->position_;
  // Every rank splits three times in the same order (Split is collective over the world).
  TS_ASSIGN_OR_RETURN(runner->pipe_, world.Split(pos.data * spec.tp + pos.shard, pos.stage));
  TS_ASSIGN_OR_RETURN(runner->tensor_, world.Split(pos.data * spec.pp + pos.stage, pos.shard));
  TS_ASSIGN_OR_RETURN(runner->data_, world.Split(pos.stage * spec.tp + pos.shard, pos.data));

  runner->partition_ = std::make_shared<PipelinePartition>();
  const auto load_start = std::chrono::steady_clock::now();
  Status built = [&]() -> Status {
    TS_ASSIGN_OR_RETURN(GraphRewrite shard_rewrite, MakeTensorParallelRewrite(*runner->tensor_));
    PlanRunner* r = runner.get();
    GraphRewrite rewrite = [r, shard_rewrite, &options](Graph& graph) -> Status {
      for (int id : graph.inputs) r->inputs_.push_back(TensorInfoOf(graph.value(id)));
      for (int id : graph.outputs) r->outputs_.push_back(TensorInfoOf(graph.value(id)));
      if (options.spec.pp > 1) {
        PipelinePartitionOptions partition_options = options.partition;
        partition_options.stages = options.spec.pp;
        TS_ASSIGN_OR_RETURN(*r->partition_, PartitionPipeline(graph, partition_options));
        r->description_ = DescribePipelinePartition(graph, *r->partition_);
        TS_RETURN_IF_ERROR(ExtractPipelineStage(graph, r->partition_->stages[static_cast<size_t>(r->position_.stage)]));
      } else {
        *r->partition_ = SingleStage(graph);
      }
      if (shard_rewrite) TS_RETURN_IF_ERROR(shard_rewrite(graph));
      // What this rank keeps of the model's weights: the constants its part reads, each counted once.
      r->load_stats_.weight_bytes = 0;
      for (const auto& [id, t] : graph.constants) r->load_stats_.weight_bytes += t.byte_size();
      return Status::Ok();
    };
    TS_ASSIGN_OR_RETURN(runner->session_, LoadSessionWithRewrite(model_path, options.session, rewrite));
    runner->model_name_ = runner->session_->model_name();
    // The parsed model file is gone now that the stage holds copies of its own weights; hand its pages
    // back so that resident memory shows what the stage keeps. Not under AddressSanitizer, whose malloc
    // replaces glibc's: glibc's arenas are then never set up, and malloc_trim walking them crashes.
#if !defined(__SANITIZE_ADDRESS__)
    malloc_trim(0);
#endif
    return Status::Ok();
  }();
  runner->load_stats_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  runner->load_stats_.peak_resident_bytes = PeakResidentBytes();
  TS_ASSIGN_OR_RETURN(int first, FirstFailingRank(world, built));
  if (first < 0) return runner;
  report = world.rank() == first;
  if (!built.ok()) return first == 0 ? built : built.WithContext(runner->where_);
  return InvalidArgument("rank " + std::to_string(first) + " failed to build its part of the plan");
}

StatusOr<std::vector<Tensor>> PlanRunner::Run(const std::vector<Tensor>& feeds, int rounds) {
  const bool root = world_.rank() == 0;
  const PlanSpec& spec = options_.spec;
  StatusOr<int64_t> batch = int64_t{0};
  if (root) {
    batch = BatchOfFeeds(inputs_, feeds, model_name_);
    // A plan that never cuts the batch runs models without one too (all inputs scalars).
    const bool cuts_batch = spec.dp > 1 || spec.micro_batches > 1;
    const bool all_fed = feeds.size() == inputs_.size() &&
                         std::all_of(feeds.begin(), feeds.end(), [](const Tensor& t) { return t.defined(); });
    if (!batch.ok() && !cuts_batch && all_fed) batch = int64_t{1};
    if (batch.ok() && rounds < 1) {
      batch = InvalidArgument("model '" + model_name_ +
                              "': rounds must be at least 1 (the copies of the batch to stream), got " +
                              std::to_string(rounds));
    }
  }
  TS_RETURN_IF_ERROR(AgreeOnRoot(world_, 0, batch.status()));
  // Rank 0's batch and round count, so that only the root needs to know them (as when serving).
  Tensor shape = Tensor::FromVector<int64_t>(DType::kInt64, {2},
                                             std::vector<int64_t>{root ? *batch : 0, root ? rounds : 0});
  TS_RETURN_IF_ERROR(world_.Broadcast(shape, 0));
  const BatchSlices groups = SplitBatch(shape.data<int64_t>()[0], spec.dp);
  const int stream_rounds = static_cast<int>(shape.data<int64_t>()[1]);
  if (!BatchSliceRuns(groups, position_.data, 0)) return std::vector<Tensor>{};
  const int64_t rows = groups.rows[static_cast<size_t>(position_.data)];

  // Stage 0 of every shard gets its group's rows: scattered to shard 0, then shared with the others.
  std::vector<Tensor> local;
  if (position_.stage == 0) {
    if (position_.shard == 0) local = ScatterBatch(*data_, feeds, inputs_.size(), groups, 0);
    local.resize(inputs_.size());
    if (spec.tp > 1) {
      for (Tensor& t : local) {
        Status s = tensor_->Broadcast(t, 0);
        if (!s.ok()) world_.Abort("(" + place_ + ") sharing inputs with the tensor group: " + s.message(), 1);
      }
    }
  }

  PipelineStageRun run;
  run.session = session_.get();
  run.partition = partition_.get();
  run.stage = position_.stage;
  run.model_outputs = outputs_;
  run.model_name = model_name_;
  run.collect_outputs = position_.shard == 0;  // every shard computes the same outputs; one copy is enough
  run.abort_comm = &world_;
  run.where = place_;
  std::vector<Tensor> outputs = RunPipelineStage(run, *pipe_, local, rows, spec.micro_batches, stream_rounds);
  if (position_.stage != 0 || position_.shard != 0) return std::vector<Tensor>{};
  return GatherBatch(*data_, outputs, outputs_, groups, 0, model_name_);
}

StatusOr<std::string> PlanRunner::DescribeStages() {
  if (options_.spec.pp <= 1) return std::string();
  Tensor mine = Tensor::FromVector<int64_t>(
      DType::kInt64, {1, 2}, std::vector<int64_t>{position_.stage, static_cast<int64_t>(ResidentBytes())});
  TS_ASSIGN_OR_RETURN(Tensor all, world_.AllGather(mine, 0));
  if (world_.rank() != 0) return std::string();
  std::vector<int64_t> most(partition_->stages.size(), 0);
  for (int64_t r = 0; r < all.dim(0); ++r) {
    int64_t stage = all.data<int64_t>()[2 * r], rss = all.data<int64_t>()[2 * r + 1];
    if (stage >= 0 && static_cast<size_t>(stage) < most.size())
      most[static_cast<size_t>(stage)] = std::max(most[static_cast<size_t>(stage)], rss);
  }
  // The table comes from the partition of the whole graph, which every rank computed alike.
  std::ostringstream out;
  std::istringstream table(description_);
  std::string line;
  for (size_t s = 0; std::getline(table, line); ++s) {
    out << line;
    if (s < most.size()) out << ", resident " << Mib(static_cast<double>(most[s]));
    out << "\n";
  }
  return out.str();
}

}  // namespace tessera
