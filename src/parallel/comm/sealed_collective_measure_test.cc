// Measurements for bench/RESULTS.md, not checks: disabled by default, run on two ranks with
//   mpirun -np 2 build/tests/tessera_unit_tests --gtest_also_run_disabled_tests \
//       --gtest_filter='SealedCollectiveMeasure.*'
// One all-reduce of a BERT-base activation (128 x 768 float32, what tp=2 BERT sums 24 times a run) over
// MPI's own MPI_Allreduce, over sealed links as they run now (one simultaneous exchange), and over sealed
// links taken in turn (the lower rank seals and sends, then the other: the exchange before SendRecv),
// interleaved iteration by iteration so that a busy machine slows each alike; and AES-256-GCM alone
// (seal plus open of the same tensor on one rank), the floor of the sealed cost; and the plain exchange
// of the tensor through Communicator::SendRecv, its transport share.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "parallel/comm/communicator.h"
#include "parallel/comm/sealed_communicator.h"

namespace tessera {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kIterations = 300;
constexpr int kWarmup = 20;

double Microseconds(Clock::time_point since) {
  return std::chrono::duration<double, std::micro>(Clock::now() - since).count();
}

struct Spread {
  double min, median;
};

Spread Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2]};
}

// The 2-rank all-reduce as sealed links did it before SendRecv: the lower rank sends first.
Status AllReduceTakenInTurn(Communicator& sealed, Tensor& tensor) {
  const int peer = 1 - sealed.rank();
  Tensor in;
  if (sealed.rank() == 0) {
    TS_RETURN_IF_ERROR(sealed.Send(tensor, peer, 11));
    TS_ASSIGN_OR_RETURN(in, sealed.Recv(peer, 11));
  } else {
    TS_ASSIGN_OR_RETURN(in, sealed.Recv(peer, 11));
    TS_RETURN_IF_ERROR(sealed.Send(tensor, peer, 11));
  }
  float* d = tensor.data<float>();
  const float* s = in.data<float>();
  for (int64_t i = 0; i < tensor.element_count(); ++i) d[i] += s[i];
  return Status::Ok();
}

TEST(SealedCollectiveMeasure, DISABLED_AllReduceOfABertActivation) {
  if (!LaunchedByMpi()) GTEST_SKIP() << "run under mpirun -np 2";
  auto world = OpenWorld();
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  if ((*world)->size() != 2) GTEST_SKIP() << "needs exactly 2 ranks";
  const int rank = (*world)->rank();
  auto plain = (*world)->Split(0, rank);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  auto sealed = SealedCommunicator::Open(std::move(*world), LinkSecret(std::vector<uint8_t>(32, 0x5a)));
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  ASSERT_TRUE((*sealed)->ConfirmKeys().ok());

  std::mt19937 rng(static_cast<unsigned>(17 + rank));
  std::vector<float> values(128 * 768);
  for (float& v : values) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  const Tensor original = Tensor::FromVector<float>(DType::kFloat32, {128, 768}, values);
  Tensor tensor = original.Clone().value();

  std::vector<double> mpi, exchange, in_turn, raw;
  for (int i = 0; i < kWarmup + kIterations; ++i) {
    for (int mode = 0; mode < 4; ++mode) {
      std::memcpy(tensor.raw_data(), original.raw_data(), original.byte_size());
      ASSERT_TRUE((*plain)->Barrier().ok());
      const Clock::time_point start = Clock::now();
      Status s = mode == 0   ? (*plain)->AllReduceSum(tensor)
                 : mode == 1 ? (*sealed)->AllReduceSum(tensor)
                 : mode == 2 ? AllReduceTakenInTurn(**sealed, tensor)
                             : (*plain)->SendRecv(tensor, 1 - rank, 1 - rank, 12).status();
      const double us = Microseconds(start);
      ASSERT_TRUE(s.ok()) << s.ToString();
      if (i >= kWarmup) (mode == 0 ? mpi : mode == 1 ? exchange : mode == 2 ? in_turn : raw).push_back(us);
    }
  }

  // AES-256-GCM alone: seal and open on this rank, no transport.
  std::array<uint8_t, kLinkSaltBytes> salt{};
  const LinkSecret secret(std::vector<uint8_t>(32, 0x33));
  auto key = DeriveLinkStreamKey(secret, salt, 0, 1, 0);
  ASSERT_TRUE(key.ok());
  auto sealer = LinkStream::Create(*key, true);
  auto opener = LinkStream::Create(*key, false);
  ASSERT_TRUE(sealer.ok() && opener.ok());
  std::vector<double> crypto;
  for (int i = 0; i < kWarmup + kIterations; ++i) {
    const Clock::time_point start = Clock::now();
    auto record = (*sealer)->Seal({0, 1, 0}, original);
    ASSERT_TRUE(record.ok());
    auto opened = (*opener)->Open({0, 1, 0}, *record);
    ASSERT_TRUE(opened.ok());
    if (i >= kWarmup) crypto.push_back(Microseconds(start));
  }
  if (rank != 0) return;
  const Spread a = Summarize(mpi), b = Summarize(exchange), c = Summarize(in_turn), d = Summarize(crypto);
  const Spread e = Summarize(raw);
  std::printf("all-reduce of 128x768 float32 (%zu bytes), 2 ranks, %d interleaved iterations, us min / median:\n"
              "  MPI_Allreduce (plain)              %7.1f / %7.1f\n"
              "  sealed, one simultaneous exchange  %7.1f / %7.1f\n"
              "  sealed, taken in turn (before)     %7.1f / %7.1f\n"
              "  AES-256-GCM seal + open, one rank  %7.1f / %7.1f\n"
              "  plain SendRecv of the tensor       %7.1f / %7.1f\n",
              original.byte_size(), kIterations, a.min, a.median, b.min, b.median, c.min, c.median, d.min, d.median,
              e.min, e.median);
}

}  // namespace
}  // namespace tessera
