// FuseAttention: which chains it rewrites and which it must leave alone, on IR built by hand, and the
// fused node's numbers against the same models run unfused (SessionOptions::optimize = false) on
// seeded random inputs, in the GPT-2 (Where on a causal condition, then an added mask) and plain forms.
#include "graph/passes/attention_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// q, kt, v (float32), cond (bool) and mask graph inputs plus scalar constants, with nodes added by name.
class AttentionGraph {
 public:
  AttentionGraph() {
    for (const char *name : {"q", "kt", "v", "mask"}) Input(name, DType::kFloat32);
    Input("cond", DType::kBool);
    Constant("c", 8.0f);
    Constant("fill", -std::numeric_limits<float>::max());
    Constant("small_fill", -1.0f);
  }
  AttentionGraph &Add(const std::string &op, std::vector<std::string> inputs, const std::string &output,
                      int64_t axis = 0) {
    Node node;
    node.name = op + std::to_string(graph_.nodes.size());
    node.op_type = op;
    node.opset = 17;
    for (const auto &i : inputs) node.inputs.push_back(graph_.ValueId(i));
    node.explicit_input_count = node.inputs.size();
    node.outputs.push_back(graph_.ValueId(output));
    if (axis != 0) {
      Attribute a;
      a.type = Attribute::Type::kInt;
      a.i = axis;
      node.attributes["axis"] = a;
    }
    graph_.nodes.push_back(std::move(node));
    return *this;
  }
  // The whole chain, ending in "y".
  AttentionGraph &Chain(const std::string &fill = "fill", int64_t axis = -1) {
    Add("MatMul", {"q", "kt"}, "s").Add("Div", {"s", "c"}, "d").Add("Where", {"cond", "d", fill}, "w");
    return Add("Add", {"w", "mask"}, "a").Add("Softmax", {"a"}, "p", axis).Add("MatMul", {"p", "v"}, "y");
  }
  AttentionGraph &Output(const std::string &name) {
    graph_.outputs.push_back(graph_.ValueId(name));
    return *this;
  }
  int Fuse() {
    int fused = -1;
    EXPECT_TRUE(FuseAttention(graph_, &fused).ok());
    return fused;
  }
  std::string Ops() const {
    std::string ops;
    for (const Node &n : graph_.nodes) ops += (ops.empty() ? "" : " ") + n.op_type;
    return ops;
  }
  Graph &graph() { return graph_; }

 private:
  void Input(const std::string &name, DType dtype) {
    const int id = graph_.ValueId(name);
    graph_.values[static_cast<size_t>(id)].dtype = dtype;
    graph_.inputs.push_back(id);
  }
  void Constant(const std::string &name, float value) {
    graph_.constants[graph_.ValueId(name)] = Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{value});
  }
  Graph graph_;
};

TEST(AttentionFusionTest, FusesWholeChainIntoOneNode) {
  AttentionGraph g;
  g.Chain().Output("y");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "FusedAttention");
  const Node &n = g.graph().nodes[0];
  EXPECT_EQ(n.domain, "com.tessera");
  EXPECT_EQ(n.inputs.size(), 5u);
  EXPECT_FLOAT_EQ(n.GetFloat("scale", 0), 0.125f);
  EXPECT_EQ(n.outputs[0], g.graph().ValueId("y"));
}

TEST(AttentionFusionTest, FusesChainWithoutMaskOrScale) {
  AttentionGraph g;
  g.Add("MatMul", {"q", "kt"}, "s").Add("Softmax", {"s"}, "p", -1).Add("MatMul", {"p", "v"}, "y").Output("y");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.graph().nodes[0].inputs.size(), 3u);
  EXPECT_FLOAT_EQ(g.graph().nodes[0].GetFloat("scale", 0), 1.0f);
}

TEST(AttentionFusionTest, TransposeOfKeyIsAbsorbed) {
  AttentionGraph g;
  g.Add("Transpose", {"k"}, "kt");
  g.graph().nodes.back().attributes["perm"].type = Attribute::Type::kInts;
  g.graph().nodes.back().attributes["perm"].ints = {0, 1, 3, 2};
  g.graph().values[static_cast<size_t>(g.graph().ValueId("k"))].dtype = DType::kFloat32;
  g.Chain().Output("y");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "FusedAttention");
  EXPECT_EQ(g.graph().nodes[0].inputs[1], g.graph().ValueId("k"));
  EXPECT_EQ(g.graph().nodes[0].GetInt("key_transposed", 1), 0);
}

TEST(AttentionFusionTest, ScoresWithAnotherReaderAreLeftAlone) {
  AttentionGraph g;
  g.Chain().Add("Relu", {"d"}, "r").Output("y").Output("r");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(AttentionFusionTest, ProbabilitiesThatAreAGraphOutputAreLeftAlone) {
  AttentionGraph g;
  g.Chain().Output("y").Output("p");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(AttentionFusionTest, WhereFillThatDoesNotMaskIsLeftAlone) {
  AttentionGraph g;
  g.Chain("small_fill").Output("y");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(AttentionFusionTest, SoftmaxOverAnotherAxisIsLeftAlone) {
  AttentionGraph g;
  g.Chain("fill", 1).Output("y");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(AttentionFusionTest, OperandOfKnownRankFiveIsLeftAlone) {
  AttentionGraph g;
  ValueInfo &q = g.graph().values[static_cast<size_t>(g.graph().ValueId("q"))];
  q.has_shape = true;
  q.dims.resize(5);
  g.Chain().Output("y");
  EXPECT_EQ(g.Fuse(), 0);
}

std::vector<float> Random(std::mt19937 &rng, int64_t n) {
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v) x = dist(rng);
  return v;
}

// The same model fused and unfused agree; `gpt2` adds the Where on a causal condition and a mask.
void ExpectFusedMatchesUnfused(bool gpt2, const Shape &q_shape, const Shape &kt_shape, const Shape &v_shape,
                               std::mt19937 &rng) {
  const int64_t s = q_shape[q_shape.size() - 2], l = kt_shape.back();
  OnnxBuilder b(17);
  auto dims = [](const Shape &sh) { return std::vector<int64_t>(sh.begin(), sh.end()); };
  b.Input("q", DType::kFloat32, dims(q_shape));
  Shape k_shape = kt_shape;
  std::swap(k_shape[k_shape.size() - 1], k_shape[k_shape.size() - 2]);
  if (gpt2) {  // K itself, transposed in the graph: the pass absorbs the Transpose
    b.Input("k", DType::kFloat32, dims(k_shape));
    OnnxBuilder::IntsAttribute(b.Node("Transpose", {"k"}, {"kt"}), "perm", {0, 1, 3, 2});
  } else {
    b.Input("kt", DType::kFloat32, dims(kt_shape));
  }
  b.Input("v", DType::kFloat32, dims(v_shape));
  b.Initializer("c", {std::sqrt(static_cast<float>(q_shape.back()))}, {});
  b.Node("MatMul", {"q", "kt"}, {"s"});
  b.Node(gpt2 ? "Div" : "Mul", {"s", "c"}, {"d"});
  std::string scores = "d";
  if (gpt2) {
    b.Input("cond", DType::kBool, {s, l});
    b.Input("mask", DType::kFloat32, {1, 1, 1, l});
    b.Initializer("fill", {-3.4028235e38f}, {});
    b.Node("Where", {"cond", "d", "fill"}, {"w"});
    b.Node("Add", {"w", "mask"}, {"a"});
    scores = "a";
  }
  OnnxBuilder::IntAttribute(b.Node("Softmax", {scores}, {"p"}), "axis", -1);
  b.Node("MatMul", {"p", "v"}, {"y"});
  Shape y_shape = q_shape;
  y_shape.back() = v_shape.back();
  b.Output("y", DType::kFloat32, dims(y_shape));
  const std::string path = b.WriteTemp();
  std::vector<std::pair<std::string, Tensor>> feeds = {
      {"q", Tensor::FromVector(DType::kFloat32, q_shape, Random(rng, ShapeElementCount(q_shape)))},
      {gpt2 ? "k" : "kt", Tensor::FromVector(DType::kFloat32, gpt2 ? k_shape : kt_shape,
                                             Random(rng, ShapeElementCount(kt_shape)))},
      {"v", Tensor::FromVector(DType::kFloat32, v_shape, Random(rng, ShapeElementCount(v_shape)))}};
  if (gpt2) {
    std::vector<bool> causal(static_cast<size_t>(s * l));
    for (int64_t i = 0; i < s; ++i) {
      for (int64_t j = 0; j < l; ++j) causal[static_cast<size_t>(i * l + j)] = j <= i + (l - s);
    }
    feeds.push_back({"cond", Tensor::FromVector(DType::kBool, {s, l}, causal)});
    feeds.push_back({"mask", Tensor::FromVector(DType::kFloat32, {1, 1, 1, l}, Random(rng, l))});
  }
  SessionOptions plain;
  plain.optimize = false;
  auto fused_session = Session::Load(path);
  auto plain_session = Session::Load(path, plain);
  ASSERT_TRUE(fused_session.ok()) << fused_session.status().message();
  ASSERT_TRUE(plain_session.ok()) << plain_session.status().message();
  auto got = (*fused_session)->Run(feeds);
  auto want = (*plain_session)->Run(feeds);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(want.ok()) << want.status().message();
  ASSERT_EQ((*got)[0].shape(), (*want)[0].shape());
  for (int64_t i = 0; i < (*want)[0].element_count(); ++i) {
    ASSERT_NEAR((*got)[0].data<float>()[i], (*want)[0].data<float>()[i], 2e-5)
        << "q " << ShapeToString(q_shape) << " kt " << ShapeToString(kt_shape) << " at " << i;
  }
}

TEST(AttentionFusionTest, FusedAgreesWithUnfusedOnRandomInputs) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t b = 1 + rng() % 2, h = 1 + rng() % 3, s = 1 + rng() % 6, past = rng() % 5, d = 4 + rng() % 13;
    const int64_t l = s + past;
    ExpectFusedMatchesUnfused(true, {b, h, s, d}, {b, h, d, l}, {b, h, l, d}, rng);
    // 3-D, with one key/value head shared by every query head (MatMul broadcasting).
    ExpectFusedMatchesUnfused(false, {h, s, d}, {1, d, l}, {1, l, d + 1}, rng);
  }
}

}  // namespace
}  // namespace tessera
