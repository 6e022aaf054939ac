// Tensor parallelism on the exported models (BERT, ResNet-50) with T ranks in threads: every rank's
// output must match PyTorch's expected output. The models come from $TESSERA_MODEL_CACHE/torch/<name>
// (tests/dist runs this with the cache set); without them the tests are skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/npy.h"
#include "model/onnx_loader.h"
#include "parallel/comm/thread_communicator.h"
#include "parallel/tensor/shard_description.h"
#include "parallel/tensor/tensor_parallel.h"
#include "runtime/session_factory.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

struct ModelCase {
  std::string dir;
  std::vector<std::pair<std::string, Tensor>> feeds;
  std::vector<std::pair<std::string, Tensor>> expected;
};

// Reads every .npy of `dir` as (file stem, tensor), sorted by name.
StatusOr<std::vector<std::pair<std::string, Tensor>>> ReadNpyFolder(const fs::path& dir) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    TS_ASSIGN_OR_RETURN(Tensor t, ReadNpy(entry.path().string()));
    out.push_back({entry.path().stem().string(), std::move(t)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

// The model folder, or "" (the test then skips) when the cache or the model is missing.
std::string ModelDir(const std::string& name) {
  const char* cache = std::getenv("TESSERA_MODEL_CACHE");
  if (cache == nullptr || *cache == '\0') return "";
  const fs::path dir = fs::path(cache) / "torch" / name;
  return fs::exists(dir / "model.onnx") ? dir.string() : "";
}

void ExpectMatchesReference(const std::string& name, int tp) {
  const std::string dir = ModelDir(name);
  if (dir.empty()) GTEST_SKIP() << "TESSERA_MODEL_CACHE/torch/" << name << " not available";
  auto feeds = ReadNpyFolder(fs::path(dir) / "inputs");
  auto expected = ReadNpyFolder(fs::path(dir) / "expected");
  ASSERT_TRUE(feeds.ok() && expected.ok());
  // Loaded once and copied per rank (the graph's copy shares the weights until the rewrite slices them):
  // parsing and checking BERT takes longer than running it.
  auto loaded = LoadModelFromFile(dir + "/model.onnx");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<Model> models(static_cast<size_t>(tp), *loaded);
  for (Model& m : models) m.graph = std::make_shared<Graph>(*loaded->graph);
  loaded = Status(StatusCode::kNotFound, "released");
  std::vector<std::vector<Tensor>> outputs(static_cast<size_t>(tp));
  std::vector<std::vector<std::string>> names(static_cast<size_t>(tp));
  auto statuses = RunOnThreads(tp, [&](Communicator& comm) -> Status {
    TS_ASSIGN_OR_RETURN(GraphRewrite rewrite, MakeTensorParallelRewrite(comm));
    SessionOptions options;
    options.threads = 1;
    TS_ASSIGN_OR_RETURN(auto session, CreateSessionFromModel(std::move(models[static_cast<size_t>(comm.rank())]), options, rewrite));
    for (const TensorInfo& info : session->outputs()) names[static_cast<size_t>(comm.rank())].push_back(info.name);
    TS_ASSIGN_OR_RETURN(outputs[static_cast<size_t>(comm.rank())], session->Run(*feeds));
    return Status::Ok();
  });
  for (const Status& s : statuses) ASSERT_TRUE(s.ok()) << s.ToString();
  for (int r = 0; r < tp; ++r) {
    for (const auto& [output, want] : *expected) {
      const auto& n = names[static_cast<size_t>(r)];
      const auto at = std::find(n.begin(), n.end(), output);
      ASSERT_NE(at, n.end()) << output;
      const Tensor& got = outputs[static_cast<size_t>(r)][static_cast<size_t>(at - n.begin())];
      ASSERT_EQ(got.shape(), want.shape()) << output;
      ASSERT_EQ(want.dtype(), DType::kFloat32);
      float largest = 0;
      for (int64_t i = 0; i < want.element_count(); ++i) largest = std::max(largest, std::fabs(want.data<float>()[i]));
      const float atol = 1e-4f * std::max(largest, 1.0f);
      int64_t bad = 0;
      float worst = 0;
      for (int64_t i = 0; i < want.element_count(); ++i) {
        const float w = want.data<float>()[i], g = got.data<float>()[i];
        const float err = std::fabs(w - g);
        worst = std::max(worst, err);
        if (!(err <= atol + 1e-3f * std::fabs(w))) ++bad;
      }
      EXPECT_EQ(bad, 0) << name << " tp " << tp << " rank " << r << " output " << output << ": worst error " << worst;
    }
  }
}

TEST(TensorParallelModelsTest, BertTp2MatchesPyTorch) { ExpectMatchesReference("bert", 2); }
TEST(TensorParallelModelsTest, BertTp3MatchesPyTorch) { ExpectMatchesReference("bert", 3); }
TEST(TensorParallelModelsTest, ResNet50Tp2MatchesPyTorch) { ExpectMatchesReference("resnet50", 2); }

TEST(TensorParallelModelsTest, BertSplitsEveryAttentionAndMlpBlock) {
  const std::string dir = ModelDir("bert");
  if (dir.empty()) GTEST_SKIP() << "TESSERA_MODEL_CACHE/torch/bert not available";
  auto model = LoadModelFromFile(dir + "/model.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  for (int tp : {2, 4}) {
    auto d = DescribeTensorParallel(*model->graph, tp, {{"batch", 1}, {"sequence", 128}});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    // 12 layers: one attention block and one MLP block each, one all-reduce per block, nothing gathered.
    EXPECT_EQ(d->blocks.size(), 24u) << d->Summary();
    EXPECT_EQ(d->all_reduce_count, 24);
    EXPECT_EQ(d->all_gather_count, 0);
    // Every attention and MLP weight is split; the embeddings and norms stay whole.
    EXPECT_GT(d->sharded_weight_bytes, d->total_weight_bytes * 3 / 4);
    const int64_t replicated = d->total_weight_bytes - d->sharded_weight_bytes;
    EXPECT_LE(d->weight_bytes_per_rank[0], replicated + d->sharded_weight_bytes / tp + 1024);
    std::printf("%s", d->Summary().substr(0, d->Summary().find('\n', d->Summary().find('\n') + 1) + 1).c_str());
  }
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(TensorParallelModelsTest, ResNet50SplitsItsLargeLayers) {
  const std::string dir = ModelDir("resnet50");
  if (dir.empty()) GTEST_SKIP() << "TESSERA_MODEL_CACHE/torch/resnet50 not available";
  auto model = LoadModelFromFile(dir + "/model.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto d = DescribeTensorParallel(*model->graph, 2, {{"batch", 1}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::printf("%s", d->Summary().c_str());
  std::set<std::string> split;
  for (const ShardedBlock& b : d->blocks) split.insert(b.split_nodes.begin(), b.split_nodes.end());
  // Every layer whose weight reaches the threshold is split (smaller ones may join a block of a large one:
  // a residual sum of two convolutions stays split, and so does the stream it feeds).
  for (const Node& node : model->graph->nodes) {
    if (node.op_type != "Conv" && node.op_type != "Gemm") continue;
    const bool large =
        model->graph->constants.at(node.inputs[1]).byte_size() >= TensorParallelOptions{}.min_gather_weight_bytes;
    if (large) EXPECT_TRUE(split.count(node.name)) << node.name;
  }
  EXPECT_EQ(d->all_reduce_count, 0);
  EXPECT_LT(d->weight_bytes_per_rank[0], d->total_weight_bytes * 6 / 10);
}

}  // namespace
}  // namespace tessera
