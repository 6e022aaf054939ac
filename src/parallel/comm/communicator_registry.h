// Communicators that graph nodes refer to by number: a collective node (AllReduceSum, AllGather) carries
// the number in its "comm" attribute, and its kernel looks the communicator up when it is created.
//
// Thread-safe. A registration lives as long as its handle object; kernels keep the Communicator pointer
// they found, so the communicator itself must outlive every session built with it.
#pragma once

#include <cstdint>

#include "parallel/comm/communicator.h"

namespace tessera {

class CommunicatorRegistration {
 public:
  explicit CommunicatorRegistration(Communicator& comm);
  ~CommunicatorRegistration();
  CommunicatorRegistration(const CommunicatorRegistration&) = delete;
  CommunicatorRegistration& operator=(const CommunicatorRegistration&) = delete;

  int64_t handle() const { return handle_; }

 private:
  int64_t handle_;
};

// The communicator registered under `handle`, or nullptr when there is none (any more).
Communicator* FindRegisteredCommunicator(int64_t handle);

}  // namespace tessera
