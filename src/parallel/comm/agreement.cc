// Status agreement through one small collective.
#include "parallel/comm/agreement.h"

namespace tessera {

Status AgreeAll(Communicator& comm, const Status& mine) {
  Tensor failures = Tensor::FromVector<int64_t>(DType::kInt64, {1}, std::vector<int64_t>{mine.ok() ? 0 : 1});
  TS_RETURN_IF_ERROR(comm.AllReduceSum(failures));
  int64_t n = failures.data<int64_t>()[0];
  if (n == 0) return Status::Ok();
  if (!mine.ok()) return mine;
  return InvalidArgument(std::to_string(n) + " other rank(s) failed");
}

Status AgreeOnRoot(Communicator& comm, int root, const Status& root_status) {
  Tensor verdict = Tensor::FromVector<int64_t>(DType::kInt64, {1}, std::vector<int64_t>{root_status.ok() ? 1 : 0});
  TS_RETURN_IF_ERROR(comm.Broadcast(verdict, root));
  if (verdict.data<int64_t>()[0] == 1) return Status::Ok();
  return comm.rank() == root ? root_status : InvalidArgument("the root rank rejected the inputs");
}

}  // namespace tessera
