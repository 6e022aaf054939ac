// Sealed records: round trips of every dtype, tampering of every kind, and nonces that never repeat.
#include "parallel/comm/sealed_record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

namespace tessera {
namespace {

const std::vector<DType> kWireDTypes = {DType::kFloat32, DType::kUInt8,   DType::kInt8,    DType::kUInt16, DType::kInt16,
                                        DType::kInt32,   DType::kInt64,   DType::kBool,    DType::kFloat16, DType::kFloat64,
                                        DType::kUInt32,  DType::kUInt64,  DType::kBFloat16};

LinkSecret TestSecret(uint8_t fill) { return LinkSecret(std::vector<uint8_t>(32, fill)); }

struct Pair {
  std::unique_ptr<LinkStream> sender, receiver;
};

Pair MakePair(const LinkSecret& send_secret, const LinkSecret& recv_secret, int tag) {
  std::array<uint8_t, kLinkSaltBytes> salt{};
  salt[0] = 9;
  Pair p;
  p.sender = LinkStream::Create(DeriveLinkStreamKey(send_secret, salt, 1, 0, tag).value(), true).value();
  p.receiver = LinkStream::Create(DeriveLinkStreamKey(recv_secret, salt, 1, 0, tag).value(), false).value();
  return p;
}

Tensor RandomTensor(std::mt19937& rng, DType dtype) {
  Shape shape(rng() % 5);
  for (int64_t& d : shape) d = static_cast<int64_t>(rng() % 6);
  Tensor t = Tensor::Allocate(dtype, shape).value();
  auto* bytes = static_cast<uint8_t*>(t.raw_data());
  for (size_t i = 0; i < t.byte_size(); ++i) bytes[i] = static_cast<uint8_t>(rng());
  return t;
}

bool SameTensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.byte_size()) == 0;
}

TEST(SealedRecordTest, RandomTensorsOfEveryDtypeAndShapeRoundTrip) {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  const LinkAddress at{1, 0, 7};
  for (int i = 0; i < 200; ++i) {
    const Tensor t = RandomTensor(rng, kWireDTypes[static_cast<size_t>(i) % kWireDTypes.size()]);
    auto record = p.sender->Seal(at, t);
    ASSERT_TRUE(record.ok()) << record.status().message();
    auto back = p.receiver->Open(at, *record);
    ASSERT_TRUE(back.ok()) << "seed " << seed << ": " << back.status().message();
    EXPECT_TRUE(SameTensor(t, *back)) << "seed " << seed << " message " << i << " " << DTypeName(t.dtype()) << " "
                                      << ShapeToString(t.shape());
  }
}

TEST(SealedRecordTest, PayloadIsNotInTheRecord) {
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  std::vector<float> pattern(64, 1234.5f);
  auto record = p.sender->Seal({1, 0, 7}, Tensor::FromVector(DType::kFloat32, {64}, pattern)).value();
  const uint8_t* r = record.data<uint8_t>();
  const size_t n = record.byte_size();
  float probe = 1234.5f;
  for (size_t i = 0; i + 4 <= n; ++i) EXPECT_NE(std::memcmp(r + i, &probe, 4), 0) << "plaintext float at byte " << i;
}

TEST(SealedRecordTest, EveryFlippedByteFailsAuthentication) {
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  const LinkAddress at{1, 0, 7};
  std::mt19937 rng(5);
  const Tensor t = RandomTensor(rng, DType::kFloat32);
  const Tensor record = p.sender->Seal(at, t).value();
  for (size_t i = 0; i < record.byte_size(); ++i) {
    Tensor bad = record.Clone().value();
    bad.data<uint8_t>()[i] ^= static_cast<uint8_t>(1u << (i % 8));
    auto opened = p.receiver->Open(at, bad);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    if (i >= 4) {  // the first 4 bytes are the version, refused as such
      EXPECT_NE(opened.status().message().find("failed authentication"), std::string::npos) << opened.status().message();
    }
  }
  EXPECT_TRUE(p.receiver->Open(at, record).ok());  // the genuine record still opens: nothing advanced
}

TEST(SealedRecordTest, TruncatedOrMisaddressedRecordsFail) {
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  const Tensor t = Tensor::FromVector<int64_t>(DType::kInt64, {3}, {1, 2, 3});
  const Tensor record = p.sender->Seal({1, 0, 7}, t).value();
  for (int64_t keep : {int64_t{0}, int64_t{10}, record.dim(0) - 1}) {
    Tensor cut = Tensor::Allocate(DType::kUInt8, {keep}).value();
    std::memcpy(cut.raw_data(), record.raw_data(), static_cast<size_t>(keep));
    auto opened = p.receiver->Open({1, 0, 7}, cut);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().message(),
              "link from rank 1 to rank 0 (tag 7): message failed authentication (forged, replayed, reordered or truncated)");
  }
  // The same record presented as another pair's or another tag's.
  EXPECT_FALSE(p.receiver->Open({2, 0, 7}, record).ok());
  EXPECT_FALSE(p.receiver->Open({1, 0, 8}, record).ok());
  EXPECT_TRUE(p.receiver->Open({1, 0, 7}, record).ok());
}

TEST(SealedRecordTest, AnotherKeyFailsAuthentication) {
  Pair p = MakePair(TestSecret(1), TestSecret(2), 7);
  const Tensor record = p.sender->Seal({1, 0, 7}, Tensor::FromVector<int32_t>(DType::kInt32, {1}, {5})).value();
  auto opened = p.receiver->Open({1, 0, 7}, record);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
}

TEST(SealedRecordTest, ReplayedAndReorderedRecordsFail) {
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  const LinkAddress at{1, 0, 7};
  const Tensor a = p.sender->Seal(at, Tensor::FromVector<int32_t>(DType::kInt32, {1}, {1})).value();
  const Tensor b = p.sender->Seal(at, Tensor::FromVector<int32_t>(DType::kInt32, {1}, {2})).value();
  EXPECT_FALSE(p.receiver->Open(at, b).ok());  // b before a: reordered (or a dropped)
  ASSERT_TRUE(p.receiver->Open(at, a).ok());
  EXPECT_FALSE(p.receiver->Open(at, a).ok());  // a again: replayed
  EXPECT_TRUE(p.receiver->Open(at, b).ok());
}

TEST(SealedRecordTest, NoncesNeverRepeat) {
  // A nonce is the stream's prefix and its counter: the counter goes up by one per record, and every
  // stream (pair, direction, tag) has a key and prefix of its own.
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  const Tensor t = Tensor::FromVector<float>(DType::kFloat32, {4}, {1, 2, 3, 4});
  std::set<std::vector<uint8_t>> records;
  for (uint64_t i = 0; i < 5000; ++i) {
    ASSERT_EQ(p.sender->counter(), i);
    Tensor r = p.sender->Seal({1, 0, 7}, t).value();
    records.insert(std::vector<uint8_t>(r.data<uint8_t>(), r.data<uint8_t>() + r.byte_size()));
  }
  EXPECT_EQ(records.size(), 5000u);  // the same plaintext never seals alike
  std::set<std::vector<uint8_t>> keys;
  std::array<uint8_t, kLinkSaltBytes> salt{};
  const LinkSecret secret = TestSecret(3);
  for (int src = 0; src < 6; ++src) {
    for (int dst = 0; dst < 6; ++dst) {
      for (int tag : {0, 7, 20, 4300, 16380}) {
        LinkStreamKey k = DeriveLinkStreamKey(secret, salt, src, dst, tag).value();
        std::vector<uint8_t> both(k.key.begin(), k.key.end());
        both.insert(both.end(), k.nonce_prefix.begin(), k.nonce_prefix.end());
        keys.insert(both);
      }
    }
  }
  EXPECT_EQ(keys.size(), 6u * 6u * 5u);
}

TEST(SealedRecordTest, NotARecordIsRefusedWithAReason) {
  Pair p = MakePair(TestSecret(1), TestSecret(1), 7);
  auto opened = p.receiver->Open({1, 0, 7}, Tensor::FromVector<float>(DType::kFloat32, {2}, {1, 2}));
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("not a sealed record"), std::string::npos);
}

}  // namespace
}  // namespace tessera
