// LocalCommunicator: the single-process world.
#include "parallel/comm/local_communicator.h"

#include <cstdio>
#include <cstdlib>

namespace tessera {

Status LocalCommunicator::Send(const Tensor& tensor, int dst, int tag) {
  if (dst != 0) return InvalidArgument("send to rank " + std::to_string(dst) + " in a world of one");
  TS_ASSIGN_OR_RETURN(Tensor copy, tensor.Clone());  // the sender may reuse its tensor afterwards
  mailbox_[tag].push_back(std::move(copy));
  return Status::Ok();
}

StatusOr<Tensor> LocalCommunicator::Recv(int src, int tag) {
  if (src != 0) return InvalidArgument("receive from rank " + std::to_string(src) + " in a world of one");
  auto it = mailbox_.find(tag);
  // Waiting would never end: no other rank exists to send.
  if (it == mailbox_.end() || it->second.empty()) return Internal("receive with nothing sent (tag " + std::to_string(tag) + ")");
  Tensor t = std::move(it->second.front());
  it->second.pop_front();
  return t;
}

Status LocalCommunicator::Broadcast(Tensor& tensor, int root) {
  if (root != 0) return InvalidArgument("broadcast from rank " + std::to_string(root) + " in a world of one");
  return Status::Ok();
}

StatusOr<std::unique_ptr<Communicator>> LocalCommunicator::Split(int color, int key) {
  return std::unique_ptr<Communicator>(std::make_unique<LocalCommunicator>());
}

void LocalCommunicator::Abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "tessera: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(exit_code);
}

}  // namespace tessera
