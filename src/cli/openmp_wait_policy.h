// How this process's OpenMP threads (oneDNN's and the ThreadPool's) wait between parallel regions.
//
// A thread that sleeps as soon as a region ends must be woken for the next one; a model of many small
// ops then pays the wake-up on every op. Measured at --threads 2 on an idle 2-core machine: MobileNetV2
// 5.8 ms sleeping vs 4.3 ms spinning, the detection CNN 2.0 vs 1.6 ms, the LSTM 1.6 vs 1.3 ms. But when
// another process wants the cores, spinning threads lose the scheduler's preference for woken sleepers
// and every region waits for a descheduled peer: with one busy process beside it MobileNetV2 took 6.5 ms
// sleeping and 13-47 ms spinning (any spin count from 10000 to 200000).
//
// A decode step of a small decoder is hundreds of such ops: llama_tiny at --threads 2 took 1.44-2.29 ms
// per token sleeping and 0.46-0.49 spinning.
//
// So the policy is chosen at start: `bench`, `run` and `generate` spin (GOMP_SPINCOUNT 200000, about
// 2 ms) when no other task is runnable at most looks over a short while (/proc/stat procs_running); everything else,
// `serve` (whose instances share the cores) and ranks of an MPI job sleep at once (OMP_WAIT_POLICY
// PASSIVE). A caller who sets OMP_WAIT_POLICY or GOMP_SPINCOUNT decides instead.
#pragma once

#include <string>

namespace tessera::cli {

// What `command` should run with: spinning or not, unless the caller set the policy themselves.
struct OpenMpWaitChoice {
  bool spin = false;
  bool caller_chose = false;
};
OpenMpWaitChoice ChooseOpenMpWait(const std::string& command);

// Sets the chosen policy and execs this same program again (same pid, so launchers such as mpirun are
// unaffected), since the runtime reads the policy once, when the library loads, before main. Returns
// when nothing is to change or exec fails (then the runtime's default policy applies).
void ApplyOpenMpWaitPolicy(char** argv);

// The policy this process runs with, for reports: "spin 200000, then sleep", "sleep" (passive), or the
// caller's OMP_WAIT_POLICY / GOMP_SPINCOUNT as set.
std::string DescribeOpenMpWait();

}  // namespace tessera::cli
