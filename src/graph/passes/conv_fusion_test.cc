// Conv fusion: which patterns become FusedConv and which must stay apart (IR-level), and that a session
// with the pass gives the node-by-node result on seeded random data (end to end).
#include "graph/passes/conv_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>

#include "model/onnx_loader.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

// A graph of float32 values with static shapes, built node by node.
struct TestGraph {
  Graph g;

  int Value(const std::string& name, const Shape& dims = {1, 4, 5, 5}) {
    const int id = g.ValueId(name);
    ValueInfo& v = g.values[static_cast<size_t>(id)];
    v.dtype = DType::kFloat32;
    v.has_shape = true;
    v.dims.clear();
    for (int64_t d : dims) v.dims.push_back(Dim{d, ""});
    return id;
  }
  int Constant(const std::string& name, float value) {
    const int id = Value(name, {});
    g.constants[id] = Tensor::FromVector<float>(DType::kFloat32, {}, {value});
    return id;
  }
  Node& Add(const std::string& op, const std::vector<int>& inputs, const std::vector<int>& outputs,
            int opset = 17) {
    Node n;
    n.name = op + std::to_string(g.nodes.size());
    n.op_type = op;
    n.opset = opset;
    n.inputs = inputs;
    n.outputs = outputs;
    n.explicit_input_count = inputs.size();
    g.nodes.push_back(n);
    return g.nodes.back();
  }
  // x -> Conv(w, b) -> returns the conv output id.
  int Conv(const std::string& out) {
    const int x = Value("x");
    const int w = Value("w_" + out, {4, 4, 3, 3});
    g.constants[w] = Tensor::FromVector<float>(DType::kFloat32, {4, 4, 3, 3}, std::vector<float>(144, 0.5f));
    const int y = Value(out);
    Add("Conv", {x, w}, {y});
    return y;
  }
};

const Node* FindOp(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

// Uniform floats in [-1, 1) from a fresh seed, which trace() names so that a failure can be replayed.
class RandomFloats {
 public:
  RandomFloats() : seed_(std::random_device{}()), rng_(seed_) {}
  std::string trace() const { return "seed " + std::to_string(seed_); }
  std::vector<float> operator()(size_t n) {
    std::vector<float> v(n);
    for (float& f : v) f = dist_(rng_);
    return v;
  }

 private:
  uint32_t seed_;
  std::mt19937 rng_;
  std::uniform_real_distribution<float> dist_{-1.0f, 1.0f};
};

// Loads `path` (input "x" of shape [batch, c, h, h], output "y") with the passes and node by node, one
// thread each, and runs both sessions at each batch size on the same random input: y must have shape
// y_shape(batch) and agree within 1e-3.
void ExpectPassesMatchNodeByNode(const std::string& path, int64_t c, int64_t h, std::initializer_list<int64_t> batches,
                                 const std::function<Shape(int64_t)>& y_shape, RandomFloats& random) {
  std::vector<std::unique_ptr<Session>> sessions;
  for (bool optimize : {false, true}) {
    SessionOptions options;
    options.optimize = optimize;
    options.threads = 1;
    auto session = Session::Load(path, options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    sessions.push_back(std::move(session).value());
  }
  for (int64_t batch : batches) {
    const Tensor x = Tensor::FromVector<float>(DType::kFloat32, {batch, c, h, h},
                                               random(static_cast<size_t>(batch * c * h * h)));
    std::vector<Tensor> results;
    for (auto& session : sessions) {
      auto out = session->Run({{"x", x}});
      ASSERT_TRUE(out.ok()) << out.status().message();
      results.push_back((*out)[0]);
    }
    ASSERT_EQ(results[1].shape(), y_shape(batch));
    for (int64_t i = 0; i < results[0].element_count(); ++i)
      ASSERT_NEAR(results[0].data<float>()[i], results[1].data<float>()[i], 1e-3f) << "element " << i;
  }
}

TEST(ConvFusionTest, ConvReluBecomesOneFusedNode) {
  TestGraph t;
  const int c = t.Conv("c");
  const int r = t.Value("r");
  t.Add("Relu", {c}, {r});
  t.g.outputs = {r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 1u);
  const Node& f = t.g.nodes[0];
  EXPECT_EQ(f.op_type, "FusedConv");
  EXPECT_EQ(f.domain, kTesseraDomain);
  EXPECT_EQ(f.GetString("activation", ""), "Relu");
  EXPECT_EQ(f.outputs, std::vector<int>{r});
  EXPECT_EQ(f.inputs.size(), 3u);
  EXPECT_EQ(f.inputs[2], kNoValue);
}

TEST(ConvFusionTest, ClipWithConstantBoundsFuses) {
  TestGraph t;
  const int c = t.Conv("c");
  const int r = t.Value("r");
  t.Add("Clip", {c, t.Constant("lo", 0.0f), t.Constant("hi", 6.0f)}, {r});
  t.g.outputs = {r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].GetString("activation", ""), "Clip");
  EXPECT_EQ(t.g.nodes[0].GetFloat("activation_min", -1), 0.0f);
  EXPECT_EQ(t.g.nodes[0].GetFloat("activation_max", -1), 6.0f);
}

// torch.onnx writes Relu6's bounds as Constant nodes, not initializers.
TEST(ConvFusionTest, ClipWithConstantNodeBoundsFuses) {
  TestGraph t;
  const int lo = t.Value("lo", {}), hi = t.Value("hi", {});
  Node& lo_node = t.Add("Constant", {}, {lo});
  Attribute a;
  a.type = Attribute::Type::kTensor;
  a.t = Tensor::FromVector<float>(DType::kFloat32, {}, {0.0f});
  lo_node.attributes["value"] = a;
  Node& hi_node = t.Add("Constant", {}, {hi});
  a.t = Tensor::FromVector<float>(DType::kFloat32, {}, {6.0f});
  hi_node.attributes["value"] = a;
  const int c = t.Conv("c");
  const int r = t.Value("r");
  t.Add("Clip", {c, lo, hi}, {r});
  t.g.outputs = {r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 3u);
  const Node* f = FindOp(t.g, "FusedConv");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->GetFloat("activation_min", -1), 0.0f);
  EXPECT_EQ(f->GetFloat("activation_max", -1), 6.0f);
}

TEST(ConvFusionTest, ClipOpset6AttributeBoundsFuse) {
  TestGraph t;
  const int c = t.Conv("c");
  const int r = t.Value("r");
  Node& clip = t.Add("Clip", {c}, {r}, 6);
  Attribute a;
  a.type = Attribute::Type::kFloat;
  a.f = 6.0f;
  clip.attributes["max"] = a;
  t.g.outputs = {r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].GetFloat("activation_min", 0), std::numeric_limits<float>::lowest());
  EXPECT_EQ(t.g.nodes[0].GetFloat("activation_max", 0), 6.0f);
}

TEST(ConvFusionTest, ClipWithRuntimeBoundIsLeftAlone) {
  TestGraph t;
  const int c = t.Conv("c");
  const int hi = t.Value("hi", {});
  t.g.inputs = {t.g.ValueId("x"), hi};
  const int r = t.Value("r");
  t.Add("Clip", {c, kNoValue, hi}, {r});
  t.g.outputs = {r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  EXPECT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(FindOp(t.g, "FusedConv"), nullptr);
}

// The residual block: the fused node takes the Add's other input as Z and sits where the Relu was, after
// the producer of Z even when that producer came after the Conv.
TEST(ConvFusionTest, ConvAddReluFusesAfterTheAddendProducer) {
  TestGraph t;
  const int c = t.Conv("c");
  const int z = t.Value("z");
  t.Add("Sigmoid", {t.g.ValueId("x")}, {z});
  const int s = t.Value("s"), r = t.Value("r");
  t.Add("Add", {z, c}, {s});
  t.Add("Relu", {s}, {r});
  t.g.outputs = {r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[0].op_type, "Sigmoid");
  const Node& f = t.g.nodes[1];
  EXPECT_EQ(f.op_type, "FusedConv");
  ASSERT_EQ(f.inputs.size(), 4u);
  EXPECT_EQ(f.inputs[3], z);
  EXPECT_EQ(f.outputs, std::vector<int>{r});
  EXPECT_EQ(f.GetString("activation", ""), "Relu");
}

TEST(ConvFusionTest, BroadcastingAddIsLeftAlone) {
  TestGraph t;
  const int c = t.Conv("c");
  const int z = t.Value("z", {1, 4, 1, 1});
  t.g.inputs = {t.g.ValueId("x"), z};
  const int s = t.Value("s");
  t.Add("Add", {c, z}, {s});
  t.g.outputs = {s};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  EXPECT_EQ(FindOp(t.g, "FusedConv"), nullptr);
}

TEST(ConvFusionTest, ConvOutputWithAnotherConsumerIsLeftAlone) {
  TestGraph t;
  const int c = t.Conv("c");
  const int r = t.Value("r"), e = t.Value("e");
  t.Add("Relu", {c}, {r});
  t.Add("Exp", {c}, {e});
  t.g.outputs = {r, e};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  EXPECT_EQ(t.g.nodes.size(), 3u);
  EXPECT_EQ(FindOp(t.g, "FusedConv"), nullptr);
}

TEST(ConvFusionTest, ConvOutputThatIsAGraphOutputIsLeftAlone) {
  TestGraph t;
  const int c = t.Conv("c");
  const int r = t.Value("r");
  t.Add("Relu", {c}, {r});
  t.g.outputs = {c, r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  EXPECT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(FindOp(t.g, "FusedConv"), nullptr);
}

// The Add's result is read twice: Conv and Add fuse, the Relu stays a node of its own.
TEST(ConvFusionTest, AddOutputWithAnotherConsumerKeepsItsRelu) {
  TestGraph t;
  const int c = t.Conv("c");
  const int s = t.Value("s"), r = t.Value("r");
  t.Add("Add", {c, t.g.ValueId("x")}, {s});
  t.Add("Relu", {s}, {r});
  t.g.outputs = {s, r};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[0].op_type, "FusedConv");
  EXPECT_EQ(t.g.nodes[0].outputs, std::vector<int>{s});
  EXPECT_FALSE(t.g.nodes[0].HasAttribute("activation"));
  EXPECT_EQ(t.g.nodes[1].op_type, "Relu");
}

TEST(ConvFusionTest, ConvToConvValueStaysChannelsLast) {
  TestGraph t;
  const int c = t.Conv("c");
  const int r = t.Value("r"), d = t.Value("d");
  t.Add("Relu", {c}, {r});
  const int w = t.Value("w2", {4, 4, 3, 3});
  t.Add("Conv", {r, w}, {d});
  t.g.outputs = {d};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[0].GetInt("channels_last_output", 0), 1);
  EXPECT_EQ(t.g.nodes[0].GetInt("channels_last_input", 0), 0);
  EXPECT_EQ(t.g.nodes[1].op_type, "FusedConv");
  EXPECT_EQ(t.g.nodes[1].GetInt("channels_last_input", 0), 1);
  EXPECT_EQ(t.g.nodes[1].GetInt("channels_last_output", 0), 0);  // a graph output stays NCHW
}

TEST(ConvFusionTest, ValueReadByAnotherOpStaysNchwAndConvStaysPlain) {
  TestGraph t;
  const int c = t.Conv("c");
  const int e = t.Value("e"), d = t.Value("d");
  t.Add("Exp", {c}, {e});
  t.Add("Conv", {c, t.Value("w2", {4, 4, 3, 3})}, {d});
  t.g.outputs = {e, d};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  EXPECT_EQ(FindOp(t.g, "FusedConv"), nullptr);
  EXPECT_EQ(t.g.nodes[0].op_type, "Conv");
  EXPECT_EQ(t.g.nodes[0].domain, "");
}

// MobileNetV3's activations fold into the convolution that feeds them; HardSigmoid keeps its alpha and beta.
TEST(ConvFusionTest, HardSwishAndHardSigmoidFuse) {
  TestGraph t;
  const int c = t.Conv("c");
  const int h = t.Value("h");
  t.Add("HardSwish", {c}, {h}, 14);
  t.g.outputs = {h};
  ASSERT_TRUE(FuseConvActivations(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].GetString("activation", ""), "HardSwish");

  TestGraph u;
  const int c2 = u.Conv("c");
  const int s = u.Value("s");
  Node& sigmoid = u.Add("HardSigmoid", {c2}, {s}, 6);
  sigmoid.attributes["alpha"].type = Attribute::Type::kFloat;
  sigmoid.attributes["alpha"].f = 1.0f / 6.0f;
  u.g.outputs = {s};
  ASSERT_TRUE(FuseConvActivations(u.g).ok());
  ASSERT_EQ(u.g.nodes.size(), 1u);
  EXPECT_EQ(u.g.nodes[0].GetString("activation", ""), "HardSigmoid");
  EXPECT_EQ(u.g.nodes[0].GetFloat("activation_alpha", 0), 1.0f / 6.0f);
  EXPECT_EQ(u.g.nodes[0].GetFloat("activation_beta", 0), 0.5f);  // the ONNX default
}

// A detection head: 1x1 conv -> Sigmoid whose output is a graph output (the detector's heatmap) becomes
// one FusedConv, and matches node by node with pre-activations spread over [-16, 16] (both tails of the
// logistic, where exp(-v) would overflow for a naive formula at large |v|).
TEST(ConvFusionTest, SigmoidHeadFusesAndMatchesNodeByNode) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 8, h = 7;
  std::vector<float> w = random(4 * c);
  for (float& f : w) f *= 4.0f;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, c, h, h});
  b.Output("y", DType::kFloat32, {-1, 4, h, h});
  b.Initializer("w", w, {4, c, 1, 1});
  b.Initializer("b", random(4), {4});
  b.Node("Conv", {"x", "w", "b"}, {"logits"});
  b.Node("Sigmoid", {"logits"}, {"y"});
  const std::string path = b.WriteTemp();

  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  ASSERT_EQ(model->graph->nodes.size(), 1u);
  EXPECT_EQ(model->graph->nodes[0].op_type, "FusedConv");
  EXPECT_EQ(model->graph->nodes[0].GetString("activation", ""), "Sigmoid");
  ExpectPassesMatchNodeByNode(path, c, h, {1, 3}, [&](int64_t n) { return Shape{n, 4, h, h}; }, random);
}

// End to end: a MobileNetV3 block (3x3 conv -> HardSwish, depthwise 3x3 -> HardSwish, squeeze-excitation
// GlobalAveragePool -> 1x1 -> Relu -> 1x1 -> HardSigmoid -> Mul, then a 1x1 projection plus the residual)
// with the passes against node by node. Weights are scaled so activations land on every HardSwish and
// HardSigmoid segment (below -3, between, above 3).
// The block's squeeze-excitation Mul runs channels-last whichever input order it has (torchvision
// exports scale * input).
void CheckMobileNetV3Block(bool scale_first) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 16, sq = 8, h = 6;
  auto scaled = [&](size_t n, float by) {
    std::vector<float> v = random(n);
    for (float& f : v) f *= by;
    return v;
  };
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, c, h, h});
  b.Output("y", DType::kFloat32, {-1, c, h, h});
  b.Initializer("w0", scaled(c * c * 9, 0.8f), {c, c, 3, 3});
  b.Initializer("b0", scaled(c, 2.0f), {c});
  b.Initializer("wd", scaled(c * 9, 1.0f), {c, 1, 3, 3});
  b.Initializer("w1", scaled(sq * c, 1.0f), {sq, c, 1, 1});
  b.Initializer("w2", scaled(c * sq, 3.0f), {c, sq, 1, 1});
  b.Initializer("b2", scaled(c, 3.0f), {c});
  b.Initializer("w3", scaled(c * c, 0.5f), {c, c, 1, 1});
  auto& conv0 = b.Node("Conv", {"x", "w0", "b0"}, {"c0"});
  testing::OnnxBuilder::IntsAttribute(conv0, "pads", {1, 1, 1, 1});
  b.Node("HardSwish", {"c0"}, {"h0"});
  auto& dw = b.Node("Conv", {"h0", "wd"}, {"d"});
  testing::OnnxBuilder::IntsAttribute(dw, "pads", {1, 1, 1, 1});
  testing::OnnxBuilder::IntAttribute(dw, "group", c);
  b.Node("HardSwish", {"d"}, {"h1"});
  b.Node("GlobalAveragePool", {"h1"}, {"g"});
  b.Node("Conv", {"g", "w1"}, {"s1"});
  b.Node("Relu", {"s1"}, {"r1"});
  b.Node("Conv", {"r1", "w2", "b2"}, {"s2"});
  auto& gate = b.Node("HardSigmoid", {"s2"}, {"s"});
  testing::OnnxBuilder::FloatAttribute(gate, "alpha", 1.0f / 6.0f);
  if (scale_first)
    b.Node("Mul", {"s", "h1"}, {"m"});
  else
    b.Node("Mul", {"h1", "s"}, {"m"});
  b.Node("Conv", {"m", "w3"}, {"p"});
  b.Node("Add", {"p", "x"}, {"y"});
  const std::string path = b.WriteTemp();

  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  EXPECT_EQ(FindOp(*model->graph, "HardSwish"), nullptr);
  EXPECT_EQ(FindOp(*model->graph, "HardSigmoid"), nullptr);
  // The squeeze-excitation chain (pool, two 1x1 convs, Mul) is one node reading the image channels-last.
  const Node* se = FindOp(*model->graph, kChannelsLastSqueezeExcitation);
  ASSERT_NE(se, nullptr);
  EXPECT_EQ(model->graph->value(se->inputs[0]).name, "h1");
  EXPECT_EQ(se->GetString("squeeze_activation", ""), "Relu");
  EXPECT_EQ(se->GetString("gate_activation", ""), "HardSigmoid");
  EXPECT_EQ(se->GetFloat("gate_activation_alpha", 0), 1.0f / 6.0f);
  EXPECT_EQ(FindOp(*model->graph, kChannelsLastChannelScale), nullptr);
  EXPECT_EQ(FindOp(*model->graph, kChannelsLastGlobalAveragePool), nullptr);
  ExpectPassesMatchNodeByNode(path, c, h, {1, 2}, [&](int64_t n) { return Shape{n, c, h, h}; }, random);
}

TEST(ConvFusionTest, MobileNetV3BlockMatchesNodeByNode) { CheckMobileNetV3Block(false); }

TEST(ConvFusionTest, MobileNetV3BlockWithScaleFirstMatchesNodeByNode) { CheckMobileNetV3Block(true); }

// A Mul whose "scale" would broadcast the image's batch, or whose output a graph output is, keeps NCHW.
TEST(ConvFusionTest, ChannelScaleMulThatBroadcastsTheBatchStaysPlain) {
  TestGraph t;
  const int c = t.Conv("c");                                   // [1, 4, 5, 5]
  const int s = t.Value("s", {2, 4, 1, 1}), m = t.Value("m", {2, 4, 5, 5}), d = t.Value("d", {2, 4, 5, 5});
  t.Add("Mul", {c, s}, {m});
  t.Add("Conv", {m, t.Value("w2", {4, 4, 3, 3})}, {d});
  t.g.outputs = {d};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  EXPECT_EQ(FindOp(t.g, kChannelsLastChannelScale), nullptr);
  EXPECT_NE(FindOp(t.g, "Mul"), nullptr);
}

// The addend is read in its reader's output layout: a conv output that is the addend of a node whose
// result is a graph output (NCHW) must stay NCHW too, even though only convolutions read it.
TEST(ConvFusionTest, AddendFollowsItsReadersOutputLayout) {
  TestGraph t;
  const int a = t.Conv("a");
  const int b = t.Value("b"), s = t.Value("s");
  t.Add("Conv", {a, t.Value("w2", {4, 4, 3, 3})}, {b});
  t.Add("Add", {b, a}, {s});
  t.g.outputs = {s};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[1].inputs.size(), 4u);
  EXPECT_EQ(t.g.nodes[0].op_type, "Conv");  // no channels-last side left: reverted
  EXPECT_EQ(t.g.nodes[1].GetInt("channels_last_input", 0), 0);
}

// End to end: conv3x3 -> conv3x3 + (first conv's output) -> Relu -> conv1x1 -> Clip, so values cross
// node boundaries channels-last (also as an addend) and the pointwise conv reads NHWC and writes NCHW;
// with the passes against without them.
TEST(ConvFusionTest, FusedSessionMatchesNodeByNode) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 16, h = 9;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {2, c, h, h});
  b.Output("y", DType::kFloat32, {2, c, h, h});
  b.Initializer("w1", random(c * c * 9), {c, c, 3, 3});
  b.Initializer("b1", random(c), {c});
  b.Initializer("w2", random(c * c), {c, c, 1, 1});
  b.Initializer("lo", {0.0f}, {});
  b.Initializer("hi", {0.5f}, {});
  b.Initializer("w0", random(c * c * 9), {c, c, 3, 3});
  auto& conv0 = b.Node("Conv", {"x", "w0"}, {"c0"});
  testing::OnnxBuilder::IntsAttribute(conv0, "pads", {1, 1, 1, 1});
  auto& conv1 = b.Node("Conv", {"c0", "w1", "b1"}, {"c1"});
  testing::OnnxBuilder::IntsAttribute(conv1, "pads", {1, 1, 1, 1});
  b.Node("Add", {"c1", "c0"}, {"s"});
  b.Node("Relu", {"s"}, {"r"});
  b.Node("Conv", {"r", "w2"}, {"c2"});
  b.Node("Clip", {"c2", "lo", "hi"}, {"y"});
  const std::string path = b.WriteTemp();

  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  ASSERT_EQ(model->graph->nodes.size(), 3u);
  EXPECT_EQ(model->graph->nodes[0].GetInt("channels_last_output", 0), 1);
  EXPECT_EQ(model->graph->nodes[1].GetInt("channels_last_output", 0), 1);
  EXPECT_EQ(model->graph->nodes[2].GetInt("channels_last_input", 0), 1);

  const Tensor x = Tensor::FromVector<float>(DType::kFloat32, {2, c, h, h}, random(2 * c * h * h));
  std::vector<Tensor> results;
  for (bool optimize : {false, true}) {
    SessionOptions options;
    options.optimize = optimize;
    auto session = Session::Load(path, options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto out = (*session)->Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    results.push_back((*out)[0]);
  }
  for (int64_t i = 0; i < results[0].element_count(); ++i)
    ASSERT_NEAR(results[0].data<float>()[i], results[1].data<float>()[i], 1e-4f) << "element " << i;
}

// Conv -> MaxPool -> Conv (ResNet's stem): the pool passes the channels-last layout through, so neither
// side is reordered; a MaxPool whose output a non-convolution reads keeps NCHW and its ONNX name.
TEST(ConvFusionTest, MaxPoolBetweenConvsRunsChannelsLast) {
  TestGraph t;
  const int c = t.Conv("c");
  const int p = t.Value("p", {1, 4, 3, 3}), d = t.Value("d", {1, 4, 3, 3});
  auto& pool = t.Add("MaxPool", {c}, {p}, 12);
  pool.attributes["kernel_shape"].type = Attribute::Type::kInts;
  pool.attributes["kernel_shape"].ints = {3, 3};
  t.Add("Conv", {p, t.Value("w2", {4, 4, 3, 3})}, {d});
  t.g.outputs = {d};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 3u);
  EXPECT_EQ(t.g.nodes[0].GetInt("channels_last_output", 0), 1);
  EXPECT_EQ(t.g.nodes[1].op_type, kChannelsLastMaxPool);
  EXPECT_EQ(t.g.nodes[1].domain, kTesseraDomain);
  EXPECT_EQ(t.g.nodes[2].GetInt("channels_last_input", 0), 1);

  TestGraph u;
  const int c2 = u.Conv("c");
  const int p2 = u.Value("p", {1, 4, 3, 3}), e = u.Value("e", {1, 4, 3, 3});
  u.Add("MaxPool", {c2}, {p2}, 12);
  u.Add("Exp", {p2}, {e});
  u.g.outputs = {e};
  ASSERT_TRUE(RunConvFusion(u.g).ok());
  EXPECT_EQ(FindOp(u.g, kChannelsLastMaxPool), nullptr);
  EXPECT_EQ(FindOp(u.g, "FusedConv"), nullptr);
}

// End to end: conv -> MaxPool(3x3, stride 2, pad 1) -> conv with the passes (NHWC through the pool) against
// the node-by-node session, at two batch sizes of one session.
TEST(ConvFusionTest, ChannelsLastMaxPoolMatchesNodeByNode) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 16, h = 11, ph = 6;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, c, h, h});
  b.Output("y", DType::kFloat32, {-1, c, ph, ph});
  b.Initializer("w0", random(c * c * 9), {c, c, 3, 3});
  b.Initializer("w1", random(c * c * 9), {c, c, 3, 3});
  auto& conv0 = b.Node("Conv", {"x", "w0"}, {"c0"});
  testing::OnnxBuilder::IntsAttribute(conv0, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c0"}, {"r0"});
  auto& pool = b.Node("MaxPool", {"r0"}, {"p"});
  testing::OnnxBuilder::IntsAttribute(pool, "kernel_shape", {3, 3});
  testing::OnnxBuilder::IntsAttribute(pool, "strides", {2, 2});
  testing::OnnxBuilder::IntsAttribute(pool, "pads", {1, 1, 1, 1});
  auto& conv1 = b.Node("Conv", {"p", "w1"}, {"y"});
  testing::OnnxBuilder::IntsAttribute(conv1, "pads", {1, 1, 1, 1});
  ExpectPassesMatchNodeByNode(b.WriteTemp(), c, h, {2, 3}, [&](int64_t n) { return Shape{n, c, ph, ph}; }, random);
}

// A feature pyramid (DBNet's neck): a coarse map upsampled by nearest Resize (asymmetric, and half_pixel)
// into a lateral 1x1's sum, smoothed, then concatenated along the channels with another upsampled map and
// read by a 3x3 head. With the passes every value between convolutions stays channels-last: both Resize
// nodes and the Concat run as their com.tessera channels-last forms, and the result matches node by node.
// The batch is static, as in exported detectors (with a symbolic one, shape inference names each Resize
// output's batch anew, and the Add then does not fuse).
TEST(ConvFusionTest, FeaturePyramidResizeAndConcatRunChannelsLast) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 16, h = 8, q = 8, out_c = 4;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, c, h, h});
  b.Output("y", DType::kFloat32, {1, out_c, h, h});
  b.Initializer("w_down", random(q * c * 9), {q, c, 3, 3});
  b.Initializer("w_lat", random(q * c), {q, c, 1, 1});
  b.Initializer("w_smooth", random(q * q * 9), {q, q, 3, 3});
  b.Initializer("w_head", random(out_c * 2 * q * 9), {out_c, 2 * q, 3, 3});
  b.Initializer("scales", {1.0f, 1.0f, 2.0f, 2.0f}, {4});
  auto& down = b.Node("Conv", {"x", "w_down"}, {"coarse"});
  testing::OnnxBuilder::IntsAttribute(down, "pads", {1, 1, 1, 1});
  testing::OnnxBuilder::IntsAttribute(down, "strides", {2, 2});
  b.Node("Conv", {"x", "w_lat"}, {"lateral"});
  auto& up = b.Node("Resize", {"coarse", "", "scales"}, {"up"});
  testing::SetStringAttribute(up, "mode", "nearest");
  testing::SetStringAttribute(up, "coordinate_transformation_mode", "asymmetric");
  testing::SetStringAttribute(up, "nearest_mode", "floor");
  b.Node("Add", {"lateral", "up"}, {"merged"});
  auto& smooth = b.Node("Conv", {"merged", "w_smooth"}, {"smoothed"});
  testing::OnnxBuilder::IntsAttribute(smooth, "pads", {1, 1, 1, 1});
  auto& up_again = b.Node("Resize", {"coarse", "", "scales"}, {"up_again"});
  testing::SetStringAttribute(up_again, "mode", "nearest");  // half_pixel, round_prefer_floor: the defaults
  auto& cat = b.Node("Concat", {"smoothed", "up_again"}, {"cat"});
  testing::OnnxBuilder::IntAttribute(cat, "axis", 1);
  auto& head = b.Node("Conv", {"cat", "w_head"}, {"y"});
  testing::OnnxBuilder::IntsAttribute(head, "pads", {1, 1, 1, 1});
  const std::string path = b.WriteTemp();

  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  int resizes = 0;
  for (const Node& n : model->graph->nodes) {
    EXPECT_NE(n.op_type, "Resize");
    if (n.op_type == kChannelsLastResize) {
      ++resizes;
      EXPECT_EQ(n.GetInt("onnx_opset", 0), 17);
    }
  }
  EXPECT_EQ(resizes, 2);
  EXPECT_NE(FindOp(*model->graph, kChannelsLastConcat), nullptr);
  EXPECT_EQ(FindOp(*model->graph, "Concat"), nullptr);
  ExpectPassesMatchNodeByNode(path, c, h, {1}, [&](int64_t n) { return Shape{n, out_c, h, h}; }, random);
}

// A Concat with one input that is not a convolution's output (here the graph input) keeps NCHW, and so
// do its other inputs' producers' outputs; a Resize whose output a non-convolution reads stays plain.
TEST(ConvFusionTest, ConcatWithAPlainInputAndResizeReadByExpStayPlain) {
  TestGraph t;
  const int c = t.Conv("c");  // [1, 4, 5, 5] from x
  const int cat = t.Value("cat", {1, 8, 5, 5}), d = t.Value("d", {1, 4, 5, 5});
  auto& concat = t.Add("Concat", {c, t.g.value_ids.at("x")}, {cat});
  concat.attributes["axis"].type = Attribute::Type::kInt;
  concat.attributes["axis"].i = 1;
  t.Add("Conv", {cat, t.Value("w2", {4, 8, 3, 3})}, {d});
  t.g.outputs = {d};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  EXPECT_EQ(FindOp(t.g, kChannelsLastConcat), nullptr);
  EXPECT_EQ(t.g.nodes[0].GetInt("channels_last_output", 0), 0);

  TestGraph u;
  const int c2 = u.Conv("c");
  const int r = u.Value("r", {1, 4, 10, 10}), e = u.Value("e", {1, 4, 10, 10});
  u.Add("Resize", {c2, kNoValue, u.Value("scales", {4})}, {r});
  u.Add("Exp", {r}, {e});
  u.g.outputs = {e};
  ASSERT_TRUE(RunConvFusion(u.g).ok());
  EXPECT_EQ(FindOp(u.g, kChannelsLastResize), nullptr);
  EXPECT_NE(FindOp(u.g, "Resize"), nullptr);
}

// Conv -> GlobalAveragePool (ResNet's head): the conv writes NHWC and the pool reads it as such; its
// [N, C, 1, 1] output is the same in either order. A pool whose input is also read by a non-convolution
// keeps NCHW and its ONNX name.
TEST(ConvFusionTest, GlobalAveragePoolReadsChannelsLast) {
  TestGraph t;
  const int c = t.Conv("c");
  const int d = t.Value("d", {1, 4, 5, 5}), g = t.Value("g", {1, 4, 1, 1});
  t.Add("Conv", {c, t.Value("w2", {4, 4, 3, 3})}, {d});
  t.Add("GlobalAveragePool", {d}, {g}, 1);
  t.g.outputs = {g};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 3u);
  EXPECT_EQ(t.g.nodes[1].GetInt("channels_last_output", 0), 1);
  EXPECT_EQ(t.g.nodes[2].op_type, kChannelsLastGlobalAveragePool);
  EXPECT_EQ(t.g.nodes[2].domain, kTesseraDomain);

  TestGraph u;
  const int c2 = u.Conv("c");
  const int g2 = u.Value("g", {1, 4, 1, 1}), e = u.Value("e", {1, 4, 5, 5});
  u.Add("GlobalAveragePool", {c2}, {g2}, 1);
  u.Add("Exp", {c2}, {e});
  u.g.outputs = {g2, e};
  ASSERT_TRUE(RunConvFusion(u.g).ok());
  EXPECT_EQ(FindOp(u.g, kChannelsLastGlobalAveragePool), nullptr);
}

// End to end: conv -> relu -> conv -> GlobalAveragePool with the passes (the pool reading NHWC) against
// the node-by-node session, at two batch sizes of one session.
TEST(ConvFusionTest, ChannelsLastGlobalAveragePoolMatchesNodeByNode) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 24, h = 7;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, c, h, h});
  b.Output("y", DType::kFloat32, {-1, c, 1, 1});
  b.Initializer("w0", random(c * c * 9), {c, c, 3, 3});
  b.Initializer("w1", random(c * c), {c, c, 1, 1});
  auto& conv0 = b.Node("Conv", {"x", "w0"}, {"c0"});
  testing::OnnxBuilder::IntsAttribute(conv0, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c0"}, {"r0"});
  b.Node("Conv", {"r0", "w1"}, {"c1"});
  b.Node("GlobalAveragePool", {"c1"}, {"y"});
  ExpectPassesMatchNodeByNode(b.WriteTemp(), c, h, {1, 3}, [&](int64_t n) { return Shape{n, c, 1, 1}; }, random);
}

// A convolution of `in` -> `out` channels with a k x k kernel (pads k/2) and stride `stride` from `x`; its
// output `name` has spatial size `hw`.
int ConvOf(TestGraph& t, int x, const std::string& name, int64_t in, int64_t out, int64_t k, int64_t stride,
           int64_t hw) {
  const int w = t.Value("w_" + name, {out, in, k, k});
  t.g.constants[w] = Tensor::FromVector<float>(DType::kFloat32, {out, in, k, k},
                                               std::vector<float>(static_cast<size_t>(out * in * k * k), 0.01f));
  const int y = t.Value(name, {1, out, hw, hw});
  Node& conv = t.Add("Conv", {x, w}, {y});
  Attribute ints;
  ints.type = Attribute::Type::kInts;
  ints.ints = {k / 2, k / 2, k / 2, k / 2};
  conv.attributes["pads"] = ints;
  ints.ints = {stride, stride};
  conv.attributes["strides"] = ints;
  return y;
}

// Between a 1x1 and a Winograd 3x3 convolution values are kept in nChw16c; next to a strided 3x3 (faster
// on NHWC) they stay NHWC, as does a value whose channels are not a multiple of 16.
TEST(ConvFusionTest, WinogradNeighboursShareTheBlockedLayout) {
  unsetenv("TESSERA_CONV_WINOGRAD");
  TestGraph t;
  const int x = t.Value("x", {1, 64, 16, 16});
  const int a = ConvOf(t, x, "a", 64, 64, 1, 1, 16);  // 1x1
  const int b = ConvOf(t, a, "b", 64, 64, 3, 1, 16);  // Winograd
  const int c = ConvOf(t, b, "c", 64, 64, 1, 1, 16);  // 1x1
  const int d = ConvOf(t, c, "d", 64, 64, 3, 2, 8);   // strided 3x3
  const int e = ConvOf(t, d, "e", 64, 72, 1, 1, 8);   // 1x1 to 72 channels
  const int f = ConvOf(t, e, "f", 72, 72, 1, 1, 8);   // 1x1
  t.g.outputs = {f};
  ASSERT_TRUE(RunConvFusion(t.g).ok());
  ASSERT_EQ(t.g.nodes.size(), 6u);
  auto layout_out = [&](size_t n) { return t.g.nodes[n].GetInt("channels_last_output", 0); };
  auto layout_in = [&](size_t n) { return t.g.nodes[n].GetInt("channels_last_input", 0); };
  EXPECT_EQ(layout_out(0), kBlockedLayout);  // a: 1x1 -> Winograd
  EXPECT_EQ(layout_in(1), kBlockedLayout);
  EXPECT_EQ(layout_out(1), kBlockedLayout);  // b: Winograd -> 1x1
  EXPECT_EQ(layout_in(2), kBlockedLayout);
  EXPECT_EQ(layout_out(2), kNhwcLayout);     // c: read by the strided 3x3
  EXPECT_EQ(layout_out(3), kNhwcLayout);     // d: written by it
  EXPECT_EQ(layout_out(4), kNhwcLayout);     // e: 72 channels
  EXPECT_EQ(layout_out(5), 0);               // f: a graph output
  (void)b, (void)c, (void)d, (void)e;

  // A 3x3 whose weights are not constant runs direct (Winograd packs from the constant): nothing blocked.
  TestGraph v;
  const int vx = v.Value("x", {1, 64, 16, 16});
  const int va = ConvOf(v, vx, "a", 64, 64, 1, 1, 16);
  const int vb = ConvOf(v, va, "b", 64, 64, 3, 1, 16);
  v.g.constants.erase(v.g.nodes[1].inputs[1]);
  v.g.outputs = {ConvOf(v, vb, "c", 64, 64, 1, 1, 16)};
  ASSERT_TRUE(RunConvFusion(v.g).ok());
  EXPECT_EQ(v.g.nodes[0].GetInt("channels_last_output", 0), kNhwcLayout);
  EXPECT_EQ(v.g.nodes[1].GetInt("channels_last_output", 0), kNhwcLayout);

  // 1x1 convolutions alone (MobileNetV2's expand and project) gain nothing blocked: NHWC.
  TestGraph u;
  const int ux = u.Value("x", {1, 64, 16, 16});
  const int ua = ConvOf(u, ux, "a", 64, 64, 1, 1, 16);
  const int ub = ConvOf(u, ua, "b", 64, 64, 1, 1, 16);
  u.g.outputs = {ConvOf(u, ub, "c", 64, 64, 1, 1, 16)};
  ASSERT_TRUE(RunConvFusion(u.g).ok());
  EXPECT_EQ(u.g.nodes[0].GetInt("channels_last_output", 0), kNhwcLayout);
  EXPECT_EQ(u.g.nodes[1].GetInt("channels_last_output", 0), kNhwcLayout);
}

// End to end, a bottleneck block with a projection shortcut as in ResNet: a 3x3 stem (NHWC), 1x1 reduce
// (NHWC in, nChw16c out), Winograd 3x3, 1x1 expand plus the projected shortcut (an nChw16c addend), then
// a global average pool reading nChw16c; against the node-by-node session at two batch sizes.
TEST(ConvFusionTest, BlockedBottleneckMatchesNodeByNode) {
  unsetenv("TESSERA_CONV_WINOGRAD");
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 64, h = 14;
  auto weights = [&](int64_t out, int64_t in, int64_t k) {
    std::vector<float> w = random(static_cast<size_t>(out * in * k * k));
    for (float& v : w) v *= 1.0f / std::sqrt(static_cast<float>(in * k * k));
    return w;
  };
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, 16, h, h});
  b.Output("y", DType::kFloat32, {-1, 2 * c, 1, 1});
  b.Initializer("w0", weights(c, 16, 3), {c, 16, 3, 3});
  b.Initializer("w1", weights(c, c, 1), {c, c, 1, 1});
  b.Initializer("w2", weights(c, c, 3), {c, c, 3, 3});
  b.Initializer("b2", random(c), {c});
  b.Initializer("w3", weights(2 * c, c, 1), {2 * c, c, 1, 1});
  b.Initializer("wp", weights(2 * c, c, 1), {2 * c, c, 1, 1});
  auto& stem = b.Node("Conv", {"x", "w0"}, {"s0"});
  testing::OnnxBuilder::IntsAttribute(stem, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"s0"}, {"r0"});
  b.Node("Conv", {"r0", "w1"}, {"c1"});
  b.Node("Relu", {"c1"}, {"r1"});
  auto& wino = b.Node("Conv", {"r1", "w2", "b2"}, {"c2"});
  testing::OnnxBuilder::IntsAttribute(wino, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c2"}, {"r2"});
  b.Node("Conv", {"r2", "w3"}, {"c3"});
  b.Node("Conv", {"r0", "wp"}, {"p"});
  b.Node("Add", {"c3", "p"}, {"s"});
  b.Node("Relu", {"s"}, {"r3"});
  b.Node("GlobalAveragePool", {"r3"}, {"y"});
  const std::string path = b.WriteTemp();
  // The layouts this test is about.
  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  int blocked_outputs = 0;
  for (const Node& n : model->graph->nodes) blocked_outputs += n.GetInt("channels_last_output", 0) == kBlockedLayout;
  EXPECT_EQ(blocked_outputs, 4);  // r1, r2, p, r3
  const Node* pool = FindOp(*model->graph, kChannelsLastGlobalAveragePool);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->GetInt("channels_last_input", 0), kBlockedLayout);
  ExpectPassesMatchNodeByNode(path, 16, h, {1, 3}, [&](int64_t n) { return Shape{n, 2 * c, 1, 1}; }, random);
}

// The layout attributes are the layout pass's; a model that sets nChw16c itself where the channels are not
// a multiple of 16 gets an error naming the shapes, not a read past the tensor (FusedConv and the pool).
TEST(ConvFusionTest, BlockedLayoutOnChannelsNotAMultipleOf16IsAnError) {
  for (const bool pool : {false, true}) {
    SCOPED_TRACE(pool ? "GlobalAveragePoolChannelsLast" : "FusedConv");
    testing::OnnxBuilder b;
    auto* domain = b.proto().add_opset_import();
    domain->set_domain(kTesseraDomain);
    domain->set_version(kTesseraOpset);
    b.Input("x", DType::kFloat32, {1, 8, 4, 4});
    b.Output("y", DType::kFloat32, pool ? Shape{1, 8, 1, 1} : Shape{1, 8, 4, 4});
    b.Initializer("w", std::vector<float>(64, 0.5f), {8, 8, 1, 1});
    auto& node = pool ? b.Node(kChannelsLastGlobalAveragePool, {"x"}, {"y"}) : b.Node("FusedConv", {"x", "w"}, {"y"});
    node.set_domain(kTesseraDomain);
    testing::OnnxBuilder::IntAttribute(node, "channels_last_input", kBlockedLayout);
    SessionOptions options;
    options.optimize = false;
    auto session = Session::Load(b.WriteTemp(), options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto out = (*session)->Run({{"x", Tensor::FromVector<float>(DType::kFloat32, {1, 8, 4, 4}, std::vector<float>(128, 1.0f))}});
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.status().message().find("multiple"), std::string::npos) << out.status().message();
    EXPECT_NE(out.status().message().find("[1,8,4,4]"), std::string::npos) << out.status().message();
  }
}

// A FusedConv accumulates into its residual addend in place only when it is the addend's last reader:
// here c0 is the addend of the fused conv and read again afterwards, so it must come through unchanged.
// Also covers the in-place case (the second fused conv is the last reader of s). Against node by node.
TEST(ConvFusionTest, AddendReadLaterIsNotOverwritten) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 16, h = 7;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {2, c, h, h});
  b.Output("y", DType::kFloat32, {2, c, h, h});
  for (const char* w : {"w0", "w1", "w2"}) b.Initializer(w, random(c * c * 9), {c, c, 3, 3});
  auto conv = [&](const char* out, const char* in, const char* w) {
    auto& node = b.Node("Conv", {in, w}, {out});
    testing::OnnxBuilder::IntsAttribute(node, "pads", {1, 1, 1, 1});
  };
  conv("c0", "x", "w0");
  conv("c1", "c0", "w1");
  b.Node("Add", {"c1", "c0"}, {"s"});  // c0 is read again below
  conv("c2", "s", "w2");
  b.Node("Add", {"c2", "s"}, {"t"});  // the last reader of s
  b.Node("Add", {"t", "c0"}, {"y"});
  const std::string path = b.WriteTemp();
  const Tensor x = Tensor::FromVector<float>(DType::kFloat32, {2, c, h, h}, random(2 * c * h * h));
  std::vector<Tensor> results;
  for (bool optimize : {false, true}) {
    SessionOptions options;
    options.optimize = optimize;
    options.threads = 1;
    auto session = Session::Load(path, options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    for (int run = 0; run < 2; ++run) {
      auto out = (*session)->Run({{"x", x}});
      ASSERT_TRUE(out.ok()) << out.status().message();
      results.push_back((*out)[0]);
    }
  }
  for (size_t r = 1; r < results.size(); ++r) {
    for (int64_t i = 0; i < results[0].element_count(); ++i)
      ASSERT_NEAR(results[0].data<float>()[i], results[r].data<float>()[i], 1e-3f) << "run " << r << " element " << i;
  }
}

// Conv -> BatchNormalization -> Relu becomes one FusedConv with folded weights; a BatchNormalization whose
// input is also read elsewhere stays. Both against the node-by-node session on seeded random data.
// ConvTranspose -> BatchNormalization (DBNet's head: 2x2 stride-2 upsampling, then BN and Relu): the BN
// folds into the ConvTranspose's weights along their second axis (output channels, 5 here against 8 input
// channels, so a wrong axis shows) and the result matches node by node.
TEST(ConvFusionTest, BatchNormFoldsIntoConvTransposeAndMatchesNodeByNode) {
  RandomFloats random;
  SCOPED_TRACE(random.trace());
  const int64_t c = 8, m = 5, h = 6;
  std::vector<float> var = random(m);
  for (float& v : var) v = 0.5f + std::fabs(v);
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, c, h, h});
  b.Output("y", DType::kFloat32, {1, m, 2 * h, 2 * h});
  b.Initializer("w", random(c * m * 4), {c, m, 2, 2});
  b.Initializer("wb", random(m), {m});
  for (const char* name : {"scale", "shift", "mean"}) b.Initializer(name, random(m), {m});
  b.Initializer("var", var, {m});
  auto& up = b.Node("ConvTranspose", {"x", "w", "wb"}, {"u"});
  testing::OnnxBuilder::IntsAttribute(up, "kernel_shape", {2, 2});
  testing::OnnxBuilder::IntsAttribute(up, "strides", {2, 2});
  b.Node("BatchNormalization", {"u", "scale", "shift", "mean", "var"}, {"n"});
  b.Node("Relu", {"n"}, {"y"});
  const std::string path = b.WriteTemp();

  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  ASSERT_EQ(model->graph->nodes.size(), 2u);
  EXPECT_EQ(model->graph->nodes[0].op_type, "ConvTranspose");
  EXPECT_EQ(model->graph->nodes[1].op_type, "Relu");
  ExpectPassesMatchNodeByNode(path, c, h, {1}, [&](int64_t n) { return Shape{n, m, 2 * h, 2 * h}; }, random);
}

TEST(ConvFusionTest, BatchNormFoldsIntoConvAndMatchesNodeByNode) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f), positive(0.5f, 2.0f);
  auto random = [&](size_t n, bool pos = false) {
    std::vector<float> v(n);
    for (float& f : v) f = pos ? positive(rng) : dist(rng);
    return v;
  };
  const int64_t c = 8, h = 7;
  testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, c, h, h});
  b.Output("y", DType::kFloat32, {1, c, h, h});
  b.Output("e", DType::kFloat32, {1, c, h, h});
  b.Initializer("w", random(c * c * 9), {c, c, 3, 3});
  b.Initializer("wb", random(c), {c});
  for (const char* name : {"scale", "shift", "mean"}) b.Initializer(name, random(c), {c});
  b.Initializer("var", random(c, true), {c});
  auto& conv = b.Node("Conv", {"x", "w", "wb"}, {"c"});
  testing::OnnxBuilder::IntsAttribute(conv, "pads", {1, 1, 1, 1});
  auto& bn = b.Node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"n"});
  testing::OnnxBuilder::FloatAttribute(bn, "epsilon", 1e-3f);
  b.Node("Relu", {"n"}, {"r"});
  auto& conv2 = b.Node("Conv", {"r", "w"}, {"c2"});  // its output is also read by Exp: no folding
  testing::OnnxBuilder::IntsAttribute(conv2, "pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", {"c2", "scale", "shift", "mean", "var"}, {"y"});
  b.Node("Exp", {"c2"}, {"e"});
  const std::string path = b.WriteTemp();

  auto model = LoadModelFromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(RunConvFusion(*model->graph).ok());
  ASSERT_EQ(model->graph->nodes.size(), 4u);
  EXPECT_EQ(model->graph->nodes[0].op_type, "FusedConv");
  EXPECT_EQ(model->graph->nodes[2].op_type, "BatchNormalization");

  const Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, c, h, h}, random(c * h * h));
  std::vector<std::vector<Tensor>> results;
  for (bool optimize : {false, true}) {
    SessionOptions options;
    options.optimize = optimize;
    auto session = Session::Load(path, options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto out = (*session)->Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    results.push_back(*out);
  }
  for (size_t o = 0; o < 2; ++o) {
    for (int64_t i = 0; i < results[0][o].element_count(); ++i) {
      const float want = results[0][o].data<float>()[i];
      ASSERT_NEAR(want, results[1][o].data<float>()[i], 1e-4f * (1 + std::fabs(want)))
          << "output " << o << " element " << i;
    }
  }
}

}  // namespace
}  // namespace tessera
