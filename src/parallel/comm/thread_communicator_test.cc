// ThreadCommunicator: the collectives give what MPI's give, and disagreeing ranks fail instead of hanging.
#include "parallel/comm/thread_communicator.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

void ExpectAllOk(const std::vector<Status>& statuses) {
  for (size_t r = 0; r < statuses.size(); ++r) EXPECT_TRUE(statuses[r].ok()) << "rank " << r << ": " << statuses[r].ToString();
}

TEST(ThreadCommunicatorTest, AllReduceSumsInRankOrderOnEveryRank) {
  for (int size : {1, 2, 3, 4}) {
    ExpectAllOk(RunOnThreads(size, [&](Communicator& comm) -> Status {
      Tensor t = Tensor::FromVector<float>(DType::kFloat32, {3}, {1.0f * comm.rank(), 2.0f, -1.0f});
      for (int round = 0; round < 3; ++round) {  // slots are reused safely from one call to the next
        TS_RETURN_IF_ERROR(comm.AllReduceSum(t));
      }
      const float n = static_cast<float>(size), ranks = n * (n - 1) / 2;
      const float k = n * n * n;  // three rounds multiply by n each
      if (t.data<float>()[0] != ranks * n * n || t.data<float>()[1] != 2 * k || t.data<float>()[2] != -k) {
        return Internal("wrong sum on rank " + std::to_string(comm.rank()));
      }
      return Status::Ok();
    }));
  }
}

TEST(ThreadCommunicatorTest, AllGatherJoinsUnevenPartsAlongAnAxis) {
  ExpectAllOk(RunOnThreads(3, [](Communicator& comm) -> Status {
    const int64_t mine = 3 - comm.rank();  // 3, 2, 1 columns
    std::vector<float> v;
    for (int64_t row = 0; row < 2; ++row) {
      for (int64_t c = 0; c < mine; ++c) v.push_back(static_cast<float>(100 * comm.rank() + 10 * row + c));
    }
    TS_ASSIGN_OR_RETURN(Tensor all, comm.AllGather(Tensor::FromVector(DType::kFloat32, {2, mine}, v), 1));
    if (all.shape() != Shape{2, 6}) return Internal("shape " + ShapeToString(all.shape()));
    const std::vector<float> want = {0, 1, 2, 100, 101, 200, 10, 11, 12, 110, 111, 210};
    for (size_t i = 0; i < want.size(); ++i) {
      if (all.data<float>()[i] != want[i]) return Internal("element " + std::to_string(i));
    }
    return Status::Ok();
  }));
}

TEST(ThreadCommunicatorTest, MismatchedAllReduceFailsOnEveryRank) {
  auto statuses = RunOnThreads(2, [](Communicator& comm) -> Status {
    Tensor t = Tensor::FromVector<float>(DType::kFloat32, {comm.rank() + 1}, {1.0f, 2.0f});
    return comm.AllReduceSum(t);
  });
  for (const Status& s : statuses) EXPECT_FALSE(s.ok());
}

TEST(ThreadCommunicatorTest, BroadcastSendRecvAndSplit) {
  ExpectAllOk(RunOnThreads(4, [](Communicator& comm) -> Status {
    Tensor t = Tensor::FromVector<int64_t>(DType::kInt64, {1}, {comm.rank() == 2 ? 42 : -1});
    TS_RETURN_IF_ERROR(comm.Broadcast(t, 2));
    if (t.data<int64_t>()[0] != 42) return Internal("broadcast");
    const int next = (comm.rank() + 1) % comm.size(), prev = (comm.rank() + 3) % comm.size();
    TS_RETURN_IF_ERROR(comm.Send(Tensor::FromVector<int64_t>(DType::kInt64, {1}, {comm.rank()}), next, 7));
    TS_ASSIGN_OR_RETURN(Tensor got, comm.Recv(prev, 7));
    if (got.data<int64_t>()[0] != prev) return Internal("recv");
    // Even and odd ranks, ordered by descending key.
    TS_ASSIGN_OR_RETURN(auto sub, comm.Split(comm.rank() % 2, -comm.rank()));
    if (sub->size() != 2 || sub->rank() != (comm.rank() < 2 ? 1 : 0)) return Internal("split rank");
    Tensor one = Tensor::FromVector<int64_t>(DType::kInt64, {1}, {comm.rank()});
    TS_RETURN_IF_ERROR(sub->AllReduceSum(one));
    if (one.data<int64_t>()[0] != (comm.rank() % 2 == 0 ? 2 : 4)) return Internal("sub all-reduce");
    return Status::Ok();
  }));
}

}  // namespace
}  // namespace tessera
