// Communicator over MPI (OpenMPI from Debian): shared memory between ranks on one host, TCP between hosts.
#pragma once

#include <mpi.h>

#include "parallel/comm/communicator.h"

namespace tessera {

class MpiCommunicator : public Communicator {
 public:
  // Wraps `comm`; frees it on destruction unless it is MPI_COMM_WORLD.
  explicit MpiCommunicator(MPI_Comm comm);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string transport() const override { return "mpi"; }

  Status Send(const Tensor& tensor, int dst, int tag) override;
  StatusOr<Tensor> Recv(int src, int tag) override;
  StatusOr<Tensor> SendRecv(const Tensor& tensor, int dst, int src, int tag) override;
  StatusOr<int> ProbeAny(int tag) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status AllReduceSum(Tensor& tensor) override;
  StatusOr<Tensor> AllGather(const Tensor& tensor, int64_t axis) override;
  Status Barrier() override;
  StatusOr<std::unique_ptr<Communicator>> Split(int color, int key) override;
  [[noreturn]] void Abort(const std::string& message, int exit_code) override;

 private:
  Status CheckPeer(int peer, const char* what) const;
  // Receives the tensor `src` sends on `tag`. `partner_is_due`: the wait spins (yielding the core) for a
  // while before backing off to sleeps, since the sender is a collective's partner and about to send.
  StatusOr<Tensor> Receive(int src, int tag, bool partner_is_due);

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

// Initialises MPI once for the process (thread level FUNNELED: only the main thread calls MPI) and
// finalises it at exit.
Status EnsureMpiInitialized();

}  // namespace tessera
