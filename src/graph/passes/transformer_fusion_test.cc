// FuseMatMulBiasActivation: which graphs it rewrites and which it must leave alone, on IR built by hand,
// and the fused kernel's numbers against the same model run unfused (SessionOptions::optimize = false).
#include "graph/passes/transformer_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

// A graph with input "x" [4, K], initializers for "w" [K, N], "b" [N] and the GELU scalars, and helpers
// that add nodes by value name.
class DenseGraph {
 public:
  DenseGraph(int64_t k = 3, int64_t n = 2) {
    graph_.inputs.push_back(graph_.ValueId("x"));
    Constant("w", {k, n});
    Constant("b", {n});
    Constant("sqrt2", {}, std::sqrt(2.0f));
    Constant("one", {}, 1.0f);
    Constant("half", {}, 0.5f);
  }
  void Constant(const std::string& name, Shape shape, float fill = 0.25f) {
    graph_.constants[graph_.ValueId(name)] =
        Tensor::FromVector(DType::kFloat32, shape, std::vector<float>(static_cast<size_t>(ShapeElementCount(shape)), fill));
  }
  DenseGraph& Add(const std::string& op, std::vector<std::string> inputs, const std::string& output) {
    Node node;
    node.name = op + std::to_string(graph_.nodes.size());
    node.op_type = op;
    node.opset = 17;
    for (const auto& i : inputs) node.inputs.push_back(graph_.ValueId(i));
    node.explicit_input_count = node.inputs.size();
    node.outputs.push_back(graph_.ValueId(output));
    graph_.nodes.push_back(std::move(node));
    return *this;
  }
  // MatMul + bias Add + GELU ending in "g"; `half_first` puts the 0.5 on x before the erf part.
  DenseGraph& DenseGelu(bool half_first = false) {
    Add("MatMul", {"x", "w"}, "y").Add("Add", {"b", "y"}, "z");
    Add("Div", {"z", "sqrt2"}, "d").Add("Erf", {"d"}, "e").Add("Add", {"e", "one"}, "p");
    if (half_first) return Add("Mul", {"half", "z"}, "q").Add("Mul", {"q", "p"}, "g");
    return Add("Mul", {"z", "p"}, "q").Add("Mul", {"q", "half"}, "g");
  }
  DenseGraph& Output(const std::string& name) {
    graph_.outputs.push_back(graph_.ValueId(name));
    return *this;
  }
  Graph& graph() { return graph_; }
  int Fuse() {
    int fused = -1;
    EXPECT_TRUE(FuseMatMulBiasActivation(graph_, &fused).ok());
    return fused;
  }
  std::string Ops() const {
    std::string s;
    for (const Node& n : graph_.nodes) s += (s.empty() ? "" : " ") + n.op_type;
    return s;
  }

 private:
  Graph graph_;
};

TEST(TransformerFusionTest, MatMulBiasGeluBecomesOneNode) {
  for (bool half_first : {false, true}) {
    DenseGraph g;
    g.DenseGelu(half_first).Output("g");
    EXPECT_EQ(g.Fuse(), 1);
    ASSERT_EQ(g.Ops(), "FusedMatMul") << "half_first " << half_first;
    const Node& n = g.graph().nodes[0];
    EXPECT_EQ(n.domain, "com.tessera");
    EXPECT_EQ(n.GetString("activation", "?"), "gelu_erf");
    EXPECT_EQ(n.inputs, (std::vector<int>{g.graph().ValueId("x"), g.graph().ValueId("w"), g.graph().ValueId("b")}));
    EXPECT_EQ(n.outputs, std::vector<int>{g.graph().ValueId("g")});
  }
}

TEST(TransformerFusionTest, MatMulBiasWithoutGeluFusesBiasOnly) {
  DenseGraph g;
  g.Add("MatMul", {"x", "w"}, "y").Add("Add", {"y", "b"}, "z").Add("Relu", {"z"}, "r").Output("r");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "FusedMatMul Relu");
  EXPECT_EQ(g.graph().nodes[0].GetString("activation", "?"), "");
  EXPECT_EQ(g.graph().nodes[0].outputs, std::vector<int>{g.graph().ValueId("z")});
}

TEST(TransformerFusionTest, ProductWithSecondReaderIsNotFused) {
  DenseGraph g;
  g.DenseGelu().Add("Relu", {"y"}, "r").Output("g").Output("r");
  EXPECT_EQ(g.Fuse(), 0);
  EXPECT_EQ(g.Ops(), "MatMul Add Div Erf Add Mul Mul Relu");
}

TEST(TransformerFusionTest, ProductThatIsAGraphOutputIsNotFused) {
  DenseGraph g;
  g.DenseGelu().Output("g").Output("y");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(TransformerFusionTest, NonConstantWeightIsNotFused) {
  DenseGraph g;
  g.graph().constants.erase(g.graph().ValueId("w"));
  g.graph().inputs.push_back(g.graph().ValueId("w"));
  g.DenseGelu().Output("g");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(TransformerFusionTest, BiasCopiedByIdentityIsFusedFromItsInitializer) {
  DenseGraph g;
  g.Add("Identity", {"b"}, "b_copy").Add("MatMul", {"x", "w"}, "y").Add("Add", {"y", "b_copy"}, "z").Output("z");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "Identity FusedMatMul");
  EXPECT_EQ(g.graph().nodes[1].inputs[2], g.graph().ValueId("b"));
}

TEST(TransformerFusionTest, BiasOfWrongLengthIsNotFused) {
  DenseGraph g(3, 2);
  g.Constant("b", {3});
  g.DenseGelu().Output("g");
  EXPECT_EQ(g.Fuse(), 0);
}

TEST(TransformerFusionTest, GeluIntermediateWithSecondReaderKeepsTheGeluNodes) {
  DenseGraph g;
  g.DenseGelu().Add("Relu", {"e"}, "r").Output("g").Output("r");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "FusedMatMul Div Erf Add Mul Mul Relu");
  EXPECT_EQ(g.graph().nodes[0].GetString("activation", "?"), "");
}

TEST(TransformerFusionTest, GeluIntermediateThatIsAGraphOutputKeepsTheGeluNodes) {
  DenseGraph g;
  g.DenseGelu().Output("g").Output("q");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "FusedMatMul Div Erf Add Mul Mul");
}

TEST(TransformerFusionTest, WrongGeluScalarKeepsTheGeluNodes) {
  DenseGraph g;
  g.Constant("half", {}, 0.6f);
  g.DenseGelu().Output("g");
  EXPECT_EQ(g.Fuse(), 1);
  EXPECT_EQ(g.Ops(), "FusedMatMul Div Erf Add Mul Mul");
}

// The fused kernel against the unfused graph on a [2, 5, K] input (rows fold into one matmul).
TEST(TransformerFusionTest, FusedKernelMatchesUnfusedGraph) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  auto random = [&](size_t count) {
    std::vector<float> v(count);
    for (float& x : v) x = dist(rng);
    return v;
  };
  const int64_t k = 37, n = 19;
  for (bool gelu : {false, true}) {
    testing::OnnxBuilder b(17);
    b.Input("x", DType::kFloat32, {2, 5, k});
    b.Initializer("w", random(k * n), {k, n});
    b.Initializer("b", random(n), {n});
    b.Initializer("sqrt2", {std::sqrt(2.0f)}, {});
    b.Initializer("one", {1.0f}, {});
    b.Initializer("half", {0.5f}, {});
    b.Node("MatMul", {"x", "w"}, {"y"});
    b.Node("Add", {"y", "b"}, {"z"});
    if (gelu) {
      b.Node("Div", {"z", "sqrt2"}, {"d"});
      b.Node("Erf", {"d"}, {"e"});
      b.Node("Add", {"e", "one"}, {"p"});
      b.Node("Mul", {"z", "p"}, {"q"});
      b.Node("Mul", {"q", "half"}, {"out"});
    } else {
      b.Node("Identity", {"z"}, {"out"});
    }
    b.Output("out", DType::kFloat32, {2, 5, n});
    const std::string path = b.WriteTemp();
    const Tensor x = Tensor::FromVector(DType::kFloat32, {2, 5, k}, random(2 * 5 * k));
    SessionOptions plain;
    plain.optimize = false;
    auto fused_session = Session::Load(path);
    auto plain_session = Session::Load(path, plain);
    ASSERT_TRUE(fused_session.ok()) << fused_session.status().message();
    ASSERT_TRUE(plain_session.ok()) << plain_session.status().message();
    auto got = (*fused_session)->Run({{"x", x}});
    auto want = (*plain_session)->Run({{"x", x}});
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_TRUE(want.ok()) << want.status().message();
    ASSERT_EQ((*got)[0].shape(), Shape({2, 5, n}));
    for (int64_t i = 0; i < 2 * 5 * n; ++i) {
      ASSERT_NEAR((*got)[0].data<float>()[i], (*want)[0].data<float>()[i], 1e-4) << "gelu " << gelu << " at " << i;
    }
  }
}

}  // namespace
}  // namespace tessera
