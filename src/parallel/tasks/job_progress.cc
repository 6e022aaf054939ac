// Progress bar / progress lines and the summary of a run-jobs run.
#include "parallel/tasks/job_progress.h"

#include <chrono>
#include <cstdio>
#include <sstream>

namespace tessera {

namespace {

double NowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

constexpr int kBarWidth = 30;
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

JobProgress::JobProgress(int total_jobs, std::ostream& out, bool terminal)
    : total_(total_jobs), out_(out), terminal_(terminal), started_ms_(NowMs()) {
  if (terminal_) out_ << Bar() << std::flush;
}

std::string JobProgress::Bar() const {
  int filled = total_ > 0 ? done_ * kBarWidth / total_ : kBarWidth;
  std::string bar = "[";
  bar.append(static_cast<size_t>(filled), '#').append(static_cast<size_t>(kBarWidth - filled), '.').append("] ");
  bar += std::to_string(done_) + "/" + std::to_string(total_) + " jobs";
  if (failed_ > 0) bar += ", " + std::to_string(failed_) + " failed";
  return bar + ", " + Fixed((NowMs() - started_ms_) / 1000, 1) + " s";
}

void JobProgress::OnFinished(const JobResult& r) {
  ++done_;
  if (!r.ok) ++failed_;
  std::string where = r.line > 0 ? "line " + std::to_string(r.line) : "job";
  std::string status = r.ok ? "ok" : "FAILED";
  std::string detail = r.ok || r.error.empty() ? "" : ": " + r.error;
  std::string ran = r.rank >= 0 ? " on rank " + std::to_string(r.rank) + " in " + Fixed(r.ms, 1) + " ms" : " (not run)";
  if (terminal_) {
    if (!r.ok) out_ << kClearLine << where << " " << status << detail << "\n";
    out_ << kClearLine << Bar() << std::flush;
    return;
  }
  out_ << "[" << done_ << "/" << total_ << "] " << where << " " << status << ran << detail << "\n" << std::flush;
}

void JobProgress::Finish() {
  if (terminal_) out_ << kClearLine << Bar() << "\n" << std::flush;
}

std::string JobProgress::Summary(const JobSummary& s) {
  std::ostringstream out;
  out << "run-jobs: " << (s.ok + s.failed) << " jobs, " << s.ok << " ok, " << s.failed << " failed in " << Fixed(s.seconds, 2) << " s";
  if (s.jobs_per_rank.size() > 1) {
    out << " on " << s.jobs_per_rank.size() << " ranks (rank 0 dispatched";
    for (size_t r = 1; r < s.jobs_per_rank.size(); ++r) out << "; rank " << r << ": " << s.jobs_per_rank[r] << (s.jobs_per_rank[r] == 1 ? " job" : " jobs");
    out << ")";
  }
  out << "\n";
  return out.str();
}

}  // namespace tessera
