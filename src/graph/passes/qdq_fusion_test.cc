// FuseQdq and the int8 kernels it hands work to: which QDQ graphs become QuantizedConv/QuantizedMatMul
// (and which stay as written), and the fused models' numbers against the same model run unfused
// (SessionOptions::optimize = false runs every QuantizeLinear/DequantizeLinear as written, the reference).
// Inputs are seeded random; the seed is printed on failure.
#include "graph/passes/qdq_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "model/onnx_loader.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// Builds QDQ models the way `tessera quantize --mode static` writes them.
class QdqModel {
 public:
  explicit QdqModel(unsigned seed) : rng_(seed) {}

  OnnxBuilder& builder() { return b_; }

  std::vector<float> Random(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng_);
    return v;
  }

  void Constant(const std::string& name, const Tensor& t) {
    testing::SetTensorProto(b_.graph().add_initializer(), name, t);
  }

  // name_dq = DequantizeLinear(QuantizeLinear(x, s, zp)): uint8 with a zero point, or int8 with zp 0.
  std::string QuantizeActivation(const std::string& x, float scale, int zero_point, bool int8 = false) {
    Constant(x + "_s", Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{scale}));
    if (int8) {
      Constant(x + "_zp", Tensor::FromVector(DType::kInt8, {}, std::vector<int8_t>{static_cast<int8_t>(zero_point)}));
    } else {
      Constant(x + "_zp",
               Tensor::FromVector(DType::kUInt8, {}, std::vector<uint8_t>{static_cast<uint8_t>(zero_point)}));
    }
    b_.Node("QuantizeLinear", {x, x + "_s", x + "_zp"}, {x + "_q"});
    b_.Node("DequantizeLinear", {x + "_q", x + "_s", x + "_zp"}, {x + "_dq"});
    return x + "_dq";
  }

  // An int8 weight of `dims` with one scale per index of `axis` (or one for all when axis < 0), zero
  // points `zero_point`, dequantized into name_dq.
  std::string Weight(const std::string& name, const Shape& dims, int64_t axis, int8_t zero_point = 0) {
    const int64_t count = ShapeElementCount(dims), channels = axis < 0 ? 1 : dims[static_cast<size_t>(axis)];
    std::uniform_int_distribution<int> code(-127, 127);
    std::vector<int8_t> w(static_cast<size_t>(count));
    for (int8_t& v : w) v = static_cast<int8_t>(code(rng_));
    Constant(name + "_q", Tensor::FromVector(DType::kInt8, dims, w));
    const Shape pd = axis < 0 ? Shape{} : Shape{channels};
    Constant(name + "_s",
             Tensor::FromVector(DType::kFloat32, pd, Random(static_cast<size_t>(channels), 0.002f, 0.01f)));
    Constant(name + "_zp",
             Tensor::FromVector(DType::kInt8, pd, std::vector<int8_t>(static_cast<size_t>(channels), zero_point)));
    auto& n = b_.Node("DequantizeLinear", {name + "_q", name + "_s", name + "_zp"}, {name + "_dq"});
    if (axis >= 0) OnnxBuilder::IntAttribute(n, "axis", axis);
    return name + "_dq";
  }

  std::string Bias(const std::string& name, int64_t n) {
    Constant(name, Tensor::FromVector(DType::kFloat32, {n}, Random(static_cast<size_t>(n), -0.5f, 0.5f)));
    return name;
  }

  std::string Write() const { return b_.WriteTemp(); }

 private:
  std::mt19937 rng_;
  OnnxBuilder b_{17};
};

// The op types of the model at `path` after FuseQdq, in order.
std::string FusedOps(const std::string& path, int* fused) {
  auto model = LoadModelFromFile(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return "";
  EXPECT_TRUE(FuseQdq(*model->graph, fused).ok());
  std::string s;
  for (const Node& n : model->graph->nodes) s += (s.empty() ? "" : " ") + n.op_type;
  return s;
}

// Runs the model fused and unfused on `feeds`; returns both first outputs.
std::pair<Tensor, Tensor> RunBoth(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& feeds) {
  SessionOptions plain;
  plain.optimize = false;
  plain.threads = 1;
  SessionOptions fused;
  fused.threads = 2;
  auto a = Session::Load(path, fused);
  auto b = Session::Load(path, plain);
  EXPECT_TRUE(a.ok()) << a.status().message();
  EXPECT_TRUE(b.ok()) << b.status().message();
  if (!a.ok() || !b.ok()) return {};
  auto got = (*a)->Run(feeds);
  auto want = (*b)->Run(feeds);
  EXPECT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(want.ok()) << want.status().message();
  if (!got.ok() || !want.ok()) return {};
  return {(*got)[0], (*want)[0]};
}

// Quantized outputs may differ by one code where the float result sits within rounding of a halfway
// point (the fused kernel scales the int32 sum once; the reference sums dequantized floats): at most
// one code apart, and rarely.
template <typename Q>
void ExpectCodesAgree(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  int64_t off = 0;
  for (int64_t i = 0; i < got.element_count(); ++i) {
    const int d = std::abs(int{got.data<Q>()[i]} - int{want.data<Q>()[i]});
    ASSERT_LE(d, 1) << "at " << i;
    off += d;
  }
  EXPECT_LE(off, std::max<int64_t>(2, got.element_count() / 100)) << off << " codes off by one";
}

void ExpectFloatsNear(const Tensor& got, const Tensor& want, float tolerance) {
  ASSERT_EQ(got.dtype(), DType::kFloat32);
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.element_count(); ++i) {
    ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], tolerance) << "at " << i;
  }
}

Tensor RandomInput(QdqModel& m, const Shape& shape, float lo, float hi) {
  return Tensor::FromVector(DType::kFloat32, shape, m.Random(static_cast<size_t>(ShapeElementCount(shape)), lo, hi));
}

// Conv (3x3, pads, stride, per-channel weights, bias) -> Relu -> Q, then a depthwise Conv -> Clip -> Q
// (an int8 chain, NHWC between the two), then a 1x1 Conv whose result is added to a float value (the
// residual sum, taken in as the addend Z, which keeps the result float32) and quantized again: the output
// is uint8.
TEST(QdqFusionTest, ConvChainMatchesUnfusedGraph) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int64_t stride : {1, 2}) {
    QdqModel m(seed);
    OnnxBuilder& b = m.builder();
    b.Input("x", DType::kFloat32, {2, 8, 9, 9});
    const std::string xd = m.QuantizeActivation("x", 0.02f, 128);
    auto& c1 = b.Node("Conv", {xd, m.Weight("w1", {16, 8, 3, 3}, 0), m.Bias("b1", 16)}, {"c1"});
    OnnxBuilder::IntsAttribute(c1, "pads", {1, 1, 1, 1});
    OnnxBuilder::IntsAttribute(c1, "strides", {stride, stride});
    b.Node("Relu", {"c1"}, {"r1"});
    const std::string r1 = m.QuantizeActivation("r1", 0.01f, 0);
    auto& c2 = b.Node("Conv", {r1, m.Weight("w2", {16, 1, 3, 3}, 0), m.Bias("b2", 16)}, {"c2"});
    OnnxBuilder::IntsAttribute(c2, "pads", {1, 1, 1, 1});
    OnnxBuilder::IntAttribute(c2, "group", 16);
    b.Initializer("lo", {0.0f}, {});
    b.Initializer("hi", {0.3f}, {});
    b.Node("Clip", {"c2", "lo", "hi"}, {"r2"});
    const std::string r2 = m.QuantizeActivation("r2", 0.0025f, 3);
    b.Node("Conv", {r2, m.Weight("w3", {16, 16, 1, 1}, 0)}, {"c3"});
    b.Node("Add", {"c3", "r1"}, {"sum"});
    m.QuantizeActivation("sum", 0.02f, 100);
    b.Output("sum_q", DType::kUInt8, {});
    const std::string path = m.Write();
    int fused = 0;
    EXPECT_EQ(FusedOps(path, &fused),
              "QuantizeLinear QuantizedConv QuantizeLinear QuantizedConv QuantizedConv QuantizeLinear");
    EXPECT_EQ(fused, 3);
    const int64_t out = stride == 1 ? 9 : 5;
    auto [got, want] = RunBoth(path, {{"x", RandomInput(m, {2, 8, 9, 9}, -2.5f, 2.5f)}});
    ASSERT_EQ(got.shape(), Shape({2, 16, out, out}));
    ExpectCodesAgree<uint8_t>(got, want);
  }
}

// A ResNet downsampling block with a symbolic batch: the main Conv comes first in node order and takes
// the Add whose other input (the shortcut Conv) is computed after it, so the pass must re-sort; the
// shortcut Conv is fused on its own (float32 output) and the Relu after the sum goes into the main one.
TEST(QdqFusionTest, ResidualAddendFromALaterBranchIsSorted) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  QdqModel m(seed);
  OnnxBuilder& b = m.builder();
  b.Input("x", DType::kFloat32, {-1, 8, 6, 6});
  const std::string xd = m.QuantizeActivation("x", 0.02f, 128);
  auto& main = b.Node("Conv", {xd, m.Weight("wm", {16, 8, 3, 3}, 0), m.Bias("bm", 16)}, {"main"});
  OnnxBuilder::IntsAttribute(main, "pads", {1, 1, 1, 1});
  OnnxBuilder::IntsAttribute(main, "strides", {2, 2});
  auto& shortcut = b.Node("Conv", {xd, m.Weight("ws", {16, 8, 1, 1}, 0)}, {"shortcut"});
  OnnxBuilder::IntsAttribute(shortcut, "strides", {2, 2});
  b.Node("Add", {"main", "shortcut"}, {"sum"});
  b.Node("Relu", {"sum"}, {"y"});
  b.Output("y", DType::kFloat32, {-1, 16, 3, 3});
  const std::string path = m.Write();
  int fused = 0;
  EXPECT_EQ(FusedOps(path, &fused), "QuantizeLinear QuantizedConv QuantizedConv");
  EXPECT_EQ(fused, 2);
  auto [got, want] = RunBoth(path, {{"x", RandomInput(m, {3, 8, 6, 6}, -2.5f, 2.5f)}});
  ExpectFloatsNear(got, want, 1e-4f);
}

// MatMul on a 3-D activation with its bias Add and GELU folded in and the output quantized (an encoder's
// FFN), over uint8 (zero point 120) and int8 (zero point 0) inputs.
TEST(QdqFusionTest, MatMulBiasGeluMatchesUnfusedGraph) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (bool int8_input : {false, true}) {
    QdqModel m(seed);
    OnnxBuilder& b = m.builder();
    const int64_t k = 40, n = 24;
    b.Input("x", DType::kFloat32, {2, 5, k});
    const std::string xd = m.QuantizeActivation("x", 0.015f, int8_input ? 0 : 120, int8_input);
    b.Node("MatMul", {xd, m.Weight("w1", {k, n}, 1)}, {"h"});
    b.Node("Add", {"h", m.Bias("b1", n)}, {"z"});
    b.Initializer("sqrt2", {std::sqrt(2.0f)}, {});
    b.Initializer("one", {1.0f}, {});
    b.Initializer("half", {0.5f}, {});
    b.Node("Div", {"z", "sqrt2"}, {"d"});
    b.Node("Erf", {"d"}, {"e"});
    b.Node("Add", {"e", "one"}, {"p"});
    b.Node("Mul", {"z", "p"}, {"q"});
    b.Node("Mul", {"q", "half"}, {"g"});
    m.QuantizeActivation("g", 0.004f, 30);
    b.Output("g_q", DType::kUInt8, {});
    const std::string path = m.Write();
    int fused = 0;
    EXPECT_EQ(FusedOps(path, &fused), "QuantizeLinear QuantizedMatMul");
    auto [got, want] = RunBoth(path, {{"x", RandomInput(m, {2, 5, k}, -1.5f, 1.5f)}});
    ExpectCodesAgree<uint8_t>(got, want);
  }
}

// Gemm (transB, C, per-tensor weight scale) -> Relu -> Q; a MatMul whose weight has a
// non-zero zero point stays as written (oneDNN's int8 products take none) and still computes.
TEST(QdqFusionTest, GemmFusesAndWeightZeroPointIsLeftAlone) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  QdqModel m(seed);
  OnnxBuilder& b = m.builder();
  b.Input("x", DType::kFloat32, {3, 32});
  const std::string xd = m.QuantizeActivation("x", 0.01f, 128);
  auto& gemm = b.Node("Gemm", {xd, m.Weight("w1", {16, 32}, -1), m.Bias("c1", 16)}, {"h"});
  OnnxBuilder::IntAttribute(gemm, "transB", 1);
  b.Node("Relu", {"h"}, {"r"});
  const std::string rd = m.QuantizeActivation("r", 0.01f, 0);
  b.Node("MatMul", {rd, m.Weight("w2", {16, 8}, 1, /*zero_point=*/3)}, {"y"});
  b.Output("y", DType::kFloat32, {});
  const std::string path = m.Write();
  int fused = 0;
  // The Gemm takes the Relu and the QuantizeLinear; the MatMul reads its output through the DQ kept.
  EXPECT_EQ(FusedOps(path, &fused), "QuantizeLinear QuantizedMatMul DequantizeLinear DequantizeLinear MatMul");
  EXPECT_EQ(fused, 1);
  auto [got, want] = RunBoth(path, {{"x", RandomInput(m, {3, 32}, -1.2f, 1.2f)}});
  ExpectFloatsNear(got, want, 1e-3f);
}

// A product whose value has a second reader keeps that value: the Q after a Relu read twice stays a node.
TEST(QdqFusionTest, ActivationWithSecondReaderIsNotQuantizedInside) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  QdqModel m(seed);
  OnnxBuilder& b = m.builder();
  b.Input("x", DType::kFloat32, {1, 4, 5, 5});
  const std::string xd = m.QuantizeActivation("x", 0.02f, 128);
  b.Node("Conv", {xd, m.Weight("w", {6, 4, 1, 1}, 0)}, {"c"});
  b.Node("Relu", {"c"}, {"r"});
  m.QuantizeActivation("r", 0.01f, 0);
  b.Node("Sigmoid", {"r"}, {"s"});
  b.Node("Add", {"s", "r_dq"}, {"y"});
  b.Output("y", DType::kFloat32, {});
  const std::string path = m.Write();
  int fused = 0;
  EXPECT_EQ(FusedOps(path, &fused), "QuantizeLinear QuantizedConv QuantizeLinear DequantizeLinear Sigmoid Add");
  auto [got, want] = RunBoth(path, {{"x", RandomInput(m, {1, 4, 5, 5}, -2.0f, 2.0f)}});
  ExpectFloatsNear(got, want, 1e-5f);
}

// Dequantized codes (step `scale`) after several quantized steps (an attention block): a code flipped
// early moves later ones, so at most two codes apart and few off.
void ExpectCodesClose(const Tensor& got, const Tensor& want, float scale) {
  ASSERT_EQ(got.dtype(), DType::kFloat32);
  ASSERT_EQ(got.shape(), want.shape());
  int64_t off = 0;
  for (int64_t i = 0; i < got.element_count(); ++i) {
    const long d = std::lround(std::fabs(got.data<float>()[i] - want.data<float>()[i]) / scale);
    ASSERT_LE(d, 2) << "at " << i;
    off += d > 0;
  }
  EXPECT_LE(off, std::max<int64_t>(2, got.element_count() / 20)) << off << " codes off";
}

// An encoder's self-attention as `tessera quantize --mode static` writes it: the Q and K projections'
// QuantizeLinear sits after Reshape -> Transpose (and a Shape node reads the projection, as exports
// compute the Reshape's target from it), Q·Kᵀ is scaled by a Div, P·V goes through Transpose -> Reshape
// before its QuantizeLinear. Each Q moves up to its product, the projections become int8-output
// QuantizedMatMuls, Q·Kᵀ (with the Div) and P·V (with its Q) QuantizedActivationMatMuls, and only the
// graph output's DequantizeLinear is left; the output matches the graph run as written.
TEST(QdqFusionTest, AttentionProductsRunInInt8) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  QdqModel m(seed);
  OnnxBuilder& b = m.builder();
  const int64_t seq = 6, heads = 2, dh = 8, hidden = heads * dh;
  b.Input("x", DType::kFloat32, {1, seq, hidden});
  m.Constant("heads_shape", Tensor::FromVector(DType::kInt64, {4}, std::vector<int64_t>{1, seq, heads, dh}));
  m.Constant("hidden_shape", Tensor::FromVector(DType::kInt64, {3}, std::vector<int64_t>{1, seq, hidden}));
  const std::string xd = m.QuantizeActivation("x", 0.02f, 128);
  auto heads_of = [&](const std::string& name, const std::string& in, std::vector<int64_t> perm) {
    b.Node("Reshape", {in, "heads_shape"}, {name + "4"});
    OnnxBuilder::IntsAttribute(b.Node("Transpose", {name + "4"}, {name + "t"}), "perm", perm);
    return name + "t";
  };
  b.Node("MatMul", {xd, m.Weight("wq", {hidden, hidden}, 1)}, {"qp"});
  b.Node("Add", {m.Bias("bq", hidden), "qp"}, {"qb"});
  b.Node("Shape", {"qb"}, {"qb_shape"});
  const std::string qd = m.QuantizeActivation(heads_of("q", "qb", {0, 2, 1, 3}), 0.03f, 125);
  b.Node("MatMul", {xd, m.Weight("wk", {hidden, hidden}, 1)}, {"kp"});
  b.Node("Add", {"kp", m.Bias("bk", hidden)}, {"kb"});
  const std::string kd = m.QuantizeActivation(heads_of("k", "kb", {0, 2, 3, 1}), 0.03f, 131);
  b.Node("MatMul", {qd, kd}, {"s"});
  b.Initializer("sqrt_dh", {std::sqrt(static_cast<float>(dh))}, {});
  b.Node("Div", {"s", "sqrt_dh"}, {"sd"});
  OnnxBuilder::IntAttribute(b.Node("Softmax", {"sd"}, {"p"}), "axis", -1);
  const std::string pd = m.QuantizeActivation("p", 1.0f / 255, 0);
  const std::string vd = m.QuantizeActivation(heads_of("v", "x", {0, 2, 1, 3}), 0.02f, 128);
  b.Node("MatMul", {pd, vd}, {"c"});
  OnnxBuilder::IntsAttribute(b.Node("Transpose", {"c"}, {"ct"}), "perm", {0, 2, 1, 3});
  b.Node("Reshape", {"ct", "hidden_shape"}, {"cr"});
  m.QuantizeActivation("cr", 0.01f, 128);
  b.Output("cr_dq", DType::kFloat32, {});
  b.Output("qb_shape", DType::kInt64, {});
  const std::string path = m.Write();
  int fused = 0;
  const std::string ops = FusedOps(path, &fused);
  EXPECT_EQ(fused, 4) << ops;
  auto count = [&](const std::string& op) {
    size_t c = 0;
    for (size_t at = ops.find(op); at != std::string::npos; at = ops.find(op, at + op.size())) {
      c += (at == 0 || ops[at - 1] == ' ') && (at + op.size() == ops.size() || ops[at + op.size()] == ' ');
    }
    return c;
  };
  EXPECT_EQ(count("QuantizedMatMul"), 2u) << ops;
  EXPECT_EQ(count("QuantizedActivationMatMul"), 2u) << ops;
  EXPECT_EQ(count("DequantizeLinear"), 1u) << ops;  // the graph output's
  EXPECT_EQ(count("Div"), 0u) << ops;
  EXPECT_EQ(count("QuantizeLinear"), 3u) << ops;  // x, x again for V (moved above its Reshape), P
  auto [got, want] = RunBoth(path, {{"x", RandomInput(m, {1, seq, hidden}, -2.0f, 2.0f)}});
  ExpectCodesClose(got, want, 0.01f);
}

// The fused kernels refuse what the pass never writes but a hand-made model could: a non-constant scale.
TEST(QdqFusionTest, QuantizedConvWithoutConstantScaleFailsAtLoad) {
  OnnxBuilder b(17);
  auto* op = b.proto().add_opset_import();
  op->set_domain("com.tessera");
  op->set_version(1);
  b.Input("x", DType::kUInt8, {1, 2, 3, 3});
  b.Input("s", DType::kFloat32, {});
  testing::SetTensorProto(b.graph().add_initializer(), "w",
                          Tensor::FromVector(DType::kInt8, {2, 2, 1, 1}, std::vector<int8_t>{1, 2, 3, 4}));
  b.Initializer("ws", {0.1f}, {});
  b.Node("QuantizedConv", {"x", "s", "", "w", "ws"}, {"y"}).set_domain("com.tessera");
  b.Output("y", DType::kFloat32, {1, 2, 3, 3});
  auto session = Session::Load(b.WriteTemp());
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().message().find("x_scale must be a constant"), std::string::npos)
      << session.status().message();
}

}  // namespace
}  // namespace tessera
