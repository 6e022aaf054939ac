// Tensor parallelism on small models built in memory: T ranks in threads (ThreadCommunicator), each
// loading the model and running its shard, must match the unsplit model.
#include "parallel/tensor/tensor_parallel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph/passes/graph_passes.h"
#include "model/onnx_loader.h"
#include "parallel/comm/thread_communicator.h"
#include "parallel/tensor/shard_apply.h"
#include "parallel/tensor/shard_description.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;
using Feeds = std::vector<std::pair<std::string, Tensor>>;

std::vector<float> RandomValues(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

void AddWeight(OnnxBuilder& b, std::mt19937& rng, const std::string& name, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  b.Initializer(name, RandomValues(rng, n), dims);
}

void AddInt64(OnnxBuilder& b, const std::string& name, const std::vector<int64_t>& values) {
  auto* t = b.graph().add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

void AddScalar(OnnxBuilder& b, const std::string& name, float value) { b.Initializer(name, {value}, {}); }

// x [2, 5, d] -> MatMul [d, hidden] + bias -> GELU (erf form) -> MatMul [hidden, d] + bias.
std::string MlpModel(std::mt19937& rng, int64_t d, int64_t hidden) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {2, 5, d});
  AddWeight(b, rng, "w1", {d, hidden});
  AddWeight(b, rng, "b1", {hidden});
  AddWeight(b, rng, "w2", {hidden, d});
  AddWeight(b, rng, "b2", {d});
  AddScalar(b, "sqrt2", std::sqrt(2.0f));
  AddScalar(b, "one", 1.0f);
  AddScalar(b, "half", 0.5f);
  b.Node("MatMul", {"x", "w1"}, {"h0"});
  b.Node("Add", {"b1", "h0"}, {"h1"});
  b.Node("Div", {"h1", "sqrt2"}, {"g0"});
  b.Node("Erf", {"g0"}, {"g1"});
  b.Node("Add", {"g1", "one"}, {"g2"});
  b.Node("Mul", {"h1", "g2"}, {"g3"});
  b.Node("Mul", {"g3", "half"}, {"g4"});
  b.Node("MatMul", {"g4", "w2"}, {"y0"});
  b.Node("Add", {"b2", "y0"}, {"y"});
  b.Output("y", DType::kFloat32, {2, 5, d});
  return b.WriteTemp();
}

// BERT-style self-attention with `heads` heads of 4: Q's head reshape computes its shape at run time
// (Shape/Gather/Unsqueeze/Concat, as exporters write it), K's and V's use constant shapes.
std::string AttentionModel(std::mt19937& rng, int64_t heads) {
  const int64_t dh = 4, d = heads * dh;
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {-1, 6, d});
  b.Input("mask", DType::kFloat32, {-1, 1, 1, 6});
  for (const char* p : {"q", "k", "v", "o"}) {
    AddWeight(b, rng, std::string("w") + p, {d, d});
    AddWeight(b, rng, std::string("b") + p, {d});
  }
  AddScalar(b, "scale", std::sqrt(static_cast<float>(dh)));
  AddInt64(b, "heads_shape", {0, 0, heads, dh});
  AddInt64(b, "merged_shape", {0, 0, d});
  AddInt64(b, "zero", {0});
  AddInt64(b, "one", {1});
  AddInt64(b, "tail", {heads, dh});
  b.Node("MatMul", {"x", "wq"}, {"q0"});
  b.Node("Add", {"q0", "bq"}, {"q1"});
  b.Node("Shape", {"q1"}, {"qs"});
  auto& g0 = b.Node("Gather", {"qs", "zero"}, {"qb"});
  OnnxBuilder::IntAttribute(g0, "axis", 0);
  b.Node("Gather", {"qs", "one"}, {"qn"});
  auto& concat = b.Node("Concat", {"qb", "qn", "tail"}, {"q_shape"});
  OnnxBuilder::IntAttribute(concat, "axis", 0);
  b.Node("Reshape", {"q1", "q_shape"}, {"q2"});
  auto& tq = b.Node("Transpose", {"q2"}, {"q3"});
  OnnxBuilder::IntsAttribute(tq, "perm", {0, 2, 1, 3});
  b.Node("MatMul", {"x", "wk"}, {"k0"});
  b.Node("Add", {"k0", "bk"}, {"k1"});
  b.Node("Reshape", {"k1", "heads_shape"}, {"k2"});
  auto& tk = b.Node("Transpose", {"k2"}, {"k3"});
  OnnxBuilder::IntsAttribute(tk, "perm", {0, 2, 3, 1});
  b.Node("MatMul", {"x", "wv"}, {"v0"});
  b.Node("Add", {"bv", "v0"}, {"v1"});
  b.Node("Reshape", {"v1", "heads_shape"}, {"v2"});
  auto& tv = b.Node("Transpose", {"v2"}, {"v3"});
  OnnxBuilder::IntsAttribute(tv, "perm", {0, 2, 1, 3});
  b.Node("MatMul", {"q3", "k3"}, {"s0"});
  b.Node("Div", {"s0", "scale"}, {"s1"});
  b.Node("Add", {"s1", "mask"}, {"s2"});
  auto& sm = b.Node("Softmax", {"s2"}, {"p"});
  OnnxBuilder::IntAttribute(sm, "axis", -1);
  b.Node("MatMul", {"p", "v3"}, {"c0"});
  auto& tc = b.Node("Transpose", {"c0"}, {"c1"});
  OnnxBuilder::IntsAttribute(tc, "perm", {0, 2, 1, 3});
  b.Node("Reshape", {"c1", "merged_shape"}, {"c2"});
  b.Node("MatMul", {"c2", "wo"}, {"o0"});
  b.Node("Add", {"bo", "o0"}, {"y"});
  b.Output("y", DType::kFloat32, {-1, 6, d});
  return b.WriteTemp();
}

Tensor RandomTensor(std::mt19937& rng, Shape shape) {
  return Tensor::FromVector(DType::kFloat32, shape, RandomValues(rng, ShapeElementCount(shape)));
}

StatusOr<std::vector<Tensor>> RunWhole(const std::string& path, const Feeds& feeds) {
  SessionOptions options;
  options.threads = 1;
  TS_ASSIGN_OR_RETURN(auto session, Session::Load(path, options));
  return session->Run(feeds);
}

// Every rank's outputs (rank 0 first), or the first rank's error.
StatusOr<std::vector<std::vector<Tensor>>> RunSplit(const std::string& path, int tp, const Feeds& feeds,
                                                    const TensorParallelOptions& tp_options = {}) {
  std::vector<std::vector<Tensor>> outputs(static_cast<size_t>(tp));
  auto statuses = RunOnThreads(tp, [&](Communicator& comm) -> Status {
    TS_ASSIGN_OR_RETURN(GraphRewrite rewrite, MakeTensorParallelRewrite(comm, tp_options));
    SessionOptions options;
    options.threads = 1;
    TS_ASSIGN_OR_RETURN(auto session, LoadSessionWithRewrite(path, options, rewrite));
    TS_ASSIGN_OR_RETURN(outputs[static_cast<size_t>(comm.rank())], session->Run(feeds));
    return Status::Ok();
  });
  for (const Status& s : statuses) {
    if (!s.ok()) return s;
  }
  return outputs;
}

void ExpectClose(const Tensor& want, const Tensor& got, const std::string& what) {
  ASSERT_EQ(want.shape(), got.shape()) << what;
  for (int64_t i = 0; i < want.element_count(); ++i) {
    const float w = want.data<float>()[i], g = got.data<float>()[i];
    ASSERT_NEAR(w, g, 1e-4f + 1e-4f * std::fabs(w)) << what << " element " << i;
  }
}

void ExpectSplitMatches(const std::string& path, int tp, const Feeds& feeds, uint32_t seed) {
  auto whole = RunWhole(path, feeds);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  auto split = RunSplit(path, tp, feeds);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  for (int r = 0; r < tp; ++r) {
    ExpectClose((*whole)[0], (*split)[static_cast<size_t>(r)][0],
                "tp " + std::to_string(tp) + " rank " + std::to_string(r) + " seed " + std::to_string(seed));
  }
}

TEST(TensorParallelTest, MlpMatchesUnsplitModel) {
  for (int tp : {2, 3}) {
    const uint32_t seed = 1000 + static_cast<uint32_t>(tp);
    std::mt19937 rng(seed);
    const std::string path = MlpModel(rng, 8, 10);  // 10 hidden features over 3 ranks: 4/3/3
    ExpectSplitMatches(path, tp, {{"x", RandomTensor(rng, {2, 5, 8})}}, seed);
  }
}

TEST(TensorParallelTest, AttentionMatchesUnsplitModel) {
  for (int tp : {2, 3}) {
    const uint32_t seed = 2000 + static_cast<uint32_t>(tp);
    std::mt19937 rng(seed);
    const std::string path = AttentionModel(rng, 5);  // 5 heads: 3/2 and 2/2/1
    Tensor mask = RandomTensor(rng, {2, 1, 1, 6});
    ExpectSplitMatches(path, tp, {{"x", RandomTensor(rng, {2, 6, 20})}, {"mask", mask}}, seed);
  }
}

TEST(TensorParallelTest, AttentionAndMlpSplitWithOneAllReduceEach) {
  std::mt19937 rng(7);
  for (const std::string& path : {AttentionModel(rng, 4), MlpModel(rng, 8, 12)}) {
    auto model = LoadModelFromFile(path);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto d = DescribeTensorParallel(*model->graph, 2, {{"n0", 2}});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_EQ(d->blocks.size(), 1u) << d->Summary();
    EXPECT_EQ(d->blocks[0].kind, "all-reduce");
    EXPECT_EQ(d->all_reduce_count, 1);
    EXPECT_EQ(d->all_gather_count, 0) << d->Summary();
    // Everything but the output bias is split: each rank holds about half.
    EXPECT_LT(d->weight_bytes_per_rank[0], d->total_weight_bytes * 6 / 10) << d->Summary();
  }
}

TEST(TensorParallelTest, MoreRanksThanHeadsIsAnErrorOnEveryRank) {
  std::mt19937 rng(3);
  const std::string path = AttentionModel(rng, 3);
  const Feeds feeds = {{"x", RandomTensor(rng, {1, 6, 12})}, {"mask", RandomTensor(rng, {1, 1, 1, 6})}};
  std::vector<Status> statuses = RunOnThreads(4, [&](Communicator& comm) -> Status {
    TS_ASSIGN_OR_RETURN(GraphRewrite rewrite, MakeTensorParallelRewrite(comm));
    return LoadSessionWithRewrite(path, SessionOptions{}, rewrite).status();
  });
  for (const Status& s : statuses) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find("cannot split over 4 ranks"), std::string::npos) << s.ToString();
  }
}

TEST(TensorParallelTest, SmallLayerWithoutPartnerStaysReplicated) {
  // One MatMul and nothing to close it with a row split: gathering a 64-float weight is not worth it.
  OnnxBuilder b(17);
  std::mt19937 rng(5);
  b.Input("x", DType::kFloat32, {3, 8});
  AddWeight(b, rng, "w", {8, 8});
  b.Node("MatMul", {"x", "w"}, {"y"});
  b.Output("y", DType::kFloat32, {3, 8});
  auto model = LoadModelFromFile(b.WriteTemp());
  ASSERT_TRUE(model.ok());
  auto d = DescribeTensorParallel(*model->graph, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->blocks.empty());
  EXPECT_EQ(d->weight_bytes_per_rank[1], d->total_weight_bytes);
}

TEST(TensorParallelTest, ConvAndGemmSplitByOutputChannelsAndGathered) {
  // Conv -> BatchNorm -> Relu -> GlobalAveragePool -> Flatten -> Gemm: both layers gathered when forced.
  std::mt19937 rng(11);
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {2, 3, 6, 6});
  AddWeight(b, rng, "cw", {7, 3, 3, 3});
  AddWeight(b, rng, "cb", {7});
  AddWeight(b, rng, "scale", {7});
  AddWeight(b, rng, "shift", {7});
  AddWeight(b, rng, "mean", {7});
  b.Initializer("var", std::vector<float>(7, 0.8f), {7});
  AddWeight(b, rng, "gw", {5, 7});
  AddWeight(b, rng, "gb", {5});
  auto& conv = b.Node("Conv", {"x", "cw", "cb"}, {"c"});
  OnnxBuilder::IntsAttribute(conv, "pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"n"});
  b.Node("Relu", {"n"}, {"r"});
  b.Node("GlobalAveragePool", {"r"}, {"p"});
  b.Node("Flatten", {"p"}, {"f"});
  auto& gemm = b.Node("Gemm", {"f", "gw", "gb"}, {"y"});
  OnnxBuilder::IntAttribute(gemm, "transB", 1);
  b.Output("y", DType::kFloat32, {2, 5});
  const std::string path = b.WriteTemp();
  const Feeds feeds = {{"x", RandomTensor(rng, {2, 3, 6, 6})}};
  auto whole = RunWhole(path, feeds);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  TensorParallelOptions every_layer;
  every_layer.min_gather_weight_bytes = 0;
  for (int tp : {2, 3}) {
    auto model = LoadModelFromFile(path);
    ASSERT_TRUE(model.ok());
    auto d = DescribeTensorParallel(*model->graph, tp, {}, every_layer);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->all_gather_count, 2) << d->Summary();
    auto split = RunSplit(path, tp, feeds, every_layer);
    ASSERT_TRUE(split.ok()) << split.status().ToString();
    for (int r = 0; r < tp; ++r) ExpectClose((*whole)[0], (*split)[static_cast<size_t>(r)][0], "conv tp " + std::to_string(tp));
  }
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(TensorParallelTest, FusionsStillApplyToTheShards) {
  // The rewrite runs before the fusion passes: MatMul + bias + GELU on the column shard must still become
  // one FusedMatMul, and the row shard's MatMul + bias (rank 0) another, followed by the all-reduce.
  std::mt19937 rng(13);
  const std::string path = MlpModel(rng, 8, 12);
  for (int rank : {0, 1}) {
    auto model = LoadModelFromFile(path);
    ASSERT_TRUE(model.ok());
    Graph& graph = *model->graph;
    auto plan = PlanTensorShards(graph, 2);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_TRUE(ApplyShardPlan(graph, *plan, rank, /*comm_handle=*/1).ok());
    ASSERT_TRUE(RunGraphPasses(graph, GraphPassOptions{}).ok());
    std::string ops;
    for (const Node& n : graph.nodes) ops += (ops.empty() ? "" : " ") + n.op_type;
    EXPECT_EQ(ops, rank == 0 ? "FusedMatMul FusedMatMul AllReduceSum" : "FusedMatMul MatMul AllReduceSum");
    EXPECT_EQ(graph.constants.at(graph.nodes[0].inputs[1]).shape(), (Shape{8, 6}));
  }
}

// Regression: a pipeline stage's received activations reach the split without shapes. A MatMul reading
// one took the weight's rank 2 as its own, and a 3-D product was then split and gathered on axis 1 (the
// sequence) instead of the features: pp x tp of the fp32 GenAI decoder printed other tokens.
TEST(TensorParallelTest, ProductOfAnInputOfUnknownRankIsNotTakenAsTwoDimensional) {
  std::mt19937 rng(17);
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {1, 5, 8});
  AddWeight(b, rng, "w1", {8, 8});
  AddWeight(b, rng, "w2", {8, 16});
  b.Node("MatMul", {"x", "w1"}, {"h"});
  b.Node("MatMul", {"h", "w2"}, {"y"});
  b.Output("y", DType::kFloat32, {1, 5, 16});
  const std::string path = b.WriteTemp();
  const Feeds feeds = {{"x", RandomTensor(rng, {1, 5, 8})}};
  auto whole = RunWhole(path, feeds);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  std::vector<std::vector<Tensor>> outputs(2);
  auto statuses = RunOnThreads(2, [&](Communicator& comm) -> Status {
    TensorParallelOptions tp_options;
    tp_options.min_gather_weight_bytes = 0;  // would gather y if its product were split
    TS_ASSIGN_OR_RETURN(GraphRewrite split, MakeTensorParallelRewrite(comm, tp_options));
    GraphRewrite forget_shapes = [&](Graph& graph) -> Status {
      for (size_t v = 0; v < graph.values.size(); ++v) {
        if (graph.constants.count(static_cast<int>(v))) continue;
        graph.values[v].has_shape = false;
        graph.values[v].dims.clear();
      }
      return split(graph);
    };
    SessionOptions options;
    options.threads = 1;
    TS_ASSIGN_OR_RETURN(auto session, LoadSessionWithRewrite(path, options, forget_shapes));
    TS_ASSIGN_OR_RETURN(outputs[static_cast<size_t>(comm.rank())], session->Run(feeds));
    return Status::Ok();
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].ok()) << statuses[static_cast<size_t>(r)].ToString();
    ExpectClose((*whole)[0], outputs[static_cast<size_t>(r)][0], "rank " + std::to_string(r));
  }
}

}  // namespace
}  // namespace tessera
