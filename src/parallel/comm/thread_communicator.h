// A world of T ranks inside one process, one thread per rank, exchanging tensors through shared memory.
//
// For tests: a real T-way tensor-parallel or pipeline run without mpirun. The collectives behave as the
// MPI ones do (same results, sums taken in rank order so every rank gets identical bits); a collective
// whose ranks disagree (shapes, dtypes) fails on every rank instead of hanging. Abort ends the process.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "parallel/comm/communicator.h"

namespace tessera {

// `size` communicators of one world; give communicator r to the thread that plays rank r.
std::vector<std::unique_ptr<Communicator>> MakeThreadCommunicators(int size);

// Runs `body` on `size` threads, each with its own rank's communicator, and returns every rank's status
// (rank 0 first) once all have finished.
std::vector<Status> RunOnThreads(int size, const std::function<Status(Communicator&)>& body);

}  // namespace tessera
