// SealedCommunicator over ThreadCommunicator: collectives equal the plain ones, a wrong key is refused
// on every rank, and a tampering transport between two sealed ends gives the receiver the named error.
#include "parallel/comm/sealed_communicator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <random>
#include <thread>

#include "parallel/comm/thread_communicator.h"

namespace tessera {
namespace {

using Body = std::function<StatusOr<std::vector<Tensor>>(Communicator&)>;

LinkSecret Secret(uint8_t fill) { return LinkSecret(std::vector<uint8_t>(40, fill)); }

// Runs `body` on `size` threads over sealed links (rank r's transport passed through `wrap`, its secret
// from `secret`); returns each rank's results or status.
std::vector<StatusOr<std::vector<Tensor>>> RunSealed(
    int size, const Body& body, const std::function<LinkSecret(int)>& secret = [](int) { return Secret(7); },
    const std::function<std::unique_ptr<Communicator>(int, std::unique_ptr<Communicator>)>& wrap = nullptr) {
  auto comms = MakeThreadCommunicators(size);
  std::vector<StatusOr<std::vector<Tensor>>> results(static_cast<size_t>(size), Internal("not run"));
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      std::unique_ptr<Communicator> inner = std::move(comms[static_cast<size_t>(r)]);
      if (wrap) inner = wrap(r, std::move(inner));
      auto sealed = SealedCommunicator::Open(std::move(inner), secret(r));
      if (!sealed.ok()) {
        results[static_cast<size_t>(r)] = sealed.status();
        return;
      }
      Status confirmed = (*sealed)->ConfirmKeys();
      results[static_cast<size_t>(r)] = confirmed.ok() ? body(**sealed) : StatusOr<std::vector<Tensor>>(confirmed);
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

std::vector<StatusOr<std::vector<Tensor>>> RunPlain(int size, const Body& body) {
  std::vector<StatusOr<std::vector<Tensor>>> results(static_cast<size_t>(size), Internal("not run"));
  RunOnThreads(size, [&](Communicator& comm) -> Status {
    results[static_cast<size_t>(comm.rank())] = body(comm);
    return Status::Ok();
  });
  return results;
}

bool Same(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.byte_size()) == 0;
}

// Seeded integer-valued operands, so that sums in any order are exact and comparable bit for bit.
template <typename T>
Tensor Operand(DType dtype, int rank, int round, Shape shape) {
  std::mt19937 rng(static_cast<unsigned>(1000 * rank + round));
  std::vector<T> v(static_cast<size_t>(ShapeElementCount(shape)));
  for (T& x : v) x = static_cast<T>(static_cast<int>(rng() % 200) - 100);
  return Tensor::FromVector<T>(dtype, shape, v);
}

StatusOr<std::vector<Tensor>> EveryCollective(Communicator& comm) {
  std::vector<Tensor> out;
  const int r = comm.rank();
  Tensor f = Operand<float>(DType::kFloat32, r, 0, {3, 5});
  TS_RETURN_IF_ERROR(comm.AllReduceSum(f));
  out.push_back(f);
  Tensor d = Operand<double>(DType::kFloat64, r, 1, {7});
  TS_RETURN_IF_ERROR(comm.AllReduceSum(d));
  out.push_back(d);
  Tensor i32 = Operand<int32_t>(DType::kInt32, r, 2, {2, 2, 2});
  TS_RETURN_IF_ERROR(comm.AllReduceSum(i32));
  out.push_back(i32);
  Tensor i64 = Operand<int64_t>(DType::kInt64, r, 3, {});
  TS_RETURN_IF_ERROR(comm.AllReduceSum(i64));
  out.push_back(i64);
  Tensor uneven = Operand<float>(DType::kFloat32, r, 8, {17, 59});  // chunks of unequal length in a ring
  TS_RETURN_IF_ERROR(comm.AllReduceSum(uneven));
  out.push_back(uneven);
  const int n = comm.size();
  const Tensor mine = Operand<int32_t>(DType::kInt32, r, 9, {r + 2});
  TS_ASSIGN_OR_RETURN(Tensor passed, comm.SendRecv(mine, (r + 1) % n, (r + n - 1) % n, 5));
  out.push_back(passed);
  for (int root = 0; root < comm.size(); ++root) {
    Tensor b = r == root ? Operand<int16_t>(DType::kInt16, root, 4, {root + 1, 3}) : Tensor();
    TS_RETURN_IF_ERROR(comm.Broadcast(b, root));
    out.push_back(b);
  }
  TS_ASSIGN_OR_RETURN(Tensor g, comm.AllGather(Operand<float>(DType::kFloat32, r, 5, {2, r + 1}), 1));
  out.push_back(g);
  TS_RETURN_IF_ERROR(comm.Barrier());
  TS_ASSIGN_OR_RETURN(auto sub, comm.Split(r % 2, -r));
  Tensor s = Operand<int64_t>(DType::kInt64, r, 6, {4});
  TS_RETURN_IF_ERROR(sub->AllReduceSum(s));
  out.push_back(s);
  out.push_back(Tensor::FromVector<int64_t>(DType::kInt64, {2}, {sub->rank(), sub->size()}));
  // Point to point on the sub-communicator: a ring.
  const int next = (sub->rank() + 1) % sub->size(), prev = (sub->rank() + sub->size() - 1) % sub->size();
  TS_RETURN_IF_ERROR(sub->Send(Operand<uint8_t>(DType::kUInt8, r, 7, {9}), next, 3));
  TS_ASSIGN_OR_RETURN(Tensor got, sub->Recv(prev, 3));
  out.push_back(got);
  return out;
}

TEST(SealedCommunicatorTest, CollectivesEqualThePlainCommunicators) {
  for (int size : {1, 2, 3, 4, 5}) {
    auto plain = RunPlain(size, EveryCollective);
    auto sealed = RunSealed(size, EveryCollective);
    for (int r = 0; r < size; ++r) {
      ASSERT_TRUE(plain[static_cast<size_t>(r)].ok()) << plain[static_cast<size_t>(r)].status().message();
      ASSERT_TRUE(sealed[static_cast<size_t>(r)].ok()) << "size " << size << " rank " << r << ": " << sealed[static_cast<size_t>(r)].status().message();
      const auto& want = *plain[static_cast<size_t>(r)];
      const auto& got = *sealed[static_cast<size_t>(r)];
      ASSERT_EQ(want.size(), got.size());
      for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(Same(want[i], got[i])) << "size " << size << " rank " << r << " result " << i;
    }
  }
}

TEST(SealedCommunicatorTest, MismatchedAllReduceFailsOnEveryRank) {
  for (int size : {2, 3, 4}) {
    auto results = RunSealed(size, [](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
      Tensor t = Tensor::Allocate(DType::kFloat32, {comm.rank() == 1 ? 3 : 2}).value();
      TS_RETURN_IF_ERROR(comm.AllReduceSum(t));
      return std::vector<Tensor>{t};
    });
    for (int r = 0; r < size; ++r) EXPECT_FALSE(results[static_cast<size_t>(r)].ok()) << "size " << size << " rank " << r;
  }
}

TEST(SealedCommunicatorTest, AllReduceOfSameSizeButOtherShapeFailsOnEveryRank) {
  for (int size : {2, 3, 5}) {
    auto results = RunSealed(size, [](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
      Tensor t = Tensor::Allocate(DType::kFloat32, comm.rank() == 1 ? Shape{3, 5} : Shape{15}).value();
      TS_RETURN_IF_ERROR(comm.AllReduceSum(t));
      return std::vector<Tensor>{t};
    });
    for (int r = 0; r < size; ++r) {
      ASSERT_FALSE(results[static_cast<size_t>(r)].ok()) << "size " << size << " rank " << r;
      EXPECT_EQ(results[static_cast<size_t>(r)].status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(SealedCommunicatorTest, AllReduceOfAnUnsummableDtypeOnOneRankFailsOnEveryRank) {
  for (int size : {2, 4}) {
    auto results = RunSealed(size, [size](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
      Tensor t = Tensor::Allocate(comm.rank() == size - 1 ? DType::kInt8 : DType::kInt32, {64}).value();
      TS_RETURN_IF_ERROR(comm.AllReduceSum(t));
      return std::vector<Tensor>{t};
    });
    for (int r = 0; r < size; ++r) {
      EXPECT_FALSE(results[static_cast<size_t>(r)].ok()) << "size " << size << " rank " << r;
    }
  }
}

TEST(SealedCommunicatorTest, AllGatherOfPartsThatDoNotJoinFailsOnEveryRank) {
  for (int size : {2, 3}) {
    auto results = RunSealed(size, [](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
      Tensor part = Tensor::Allocate(DType::kFloat32, {comm.rank() == 1 ? 3 : 2, 4}).value();
      TS_ASSIGN_OR_RETURN(Tensor joined, comm.AllGather(part, 1));
      return std::vector<Tensor>{joined};
    });
    for (int r = 0; r < size; ++r) {
      EXPECT_FALSE(results[static_cast<size_t>(r)].ok()) << "size " << size << " rank " << r;
    }
  }
}

TEST(SealedCommunicatorTest, WrongKeyOnOneRankIsRefusedOnEveryRank) {
  auto results = RunSealed(
      3, [](Communicator&) -> StatusOr<std::vector<Tensor>> { return std::vector<Tensor>{}; },
      [](int r) { return Secret(r == 2 ? 8 : 7); });
  EXPECT_EQ(results[0].status().message(), "rank 2 holds a different link key");
  EXPECT_EQ(results[1].status().message(), "rank 2 holds a different link key");
  EXPECT_EQ(results[2].status().message(), "rank 2 holds a different link key than rank 0");
}

// Between the transport and rank 0's sealed end: alters what rank 1 sends rank 0 on tag 7.
class TamperingCommunicator : public Communicator {
 public:
  enum class Mode { kFlip, kTruncate, kReplay, kReorder, kDrop };
  TamperingCommunicator(std::unique_ptr<Communicator> inner, Mode mode) : inner_(std::move(inner)), mode_(mode) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string transport() const override { return "tampered"; }
  Status Send(const Tensor& t, int dst, int tag) override { return inner_->Send(t, dst, tag); }
  StatusOr<Tensor> Recv(int src, int tag) override {
    if (tag != 7) return inner_->Recv(src, tag);
    if (!held_.empty()) {
      Tensor t = held_.front();
      held_.pop_front();
      return t;
    }
    TS_ASSIGN_OR_RETURN(Tensor first, inner_->Recv(src, tag));
    first = first.Clone().value();
    switch (mode_) {
      case Mode::kFlip: first.data<uint8_t>()[first.byte_size() / 2] ^= 0x20; return first;
      case Mode::kTruncate: {
        Tensor cut = Tensor::Allocate(DType::kUInt8, {first.dim(0) - 1}).value();
        std::memcpy(cut.raw_data(), first.raw_data(), cut.byte_size());
        return cut;
      }
      case Mode::kReplay: held_.push_back(first); return first;
      case Mode::kReorder: {
        TS_ASSIGN_OR_RETURN(Tensor second, inner_->Recv(src, tag));
        held_.push_back(first);
        return second;
      }
      case Mode::kDrop: return inner_->Recv(src, tag);
    }
    return first;
  }
  StatusOr<Tensor> SendRecv(const Tensor& t, int dst, int src, int tag) override {
    TS_RETURN_IF_ERROR(Send(t, dst, tag));  // the thread transport's Send never waits
    return Recv(src, tag);
  }
  Status Broadcast(Tensor& t, int root) override { return inner_->Broadcast(t, root); }
  Status AllReduceSum(Tensor& t) override { return inner_->AllReduceSum(t); }
  StatusOr<Tensor> AllGather(const Tensor& t, int64_t axis) override { return inner_->AllGather(t, axis); }
  Status Barrier() override { return inner_->Barrier(); }
  StatusOr<std::unique_ptr<Communicator>> Split(int c, int k) override { return inner_->Split(c, k); }
  [[noreturn]] void Abort(const std::string& m, int code) override {
    inner_->Abort(m, code);
    std::_Exit(code);
  }

 private:
  std::unique_ptr<Communicator> inner_;
  Mode mode_;
  std::deque<Tensor> held_;
};

TEST(SealedCommunicatorTest, TamperedMessagesFailWithTheLinkNamed) {
  using Mode = TamperingCommunicator::Mode;
  const std::string kNamed =
      "link from rank 1 to rank 0 (tag 7): message failed authentication (forged, replayed, reordered or truncated)";
  for (Mode mode : {Mode::kFlip, Mode::kTruncate, Mode::kReplay, Mode::kReorder, Mode::kDrop}) {
    auto results = RunSealed(
        2,
        [](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
          if (comm.rank() == 1) {
            for (int i = 0; i < 3; ++i) TS_RETURN_IF_ERROR(comm.Send(Operand<float>(DType::kFloat32, 1, i, {16}), 0, 7));
            return std::vector<Tensor>{};
          }
          std::vector<Tensor> got;
          for (int i = 0; i < 2; ++i) {
            TS_ASSIGN_OR_RETURN(Tensor t, comm.Recv(1, 7));
            got.push_back(t);
          }
          return got;
        },
        [](int) { return Secret(7); },
        [mode](int r, std::unique_ptr<Communicator> inner) -> std::unique_ptr<Communicator> {
          if (r != 0) return inner;
          return std::make_unique<TamperingCommunicator>(std::move(inner), mode);
        });
    ASSERT_TRUE(results[1].ok()) << results[1].status().message();
    ASSERT_FALSE(results[0].ok()) << "mode " << static_cast<int>(mode) << " went unnoticed";
    EXPECT_EQ(results[0].status().message(), kNamed) << "mode " << static_cast<int>(mode);
  }
}

TEST(SealedCommunicatorTest, TamperedExchangesFailWithTheLinkNamed) {
  using Mode = TamperingCommunicator::Mode;
  const std::string kNamed =
      "link from rank 1 to rank 0 (tag 7): message failed authentication (forged, replayed, reordered or truncated)";
  for (Mode mode : {Mode::kFlip, Mode::kTruncate, Mode::kReplay}) {
    auto results = RunSealed(
        2,
        [](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
          std::vector<Tensor> got;
          const int peer = 1 - comm.rank();
          for (int i = 0; i < 2; ++i) {
            StatusOr<Tensor> t = comm.SendRecv(Operand<float>(DType::kFloat32, comm.rank(), i, {16}), peer, peer, 7);
            if (!t.ok()) {
              // Rank 1 still waits for the rest of rank 0's messages.
              for (++i; i < 2; ++i) TS_RETURN_IF_ERROR(comm.Send(Operand<float>(DType::kFloat32, 0, i, {16}), peer, 7));
              return t.status();
            }
            got.push_back(*t);
          }
          return got;
        },
        [](int) { return Secret(7); },
        [mode](int r, std::unique_ptr<Communicator> inner) -> std::unique_ptr<Communicator> {
          if (r != 0) return inner;
          return std::make_unique<TamperingCommunicator>(std::move(inner), mode);
        });
    ASSERT_TRUE(results[1].ok()) << results[1].status().message();
    ASSERT_FALSE(results[0].ok()) << "mode " << static_cast<int>(mode) << " went unnoticed";
    EXPECT_EQ(results[0].status().message(), kNamed) << "mode " << static_cast<int>(mode);
  }
}

TEST(SealedCommunicatorTest, ReservedTagsAreRefused) {
  auto results = RunSealed(1, [](Communicator& comm) -> StatusOr<std::vector<Tensor>> {
    TS_RETURN_IF_ERROR(comm.Send(Tensor::Allocate(DType::kUInt8, {1}).value(), 0, kFirstReservedLinkTag));
    return std::vector<Tensor>{};
  });
  ASSERT_FALSE(results[0].ok());
  EXPECT_NE(results[0].status().message().find("belong to sealed links"), std::string::npos);
}

}  // namespace
}  // namespace tessera
