// Progress of a run-jobs run, printed on rank 0 as jobs finish.
//
// On a terminal: one bar redrawn in place ("[#######.....] 7/12 jobs, 1 failed, 3.2 s"), with a failed
// job's line printed above it. Elsewhere (a pipe, a log file, CI): one plain line per finished job, since
// carriage returns turn a log into one unreadable line.
#pragma once

#include <ostream>
#include <string>

#include "parallel/tasks/job_scheduler.h"

namespace tessera {

class JobProgress {
 public:
  JobProgress(int total_jobs, std::ostream& out, bool terminal);

  void OnFinished(const JobResult& result);
  // Clears the bar (terminal only) so the summary starts on a clean line.
  void Finish();

  // The summary block: counts, time and each rank's share.
  static std::string Summary(const JobSummary& summary);

 private:
  std::string Bar() const;

  int total_;
  int done_ = 0;
  int failed_ = 0;
  std::ostream& out_;
  bool terminal_;
  double started_ms_;
};

}  // namespace tessera
