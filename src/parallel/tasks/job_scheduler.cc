// Dynamic job dispatch: rank 0 answers whichever worker is free, workers run what they are given.
#include "parallel/tasks/job_scheduler.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace tessera {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long the dispatcher sleeps when no worker has written: short next to any model's run, long
// enough that an idle dispatcher does not spin on a core the workers need.
constexpr auto kDispatcherPoll = std::chrono::milliseconds(1);

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Status SendJson(Communicator& comm, const json& message, int dst, int tag) {
  std::string text = message.dump();
  std::vector<uint8_t> bytes(text.begin(), text.end());
  return comm.Send(Tensor::FromVector(DType::kUInt8, {static_cast<int64_t>(bytes.size())}, bytes), dst, tag);
}

StatusOr<json> RecvJson(Communicator& comm, int src, int tag) {
  TS_ASSIGN_OR_RETURN(Tensor t, comm.Recv(src, tag));
  if (t.dtype() != DType::kUInt8 || t.rank() != 1) {
    return InvalidArgument("rank " + std::to_string(src) + " sent a job message that is not a uint8 vector");
  }
  const char* data = t.data<char>();
  json message = json::parse(data, data + t.element_count(), nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    return InvalidArgument("rank " + std::to_string(src) + " sent a job message that is not a JSON object");
  }
  return message;
}

JobResult RunOne(JobRunner& runner, const Job& job, int rank) {
  auto start = Clock::now();
  Status s = runner.Run(job);
  return {job.line, rank, s.ok(), s.ok() ? "" : s.message(), MillisecondsSince(start)};
}

void Count(JobSummary& summary, const JobResult& r) {
  (r.ok ? summary.ok : summary.failed) += 1;
  if (r.rank >= 0 && static_cast<size_t>(r.rank) < summary.jobs_per_rank.size()) summary.jobs_per_rank[r.rank] += 1;
}

// Reads a worker's result message; false when it is not one.
bool ParseResult(const json& m, int src, JobResult& r) {
  auto line = m.find("line"), ok = m.find("ok"), error = m.find("error"), ms = m.find("ms");
  if (line == m.end() || ok == m.end() || error == m.end() || ms == m.end() || !line->is_number_integer() ||
      !ok->is_boolean() || !error->is_string() || !ms->is_number()) {
    return false;
  }
  r = {line->get<int>(), src, ok->get<bool>(), error->get<std::string>(), ms->get<double>()};
  return true;
}

StatusOr<JobSummary> Dispatch(Communicator& comm, const std::vector<JobLine>& lines, const JobFinished& on_finished,
                              JobSummary summary) {
  auto start = Clock::now();
  std::vector<const Job*> runnable;
  for (const JobLine& l : lines) {
    if (l.job.ok()) {
      runnable.push_back(&*l.job);
      continue;
    }
    JobResult r{l.line, -1, false, l.job.status().message(), 0};
    Count(summary, r);
    on_finished(r);
  }
  size_t next = 0;
  for (int working = comm.size() - 1; working > 0;) {
    TS_ASSIGN_OR_RETURN(int src, comm.ProbeAny(kJobTagToDispatcher));
    if (src < 0) {
      std::this_thread::sleep_for(kDispatcherPoll);
      continue;
    }
    TS_ASSIGN_OR_RETURN(json m, RecvJson(comm, src, kJobTagToDispatcher));
    if (m.contains("ready")) {
      if (m.value("version", 0) != kJobProtocolVersion) {
        return InvalidArgument("rank " + std::to_string(src) + " speaks job protocol version " +
                               m.value("version", json(0)).dump() + ", expected " + std::to_string(kJobProtocolVersion));
      }
    } else {
      JobResult r;
      if (!ParseResult(m, src, r)) return InvalidArgument("rank " + std::to_string(src) + " sent a malformed job result");
      Count(summary, r);
      on_finished(r);
    }
    if (next < runnable.size()) {
      TS_RETURN_IF_ERROR(SendJson(comm, json{{"job", json::parse(JobToJson(*runnable[next++]))}}, src, kJobTagToWorker));
    } else {
      TS_RETURN_IF_ERROR(SendJson(comm, json{{"stop", true}}, src, kJobTagToWorker));
      --working;
    }
  }
  summary.seconds = MillisecondsSince(start) / 1000;
  return summary;
}

StatusOr<JobSummary> Work(Communicator& comm, JobRunner& runner, JobSummary summary) {
  auto start = Clock::now();
  TS_RETURN_IF_ERROR(SendJson(comm, json{{"version", kJobProtocolVersion}, {"ready", true}}, 0, kJobTagToDispatcher));
  while (true) {
    TS_ASSIGN_OR_RETURN(json m, RecvJson(comm, 0, kJobTagToWorker));
    if (m.contains("stop")) break;
    auto job_field = m.find("job");
    if (job_field == m.end()) return InvalidArgument("rank 0 sent a job message without a job");
    TS_ASSIGN_OR_RETURN(Job job, JobFromJson(job_field->dump()));
    JobResult r = RunOne(runner, job, comm.rank());
    Count(summary, r);
    TS_RETURN_IF_ERROR(SendJson(comm, json{{"line", r.line}, {"ok", r.ok}, {"error", r.error}, {"ms", r.ms}}, 0,
                                kJobTagToDispatcher));
  }
  summary.seconds = MillisecondsSince(start) / 1000;
  return summary;
}

}  // namespace

StatusOr<JobSummary> RunJobs(Communicator& comm, const std::vector<JobLine>& lines, JobRunner& runner,
                             const JobFinished& on_finished) {
  JobSummary summary;
  summary.jobs_per_rank.assign(static_cast<size_t>(comm.size()), 0);
  if (comm.size() > 1) {
    auto result = comm.rank() == 0 ? Dispatch(comm, lines, on_finished, summary) : Work(comm, runner, summary);
    // A protocol failure leaves the peers waiting for a message that will never come.
    if (!result.ok()) comm.Abort("run-jobs: " + result.status().message(), 1);
    return result;
  }
  auto start = Clock::now();
  for (const JobLine& l : lines) {
    JobResult r = l.job.ok() ? RunOne(runner, *l.job, 0) : JobResult{l.line, -1, false, l.job.status().message(), 0};
    Count(summary, r);
    on_finished(r);
  }
  summary.seconds = MillisecondsSince(start) / 1000;
  return summary;
}

}  // namespace tessera
