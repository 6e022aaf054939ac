// Large inline weights are left in the mapped model file at load and read only when a graph keeps them:
// the values are the file's, at every alignment the file may put them; small tensors stay inline (shape
// inference reads them); a file cut short or corrupted anywhere is an error, never a crash.
#include "model/inline_weights.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <algorithm>
#include <fstream>
#include <random>

#include "model/onnx_loader.h"
#include "model/weight_copies.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

constexpr int64_t kRows = 64, kCols = 48;  // 12 KiB: left in the file

std::vector<float> Values(int64_t n, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = scale * static_cast<float>((i * 37) % 101 - 50);
  return v;
}

// x [1,64] -> MatMul w [64,48] -> Add b [48] -> y; `producer` shifts the weight's offset in the file.
std::string WriteModel(const std::string& producer) {
  OnnxBuilder b;
  b.proto().set_producer_name(producer);
  b.Input("x", DType::kFloat32, {1, kRows});
  // raw_data, as exporters write weights (the typed float_data fields are parsed as any other field).
  testing::SetTensorProto(b.graph().add_initializer(), "w",
                          Tensor::FromVector<float>(DType::kFloat32, {kRows, kCols}, Values(kRows * kCols, 0.01f)));
  testing::SetTensorProto(b.graph().add_initializer(), "b",
                          Tensor::FromVector<float>(DType::kFloat32, {kCols}, Values(kCols, 0.5f)));
  b.Node("MatMul", {"x", "w"}, {"h"}, "matmul");
  b.Node("Add", {"h", "b"}, {"y"}, "bias");
  b.Output("y", DType::kFloat32, {1, kCols});
  return b.WriteTemp();
}

const Tensor& Constant(const Model& model, const std::string& name) {
  return model.graph->constants.at(model.graph->value_ids.at(name));
}

void ExpectValues(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(t.element_count(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(t.data<float>()[i], want[i]) << "element " << i;
}

TEST(InlineWeightsTest, LargeWeightsStayInTheFileUntilAligned) {
  // Producer names of 4 lengths put the weight at 4 offsets modulo 4: at least three are unaligned.
  for (const std::string producer : {"p", "pp", "ppp", "pppp"}) {
    SCOPED_TRACE("producer '" + producer + "'");
    const std::string path = WriteModel(producer);
    LoadOptions deferred;
    deferred.defer_weight_copies = true;
    auto model = LoadModelFromFile(path, deferred);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const Tensor& w = Constant(*model, "w");
    EXPECT_TRUE(IsMappedFileData(w.raw_data(), w.byte_size()));
    EXPECT_FALSE(IsMappedFileData(Constant(*model, "b").raw_data(), 4));  // small: copied at load
    ASSERT_TRUE(CopyDeferredWeights(*model->graph).ok());
    const Tensor& aligned = Constant(*model, "w");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned.raw_data()) % sizeof(float), 0u);
    // Copied out of the .onnx even where it was aligned there: the session never reads the file again.
    EXPECT_FALSE(IsModelFileData(aligned.raw_data(), aligned.byte_size()));
    ExpectValues(aligned, Values(kRows * kCols, 0.01f));
    ExpectValues(Constant(*model, "b"), Values(kCols, 0.5f));

    auto loaded = LoadModelFromFile(path);  // the default aligns on its own
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(Constant(*loaded, "w").raw_data()) % sizeof(float), 0u);
    ExpectValues(Constant(*loaded, "w"), Values(kRows * kCols, 0.01f));
    std::remove(path.c_str());
  }
}

TEST(InlineWeightsTest, ParsedProtoKeepsSmallTensorsAndPointsLargeOnesAtTheFile) {
  const std::string path = WriteModel("p");
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok());
  onnx::ModelProto proto;
  InlineWeightStats stats;
  ASSERT_TRUE(ParseModelLeavingWeightsInFile(**file, "model.onnx", proto, stats));
  EXPECT_EQ(stats.weights, 1u);
  EXPECT_EQ(stats.bytes, static_cast<size_t>(kRows * kCols * 4));
  const onnx::TensorProto& w = proto.graph().initializer(0);
  EXPECT_EQ(w.data_location(), onnx::TensorProto::EXTERNAL);
  EXPECT_FALSE(w.has_raw_data());
  ASSERT_EQ(w.external_data_size(), 3);
  EXPECT_EQ(w.external_data(0).value(), "model.onnx");
  const size_t offset = std::stoull(w.external_data(1).value());
  std::vector<float> want = Values(kRows * kCols, 0.01f);
  EXPECT_EQ(std::memcmp((*file)->data() + offset, want.data(), want.size() * 4), 0);
  EXPECT_TRUE(proto.graph().initializer(1).has_raw_data());  // the bias: small, inline
  std::remove(path.c_str());
}

TEST(InlineWeightsTest, EveryTruncationOfTheFileIsAnError) {
  const std::string path = WriteModel("p");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string cut_path = path + ".cut";
  // Cuts inside the weight's bytes, its header and the graph's tail (each load forks the checker, so a
  // sample of cut points, not every byte).
  for (size_t cut = 1; cut < bytes.size(); cut += bytes.size() / 23 + 1) {
    {
      std::ofstream out(cut_path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(cut));
    }
    auto model = LoadModelFromFile(cut_path);
    if (model.ok()) {
      // A cut that ends on a field boundary is a valid prefix: it still has to be a complete model.
      EXPECT_FALSE(model->graph->outputs.empty()) << "cut at " << cut;
    }
  }
  std::remove(cut_path.c_str());
  std::remove(path.c_str());
}

TEST(InlineWeightsTest, CorruptedBytesAreAnErrorOrAModelNeverACrash) {
  const std::string path = WriteModel("p");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const uint32_t seed = 20261207;
  std::mt19937 rng(seed);
  const std::string bad_path = path + ".bad";
  // The rewrite walks tags and lengths before the parser sees anything: corrupt them where they are (the
  // first bytes of the file and of each message) as well as anywhere.
  for (int round = 0; round < 60; ++round) {
    std::string mutated = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = round % 2 == 0 ? rng() % std::min<size_t>(mutated.size(), 64) : rng() % mutated.size();
      mutated[at] = static_cast<char>(rng() & 0xff);
    }
    {
      std::ofstream out(bad_path, std::ios::binary | std::ios::trunc);
      out.write(mutated.data(), static_cast<std::streamsize>(mutated.size()));
    }
    auto model = LoadModelFromFile(bad_path);  // must return, ok or not (seed printed on failure)
    if (model.ok()) EXPECT_NE(model->graph, nullptr) << "seed " << seed << " round " << round;
  }
  std::remove(bad_path.c_str());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tessera
