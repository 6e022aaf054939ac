// OpenMP wait policy: the idle-cores look and the re-exec.
#include "cli/openmp_wait_policy.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace tessera::cli {

namespace {

constexpr const char* kSpinCount = "200000";  // about 2 ms of spinning after each parallel region
constexpr int kLooks = 8;                     // looks at the run queue, kLookIntervalUs apart
constexpr int kLookIntervalUs = 2000;

// Tasks runnable on the whole system now, this one included; -1 when the system does not say.
int RunnableTasks() {
  std::ifstream stat("/proc/stat");
  std::string key;
  long value = 0;
  while (stat >> key) {
    if (key == "procs_running" && stat >> value) return static_cast<int>(value);
    stat.ignore(1 << 20, '\n');
  }
  return -1;
}

// Another task wanted a CPU at no more than a quarter of several looks over ~16 ms. A process that keeps
// a core busy shows at nearly every look; one look's worth is a passing kernel thread or launcher, and
// taking it for load made `bench` sleep between regions on an idle machine now and then (MobileNetV2 at
// 2 threads: 4.2-4.6 ms against 3.1-3.2 spinning, which moved a suite ratio from 0.92 to 1.07).
bool CoresLookIdle() {
  int busy_looks = 0;
  for (int i = 0; i < kLooks; ++i) {
    const int runnable = RunnableTasks();
    if (runnable < 0) return false;
    busy_looks += runnable > 1 ? 1 : 0;
    if (i + 1 < kLooks) usleep(kLookIntervalUs);
  }
  return busy_looks * 4 <= kLooks;
}

bool UnderMpiLauncher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"}) {
    if (std::getenv(v) != nullptr) return true;
  }
  return false;
}

}  // namespace

OpenMpWaitChoice ChooseOpenMpWait(const std::string& command) {
  OpenMpWaitChoice choice;
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    choice.caller_chose = true;
    return choice;
  }
  choice.spin = (command == "bench" || command == "run" || command == "generate") && !UnderMpiLauncher() &&
                CoresLookIdle();
  return choice;
}

void ApplyOpenMpWaitPolicy(char** argv) {
  const OpenMpWaitChoice choice = ChooseOpenMpWait(argv[1] != nullptr ? argv[1] : "");
  if (choice.caller_chose) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  // GOMP_SPINCOUNT takes precedence over the policy in the GNU runtime: passive, but spin this long first.
  if (choice.spin && setenv("GOMP_SPINCOUNT", kSpinCount, 1) != 0) return;
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);  // returns only on failure
}

std::string DescribeOpenMpWait() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const std::string p = policy != nullptr ? policy : "";
  if (spin != nullptr) return std::string("spin ") + spin + ", then sleep";
  if (p == "PASSIVE" || p == "passive") return "sleep";
  if (p == "ACTIVE" || p == "active") return "spin";
  return p.empty() ? "runtime default" : "OMP_WAIT_POLICY=" + p;
}

}  // namespace tessera::cli
