// OpenWorld: MPI when a launcher started this process, else a world of one.
#include <cstdlib>

#include "parallel/comm/communicator.h"
#include "parallel/comm/local_communicator.h"
#include "parallel/comm/mpi_communicator.h"

namespace tessera {

bool LaunchedByMpi() {
  // OpenMPI's mpirun, PMIx-based launchers and Slurm's srun set one of these in every rank.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

StatusOr<std::unique_ptr<Communicator>> OpenWorld() {
  // Without a launcher, MPI_Init would start a singleton runtime for nothing: stay a world of one.
  if (!LaunchedByMpi()) return std::unique_ptr<Communicator>(std::make_unique<LocalCommunicator>());
  TS_RETURN_IF_ERROR(EnsureMpiInitialized());
  return std::unique_ptr<Communicator>(std::make_unique<MpiCommunicator>(MPI_COMM_WORLD));
}

}  // namespace tessera
