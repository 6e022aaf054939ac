// Spreading the jobs of a job file over the ranks of a communicator, a job at a time.
//
// A world of one runs every job in file order. Under a launcher, rank 0 is the dispatcher and runs no
// jobs itself: it holds the list, hands the next job to whichever worker asks first (so a rank stuck on
// a big model does not hold back the small ones behind it), and reports progress as results come back.
// Keeping rank 0 out of the work means a worker never waits for a job while rank 0 is busy running one
// (the Communicator is single-threaded, so rank 0 could not answer during its own run), and rank 0 polls
// with a short sleep, so it costs almost no CPU when ranks outnumber cores. The price is one rank that
// computes nothing: start N+1 ranks for N workers.
//
// Protocol (tags kJobTagToDispatcher / kJobTagToWorker, each message one JSON object in a uint8 tensor):
//   worker -> 0: {"version":1,"ready":true}                 once, first
//   0 -> worker: {"job":{...JobToJson...}} | {"stop":true}   answer to each worker message
//   worker -> 0: {"line":N,"ok":bool,"error":"...","ms":T}   after each job
// Workers read inputs and write outputs themselves: every rank must see the job file's paths (one host,
// or a shared filesystem). A malformed protocol message ends the job (Abort): its peers could only hang.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "parallel/comm/communicator.h"
#include "parallel/tasks/job_runner.h"
#include "parallel/tasks/job_spec.h"

namespace tessera {

constexpr int kJobTagToDispatcher = 4100;
constexpr int kJobTagToWorker = 4101;
constexpr int kJobProtocolVersion = 1;

struct JobResult {
  int line = 0;
  int rank = -1;  // the rank that ran it; -1 for a line that is not a job (never run)
  bool ok = false;
  std::string error;  // when !ok: why, naming the model, input or value at fault
  double ms = 0;
};

struct JobSummary {
  int ok = 0;
  int failed = 0;
  double seconds = 0;
  std::vector<int> jobs_per_rank;  // jobs run (ok or failed) by each rank
};

// Called on rank 0 as each job finishes (in finishing order).
using JobFinished = std::function<void(const JobResult&)>;

// Every rank calls this; `lines` matter only on rank 0 (others pass an empty list). The summary is
// complete on rank 0; on other ranks it counts only their own jobs.
StatusOr<JobSummary> RunJobs(Communicator& comm, const std::vector<JobLine>& lines, JobRunner& runner,
                             const JobFinished& on_finished);

}  // namespace tessera
