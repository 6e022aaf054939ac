// Communicator: how the ranks of a distributed run exchange tensors.
//
// One interface for a world of one (a process started without a launcher) and for MPI (mpirun/srun), so
// every parallel plan runs the same code on one process. Collective calls must be made by every rank of
// the communicator in the same order. Tensors travel with their dtype and shape (see tensor_wire.h), so a
// receiver need not know what is coming.
//
// Failure: a call returns an error Status when the peer sent something malformed; a transport failure
// or a rank's death ends the whole job (Abort), because the remaining ranks could only hang.
// Not thread-safe: one thread per rank talks to the communicator.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // A short description of the transport ("local", "mpi") for logs and `plan`.
  virtual std::string transport() const = 0;
  // Whether messages are protected on the wire, for `run`, `plan` and `serve` to show.
  virtual std::string link_protection() const { return "plain, unauthenticated"; }

  // Point to point. `tag` separates independent streams between the same pair of ranks.
  virtual Status Send(const Tensor& tensor, int dst, int tag) = 0;
  virtual StatusOr<Tensor> Recv(int src, int tag) = 0;
  // Sends `tensor` to `dst` and receives from `src` (the same rank or another) at once: one step of a
  // pairwise exchange or of a ring. Neither end waits for its send to complete before receiving, so every
  // rank may call it at the same moment whatever the message sizes; a collective's partner is expected
  // soon, so the wait is not the idle one of Recv.
  virtual StatusOr<Tensor> SendRecv(const Tensor& tensor, int dst, int src, int tag) = 0;
  // Without waiting: a rank whose message on `tag` is ready to Recv, or -1 when none is (how a
  // dispatcher serves whichever worker is free first).
  virtual StatusOr<int> ProbeAny(int tag) { return Unimplemented("probing for any sender on " + transport()); }

  // `tensor` on `root` is copied to every rank (others pass anything; it is replaced).
  virtual Status Broadcast(Tensor& tensor, int root) = 0;
  // In-place elementwise sum over all ranks; every rank holds a tensor of the same dtype and shape.
  virtual Status AllReduceSum(Tensor& tensor) = 0;
  // Concatenation of every rank's tensor along `axis` (ranks may contribute different sizes on it).
  virtual StatusOr<Tensor> AllGather(const Tensor& tensor, int64_t axis) = 0;
  virtual Status Barrier() = 0;

  // Ranks with the same `color` form a new communicator, ordered by `key`.
  virtual StatusOr<std::unique_ptr<Communicator>> Split(int color, int key) = 0;

  // Ends every rank of the job now, after printing `message` (prefixed with this rank) on stderr.
  [[noreturn]] virtual void Abort(const std::string& message, int exit_code) = 0;
};

// The communicator of this process: MPI's world when started by a launcher (mpirun, srun), else a
// world of one. MPI is initialised on first use and finalised at exit.
StatusOr<std::unique_ptr<Communicator>> OpenWorld();

// Whether the environment says a launcher started this process (without initialising anything).
bool LaunchedByMpi();

}  // namespace tessera
