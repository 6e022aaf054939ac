// Groups, the control messages between rank 0 and the workers, and rank 0's one MPI thread.
#include "serve/distributed/mpi_serving.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "parallel/plan_runner.h"
#include "serve/distributed/decoder_group.h"
#include "serve/generation_model.h"
#include "serve/loaded_model.h"
#include "serve/model_repository.h"
#include "serve/server_metrics.h"

namespace tessera::serve {

namespace {

// Control messages go from world rank 0 to a worker on the world communicator: one int64 holding the
// index of the group to run, or kStop. PlanRunner's own traffic is on the groups' communicators.
constexpr int kControlTag = 4300;
constexpr int64_t kStop = -1;
// After each run a worker sends rank 0 its total busy seconds (one float64), for the metrics.
constexpr int kBusyTag = 4301;
// Before a decoder group's step rank 0 sends each member the step (decoder_group.h), and after it each
// member answers its KV-cache bytes and sequences (two int64), for the metrics.
constexpr int kStepTag = 4302;
constexpr int kCacheTag = 4303;
// How long an idle worker sleeps between probes: adds at most this to a request's latency.
constexpr auto kProbeInterval = std::chrono::microseconds(500);

// Rank 0's main thread, the only one allowed to call MPI (MPI_THREAD_FUNNELED).
class MpiThread {
 public:
  void SetOwner() { owner_ = std::this_thread::get_id(); }

  // Runs `job` on the MPI thread and returns true when it has run (at once when called from that
  // thread); false, without running it, once the thread has finished serving (the server is stopping).
  bool Run(const std::function<void()>& job) {
    if (std::this_thread::get_id() == owner_) {
      job();
      return true;
    }
    std::packaged_task<void()> task(job);
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return false;
      jobs_.push_back(std::move(task));
    }
    cv_.notify_all();
    done.get();
    return true;
  }

  // Carries out posted jobs until Finish is called and none is left.
  void Serve() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return !jobs_.empty() || finished_; });
      if (jobs_.empty()) return;
      std::packaged_task<void()> task = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::thread::id owner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> jobs_;
  bool finished_ = false;
};

}  // namespace

struct MpiServing::Group {
  int index = 0;
  std::string model, version;
  std::string label;  // "model 'a' version 1"
  std::string path;   // canonical model.onnx, as the server's loader passes it
  ParallelConfig parallel;
  std::vector<int> members;            // world ranks; members[0] == 0
  std::unique_ptr<Communicator> comm;  // declared before the runner, which uses it until it is gone
  std::unique_ptr<PlanRunner> runner;
  Status load;  // why runner (or decoder) is null
  // A decoder (its version folder holds exporter config files) is served for generation instead: every
  // member holds a DecoderModel over `comm`; rank 0 hands its own to the GenerationModel (once), the
  // others mirror rank 0's scheduler.
  bool is_decoder = false;
  // pp x tp: the stage's tensor group and the pipeline group of equal tensor ranks, split from `comm`;
  // declared before the decoder, which uses them until it is gone.
  std::unique_ptr<Communicator> tensor_comm, pipeline_comm;
  std::unique_ptr<generate::DecoderModel> decoder;
  std::unique_ptr<DecoderGroupMirror> mirror;
  bool decoder_taken = false;
  std::unique_ptr<std::atomic<int64_t>[]> cache_bytes;  // rank 0: each member's KV-cache bytes
  bool serving() const { return runner || is_decoder; }
  // Seconds each member spent in runs, by position in `members`: kept on rank 0, written by its MPI thread
  // and read by the metrics. A worker keeps its own total in busy[its position].
  std::unique_ptr<std::atomic<double>[]> busy;
};

namespace {

// Rank 0's view of the groups, for CreateDistributedRunner (called from the server's loader).
struct Registry {
  std::mutex mu;
  Communicator* world = nullptr;  // set while MpiServing lives on rank 0
  std::map<std::string, std::shared_ptr<MpiServing::Group>> by_path;
  MpiThread mpi_thread;
};

Registry& GetRegistry() {
  static Registry registry;
  return registry;
}

std::string PlanText(const ParallelConfig& p) {
  return "dp=" + std::to_string(p.dp) + " pp=" + std::to_string(p.pp) + " tp=" + std::to_string(p.tp);
}

std::string RankBusyText(const std::vector<std::shared_ptr<MpiServing::Group>>& groups) {
  std::string out =
      "# HELP tessera_rank_busy_seconds_total Time each MPI rank of a model's group spent in its runs.\n"
      "# TYPE tessera_rank_busy_seconds_total counter\n";
  for (const auto& group : groups) {
    if (!group->runner) continue;  // failed to load, or a decoder: never runs a plan
    for (size_t i = 0; i < group->members.size(); ++i) {
      char number[64];
      std::snprintf(number, sizeof number, "%.17g", group->busy[i].load());
      out += "tessera_rank_busy_seconds_total{model=\"" + group->model + "\",version=\"" + group->version +
             "\",rank=\"" + std::to_string(group->members[i]) + "\"} " + number + "\n";
    }
  }
  out +=
      "# HELP tessera_rank_kv_cache_bytes Bytes of KV cache each MPI rank of a decoder's group holds.\n"
      "# TYPE tessera_rank_kv_cache_bytes gauge\n";
  for (const auto& group : groups) {
    if (!group->is_decoder || !group->load.ok()) continue;
    for (size_t i = 0; i < group->members.size(); ++i) {
      out += "tessera_rank_kv_cache_bytes{model=\"" + group->model + "\",version=\"" + group->version +
             "\",rank=\"" + std::to_string(group->members[i]) + "\"} " +
             std::to_string(group->cache_bytes[i].load()) + "\n";
    }
  }
  return out;
}

// Rank 0's StepDriver for a decoder group: on the MPI thread, tells each member to run the group, sends
// it the step, steps rank 0's own rows (collective with the members) and reads back their cache sizes.
class MpiDecoderDriver : public generate::StepDriver {
 public:
  MpiDecoderDriver(std::shared_ptr<MpiServing::Group> group, Communicator& world)
      : group_(std::move(group)), world_(world) {}

  StatusOr<std::vector<std::vector<float>>> Step(generate::DecoderModel& model,
                                                 const std::vector<generate::ScheduledRow>& rows,
                                                 const std::vector<int64_t>& freed) override;

 private:
  std::shared_ptr<MpiServing::Group> group_;
  Communicator& world_;
};

StatusOr<std::vector<std::vector<float>>> MpiDecoderDriver::Step(generate::DecoderModel& model,
                                                                 const std::vector<generate::ScheduledRow>& rows,
                                                                 const std::vector<int64_t>& freed) {
  const Tensor message = EncodeDecoderStep(rows, freed);
  StatusOr<std::vector<std::vector<float>>> result = std::vector<std::vector<float>>{};
  const bool ran = GetRegistry().mpi_thread.Run([&] {
    Tensor command = Tensor::FromVector<int64_t>(DType::kInt64, {1}, {group_->index});
    for (size_t i = 1; i < group_->members.size(); ++i) {
      const int member = group_->members[i];
      Status s = world_.Send(command, member, kControlTag);
      if (s.ok()) s = world_.Send(message, member, kStepTag);
      if (!s.ok()) world_.Abort(group_->label + ": sending a step to rank " + std::to_string(member) + ": " +
                                    s.message(), 1);
    }
    const auto start = std::chrono::steady_clock::now();
    if (!rows.empty()) {
      std::vector<generate::Sequence*> sequences;
      for (const generate::ScheduledRow& row : rows) sequences.push_back(row.sequence);
      result = model.Step(sequences);
    }
    group_->busy[0] =
        group_->busy[0] + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int64_t own = 0;
    for (const generate::ScheduledRow& row : rows)
      for (const Tensor& t : row.sequence->cache) own += static_cast<int64_t>(t.byte_size());
    group_->cache_bytes[0] = own;
    for (size_t i = 1; i < group_->members.size(); ++i) {
      auto busy = world_.Recv(group_->members[i], kBusyTag);
      if (busy.ok() && busy->dtype() == DType::kFloat64 && busy->shape() == Shape{1})
        group_->busy[i] = busy->data<double>()[0];
      auto cache = world_.Recv(group_->members[i], kCacheTag);
      if (cache.ok() && cache->dtype() == DType::kInt64 && cache->shape() == Shape{2})
        group_->cache_bytes[i] = cache->data<int64_t>()[0];
    }
  });
  if (!ran) return Unavailable(group_->label + " is shutting down");
  return result;
}

class MpiPlanRunner : public ModelRunner {
 public:
  MpiPlanRunner(std::shared_ptr<MpiServing::Group> group, Communicator& world)
      : group_(std::move(group)), world_(world) {}
  const std::vector<TensorInfo>& inputs() const override { return group_->runner->inputs(); }
  const std::vector<TensorInfo>& outputs() const override { return group_->runner->outputs(); }

  StatusOr<std::vector<Tensor>> Run(const Feeds& feeds) override {
    // The queue has validated the request against inputs(); PlanRunner takes the feeds in that order.
    std::vector<Tensor> ordered;
    for (const TensorInfo& info : inputs()) {
      auto it = std::find_if(feeds.begin(), feeds.end(), [&](const auto& f) { return f.first == info.name; });
      if (it == feeds.end()) return InvalidArgument(group_->label + ": input '" + info.name + "' is missing");
      ordered.push_back(it->second);
    }
    StatusOr<std::vector<Tensor>> result = Internal(group_->label + ": the run did not happen");
    GetRegistry().mpi_thread.Run([&] {
      Tensor command = Tensor::FromVector<int64_t>(DType::kInt64, {1}, {group_->index});
      for (size_t i = 1; i < group_->members.size(); ++i) {
        Status s = world_.Send(command, group_->members[i], kControlTag);
        if (!s.ok())
          world_.Abort(
              group_->label + ": telling rank " + std::to_string(group_->members[i]) + " to run: " + s.message(), 1);
      }
      const auto start = std::chrono::steady_clock::now();
      result = group_->runner->Run(ordered);
      group_->busy[0] =
          group_->busy[0] + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (size_t i = 1; i < group_->members.size(); ++i) {
        auto busy = world_.Recv(group_->members[i], kBusyTag);
        if (busy.ok() && busy->dtype() == DType::kFloat64 && busy->shape() == Shape{1}) {
          group_->busy[i] = busy->data<double>()[0];
        }
      }
    });
    return result;
  }

 private:
  std::shared_ptr<MpiServing::Group> group_;
  Communicator& world_;
};

}  // namespace

namespace {

// pp x tp, as `tessera generate --pp P --tp T` lays it out: stage s holds the group's ranks s*T .. s*T+T-1
// (its tensor group), and the ranks of equal tensor rank across the stages form a pipeline group, so stage
// boundaries connect matching ranks. Collective over the group: every member calls it.
Status SplitDecoderGrid(MpiServing::Group& group) {
  const int rank = group.comm->rank(), t = group.parallel.tp;
  auto tensor = group.comm->Split(rank / t, rank % t);
  if (!tensor.ok()) return tensor.status();
  auto pipe = group.comm->Split(rank % t, rank / t);
  if (!pipe.ok()) return pipe.status();
  group.tensor_comm = std::move(tensor).value();
  group.pipeline_comm = std::move(pipe).value();
  return Status::Ok();
}

// Every member loads the decoder over the group's communicator: tp, pp or pp x tp; not dp yet.
void LoadDecoderGroup(MpiServing::Group& group, int threads, int me) {
  group.is_decoder = true;
  group.cache_bytes = std::make_unique<std::atomic<int64_t>[]>(group.members.size());
  const ParallelConfig& p = group.parallel;
  generate::DecoderOptions options;
  options.threads = threads;
  if (p.dp > 1) {
    group.load = Unimplemented("a decoder is served with tp, pp or pp x tp under mpirun, not dp yet; asked for " +
                               PlanText(p));
  } else if (p.tp > 1 && p.pp > 1) {
    group.load = SplitDecoderGrid(group);
    options.tensor_group = group.tensor_comm.get();
    options.pipeline_group = group.pipeline_comm.get();
  } else {
    (p.tp > 1 ? options.tensor_group : options.pipeline_group) = group.comm.get();
  }
  if (group.load.ok()) {
    const std::string folder = std::filesystem::path(group.path).parent_path().string();
    auto decoder = generate::DecoderModel::Load(folder, options);
    if (decoder.ok()) {
      group.decoder = std::move(decoder).value();
      if (me != 0) group.mirror = std::make_unique<DecoderGroupMirror>(*group.decoder);
    } else {
      group.load = decoder.status();
      if (me != 0) std::cerr << "tessera: rank " << me << ": " << group.label << ": " << group.load.message() << "\n";
    }
  }
  if (!group.load.ok()) group.load = group.load.WithContext("parallel " + PlanText(p));
}

}  // namespace

StatusOr<std::unique_ptr<MpiServing>> MpiServing::Start(Communicator& world, const ServerOptions& options,
                                                        bool& report) {
  const int me = world.rank();
  report = me == 0;
  std::unique_ptr<MpiServing> serving(new MpiServing(world));
  std::vector<std::pair<std::shared_ptr<Group>, ModelConfig>> planned;
  int next = 1;
  if (!options.model_repo.empty()) {
    // Problems with the repository or a config are left to the server on rank 0 to report; here such a
    // model simply gets no group. Every rank decides alike from the same files.
    auto repo = ModelRepository::Open(options.model_repo);
    if (repo.ok()) {
      for (const std::string& name : options.load_models.empty() ? repo->ListModels() : options.load_models) {
        auto folder = repo->Locate(name);
        if (!folder.ok()) continue;
        auto config = ReadModelConfig(*folder);
        if (!config.ok() || !config->parallel.distributed()) continue;
        std::vector<int64_t> available;
        for (const auto& [version, path] : folder->versions) available.push_back(version);
        auto versions = SelectVersions(config->version_policy, available, name);
        if (!versions.ok()) continue;
        for (int64_t version : *versions) {
          auto group = std::make_shared<Group>();
          group->index = static_cast<int>(planned.size());
          group->model = name;
          group->version = std::to_string(version);
          group->label = "model '" + name + "' version " + group->version;
          group->path = folder->versions.at(version);
          group->parallel = config->parallel;
          group->members.push_back(0);
          const int64_t size = int64_t{config->parallel.dp} * config->parallel.pp * config->parallel.tp;
          for (int64_t i = 1; i < size; ++i) group->members.push_back(next++);
          group->busy = std::make_unique<std::atomic<double>[]>(group->members.size());
          planned.emplace_back(std::move(group), *config);
        }
      }
    }
  }
  if (next > world.size()) {
    std::string needs;
    for (const auto& [group, config] : planned) {
      needs += (needs.empty() ? "" : ", ") + group->label + " " + PlanText(group->parallel) + " takes " +
               std::to_string(group->members.size()) + " (rank 0 and " + std::to_string(group->members.size() - 1) +
               " more)";
    }
    return InvalidArgument("the parallel plans of the repository need " + std::to_string(next) +
                           " MPI ranks but mpirun started " + std::to_string(world.size()) + " (" + needs +
                           "); run with -np " + std::to_string(next));
  }

  for (auto& [group, config] : planned) {
    auto position = std::find(group->members.begin(), group->members.end(), me);
    const bool member = position != group->members.end();
    auto comm = world.Split(member ? 0 : 1, member ? static_cast<int>(position - group->members.begin()) : me);
    if (!comm.ok()) return comm.status().WithContext(group->label);
    if (!member) {
      serving->other_groups_.push_back(std::move(comm).value());
      continue;
    }
    group->comm = std::move(comm).value();
    if (IsDecoderFolder(group->path)) {
      LoadDecoderGroup(*group, InstanceThreads(config, options.default_threads), me);
      serving->groups_.push_back(group);
      continue;
    }
    PlanRunnerOptions plan;
    plan.spec.dp = group->parallel.dp;
    plan.spec.pp = group->parallel.pp;
    plan.spec.tp = group->parallel.tp;
    group->load = ResolvePlan(plan.spec, group->comm->size());
    if (group->load.ok()) {
      plan.session.threads = InstanceThreads(config, options.default_threads);
      bool report_load = false;
      auto runner = PlanRunner::Create(*group->comm, group->path, plan, report_load);
      if (runner.ok()) {
        group->runner = std::move(runner).value();
      } else {
        group->load = runner.status();
        // Rank 0's copy of the error becomes the model's load failure; a worker that holds the only
        // precise message prints it.
        if (report_load && me != 0)
          std::cerr << "tessera: rank " << me << ": " << group->label << ": " << group->load.message() << "\n";
      }
    }
    // The server's loader adds the model and version.
    if (!group->load.ok()) group->load = group->load.WithContext("parallel " + PlanText(group->parallel));
    serving->groups_.push_back(group);
  }

  if (me == 0) {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mu);
    registry.world = &world;
    registry.mpi_thread.SetOwner();
    for (const auto& group : serving->groups_) registry.by_path[group->path] = group;
    std::vector<std::shared_ptr<Group>> groups = serving->groups_;
    SetExtraMetrics([groups] { return RankBusyText(groups); });
  }
  return serving;
}

MpiServing::~MpiServing() {
  if (world_.rank() != 0) return;
  if (!stopped_) TellWorkersToStop();
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.by_path.clear();
  registry.world = nullptr;
  SetExtraMetrics(nullptr);
}

void MpiServing::TellWorkersToStop() {
  stopped_ = true;
  Tensor stop = Tensor::FromVector<int64_t>(DType::kInt64, {1}, {kStop});
  for (int r = 1; r < world_.size(); ++r) {
    Status s = world_.Send(stop, r, kControlTag);
    if (!s.ok()) world_.Abort("telling rank " + std::to_string(r) + " to stop: " + s.message(), 1);
  }
}

Status MpiServing::RunWorker() {
  while (true) {
    TS_ASSIGN_OR_RETURN(int source, world_.ProbeAny(kControlTag));
    if (source < 0) {
      std::this_thread::sleep_for(kProbeInterval);
      continue;
    }
    TS_ASSIGN_OR_RETURN(Tensor command, world_.Recv(source, kControlTag));
    if (source != 0 || command.dtype() != DType::kInt64 || command.shape() != Shape{1}) {
      return Internal("rank " + std::to_string(world_.rank()) + ": malformed control message from rank " +
                      std::to_string(source));
    }
    const int64_t index = command.data<int64_t>()[0];
    if (index == kStop) return Status::Ok();
    auto group = std::find_if(groups_.begin(), groups_.end(), [&](const auto& g) { return g->index == index; });
    if (group == groups_.end() || !(*group)->serving() || ((*group)->is_decoder && !(*group)->mirror)) {
      return Internal("rank " + std::to_string(world_.rank()) + ": told to run group " + std::to_string(index) +
                      ", which it does not serve");
    }
    // Bad inputs fail on every rank of the group and rank 0 answers the client; nothing to do here.
    Group& g = **group;
    const auto start = std::chrono::steady_clock::now();
    if (g.is_decoder) {
      TS_ASSIGN_OR_RETURN(Tensor step, world_.Recv(0, kStepTag));
      TS_RETURN_IF_ERROR(g.mirror->Apply(step).WithContext("rank " + std::to_string(world_.rank())));
    } else {
      (void)g.runner->Run({});
    }
    const size_t position =
        static_cast<size_t>(std::find(g.members.begin(), g.members.end(), world_.rank()) - g.members.begin());
    g.busy[position] =
        g.busy[position] + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TS_RETURN_IF_ERROR(
        world_.Send(Tensor::FromVector<double>(DType::kFloat64, {1}, {g.busy[position].load()}), 0, kBusyTag));
    if (g.is_decoder) {
      TS_RETURN_IF_ERROR(world_.Send(
          Tensor::FromVector<int64_t>(DType::kInt64, {2}, {g.mirror->cache_bytes(), g.mirror->sequences()}), 0,
          kCacheTag));
    }
  }
}

void MpiServing::RunFrontEnd(const std::function<void()>& front_end) {
  Registry& registry = GetRegistry();
  std::thread front([&] {
    front_end();
    registry.mpi_thread.Finish();
  });
  registry.mpi_thread.Serve();
  front.join();
  TellWorkersToStop();
}

std::string MpiServing::Describe() const {
  std::string out;
  for (const auto& group : groups_) {
    out += group->label + " (" + PlanText(group->parallel) + "): ranks";
    for (size_t i = 0; i < group->members.size(); ++i) out += (i ? "," : " ") + std::to_string(group->members[i]);
    if (!group->load.ok()) out += ", failed to load";
    out += "\n";
  }
  return out;
}

StatusOr<std::unique_ptr<ModelRunner>> CreateDistributedRunner(const std::string& model_path, const ServingPlan& plan,
                                                               const std::string& model_name) {
  const std::string what = "model '" + model_name + "': config.json asks for parallel " + PlanText(plan.parallel);
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  if (registry.world == nullptr) {
    return Unimplemented(what +
                         ", which needs several processes: start the server under mpirun (docs/serving.md, "
                         "\"Serving over MPI\")");
  }
  auto it = registry.by_path.find(model_path);
  if (it == registry.by_path.end() || it->second->parallel.dp != plan.parallel.dp ||
      it->second->parallel.pp != plan.parallel.pp || it->second->parallel.tp != plan.parallel.tp) {
    return NotFound(what +
                    ", but no group of ranks was formed for it: the groups are formed when the server "
                    "starts, from the repository as it was then");
  }
  if (it->second->is_decoder) return Internal(what + ": a decoder, which is served for generation");
  if (!it->second->runner) return it->second->load;
  return std::unique_ptr<ModelRunner>(std::make_unique<MpiPlanRunner>(it->second, *registry.world));
}

StatusOr<DistributedDecoder> TakeDistributedDecoder(const std::string& model_path, const ParallelConfig& parallel,
                                                    const std::string& model_name) {
  const std::string what = "model '" + model_name + "': config.json asks for parallel " + PlanText(parallel);
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  if (registry.world == nullptr) {
    return Unimplemented(what +
                         ", which needs several processes: start the server under mpirun (docs/serving.md, "
                         "\"Decoders over MPI\")");
  }
  auto it = registry.by_path.find(model_path);
  if (it == registry.by_path.end() || !it->second->is_decoder || it->second->parallel.dp != parallel.dp ||
      it->second->parallel.pp != parallel.pp || it->second->parallel.tp != parallel.tp) {
    return NotFound(what +
                    ", but no group of ranks was formed for it: the groups are formed when the server "
                    "starts, from the repository as it was then");
  }
  MpiServing::Group& group = *it->second;
  if (!group.load.ok()) return group.load;
  if (group.decoder_taken) {
    return Unavailable(what + ": its group already serves it; a group's decoder loads once, so "
                              "reloading the model needs a restart of the server");
  }
  group.decoder_taken = true;
  DistributedDecoder out;
  out.decoder = std::move(group.decoder);
  out.driver = std::make_unique<MpiDecoderDriver>(it->second, *registry.world);
  return out;
}

}  // namespace tessera::serve
