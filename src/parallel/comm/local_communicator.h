// A world of one: every collective is the identity, and point-to-point only talks to itself.
#pragma once

#include <deque>
#include <map>

#include "parallel/comm/communicator.h"

namespace tessera {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string transport() const override { return "local"; }

  Status Send(const Tensor& tensor, int dst, int tag) override;
  StatusOr<Tensor> Recv(int src, int tag) override;
  StatusOr<Tensor> SendRecv(const Tensor& tensor, int dst, int src, int tag) override {
    if (src != 0) return InvalidArgument("receive from rank " + std::to_string(src) + " in a world of one");
    TS_RETURN_IF_ERROR(Send(tensor, dst, tag));  // Send only queues, so Recv finds it
    return Recv(src, tag);
  }
  StatusOr<int> ProbeAny(int tag) override {
    auto it = mailbox_.find(tag);
    return it == mailbox_.end() || it->second.empty() ? -1 : 0;
  }
  Status Broadcast(Tensor& tensor, int root) override;
  Status AllReduceSum(Tensor& tensor) override { return Status::Ok(); }
  StatusOr<Tensor> AllGather(const Tensor& tensor, int64_t axis) override { return tensor; }
  Status Barrier() override { return Status::Ok(); }
  StatusOr<std::unique_ptr<Communicator>> Split(int color, int key) override;
  [[noreturn]] void Abort(const std::string& message, int exit_code) override;

 private:
  std::map<int, std::deque<Tensor>> mailbox_;  // by tag: messages a rank sent to itself
};

}  // namespace tessera
