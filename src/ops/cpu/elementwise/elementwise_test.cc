// Elementwise kernels through one-node models: broadcasting against an index-math reference over seeded
// random shapes (including the parallel path), scalars, empty tensors, integer division and wrapping,
// NaN handling, legacy (opset < 7) broadcasting, mixed-type Pow, Clip's two forms, Where over strings,
// and inputs that must fail with an error instead of crashing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "core/half.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"
#include "ops/registry.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;
using testing::F32;
using testing::I32;

// Runs a one-input-per-tensor op and returns its single output; fails the test on error.
Tensor RunOne(OneNodeModel& m) {
  auto out = m.Run();
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0] : Tensor();
}

// Reference for a numpy broadcast of a and b by explicit index math.
std::vector<float> ReferenceBroadcast(const Shape& a_shape, const std::vector<float>& a, const Shape& b_shape,
                                      const std::vector<float>& b, const Shape& out_shape, float (*f)(float, float)) {
  const size_t rank = out_shape.size();
  std::vector<float> out(static_cast<size_t>(ShapeElementCount(out_shape)));
  for (size_t o = 0; o < out.size(); ++o) {
    size_t rem = o, ai = 0, bi = 0, a_mul = 1, b_mul = 1;
    for (size_t d = rank; d-- > 0;) {
      const size_t idx = rem % static_cast<size_t>(out_shape[d]);
      rem /= static_cast<size_t>(out_shape[d]);
      const size_t ad = d + a_shape.size() - rank, bd = d + b_shape.size() - rank;
      if (d >= rank - a_shape.size()) {
        ai += (a_shape[ad] == 1 ? 0 : idx) * a_mul;
        a_mul *= static_cast<size_t>(a_shape[ad]);
      }
      if (d >= rank - b_shape.size()) {
        bi += (b_shape[bd] == 1 ? 0 : idx) * b_mul;
        b_mul *= static_cast<size_t>(b_shape[bd]);
      }
    }
    out[o] = f(a[ai], b[bi]);
  }
  return out;
}

TEST(ElementwiseTest, RandomBroadcastShapesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  for (int trial = 0; trial < 24; ++trial) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    Shape out_shape, a_shape, b_shape;
    // Every 8th trial is large enough (> 64K elements) to take the thread-pool path.
    const bool big = trial % 8 == 7;
    for (int d = 0; d < rank; ++d) out_shape.push_back(1 + static_cast<int64_t>(rng() % (big && d == 0 ? 400 : 6)));
    if (big) out_shape.back() = 300;
    const int a_rank = 1 + static_cast<int>(rng() % static_cast<unsigned>(rank));
    for (int d = rank - a_rank; d < rank; ++d) a_shape.push_back(rng() % 3 == 0 ? 1 : out_shape[static_cast<size_t>(d)]);
    for (int d = 0; d < rank; ++d) b_shape.push_back(rng() % 3 == 0 ? 1 : out_shape[static_cast<size_t>(d)]);
    if (trial % 2) std::swap(a_shape, b_shape);
    std::vector<float> a(static_cast<size_t>(ShapeElementCount(a_shape))), b(static_cast<size_t>(ShapeElementCount(b_shape)));
    for (float& v : a) v = dist(rng);
    for (float& v : b) v = dist(rng);
    Shape want_shape;
    for (size_t d = 0; d < static_cast<size_t>(rank); ++d) {
      const int64_t ad = d + a_shape.size() >= static_cast<size_t>(rank) ? a_shape[d + a_shape.size() - rank] : 1;
      const int64_t bd = d + b_shape.size() >= static_cast<size_t>(rank) ? b_shape[d + b_shape.size() - rank] : 1;
      want_shape.push_back(std::max(ad, bd));
    }
    OneNodeModel m("Sub", 14);
    m.Input("a", F32(a_shape, a)).Input("b", F32(b_shape, b)).Output("c", rank);
    Tensor c = RunOne(m);
    ASSERT_EQ(c.shape(), want_shape) << ShapeToString(a_shape) << " - " << ShapeToString(b_shape);
    const auto want = ReferenceBroadcast(a_shape, a, b_shape, b, want_shape, [](float x, float y) { return x - y; });
    const auto got = Values<float>(c);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << ShapeToString(a_shape) << " - " << ShapeToString(b_shape) << " at " << i;
    }
  }
}

TEST(ElementwiseTest, ScalarOperandOnEitherSide) {
  OneNodeModel m("Sub", 14);
  m.Input("a", F32({}, {10})).Input("b", F32({2, 2}, {1, 2, 3, 4})).Output("c", 2);
  EXPECT_EQ(Values<float>(RunOne(m)), (std::vector<float>{9, 8, 7, 6}));
  OneNodeModel n("Div", 14);
  n.Input("a", F32({3}, {2, 4, 6})).Input("b", F32({}, {2})).Output("c", 1);
  EXPECT_EQ(Values<float>(RunOne(n)), (std::vector<float>{1, 2, 3}));
}

TEST(ElementwiseTest, EmptyTensorBroadcastsToEmptyOutput) {
  OneNodeModel m("Mul", 14);
  m.Input("a", F32({0, 3}, {})).Input("b", F32({3}, {1, 2, 3})).Output("c", 2);
  EXPECT_EQ(RunOne(m).shape(), (Shape{0, 3}));
  OneNodeModel u("Exp", 13);
  u.Input("x", F32({2, 0}, {})).Output("y", 2);
  EXPECT_EQ(RunOne(u).shape(), (Shape{2, 0}));
}

TEST(ElementwiseTest, InvalidBroadcastIsAnErrorNamingTheShapes) {
  OneNodeModel m("Add", 14);
  m.Input("a", F32({2, 3}, {1, 2, 3, 4, 5, 6})).Input("b", F32({4}, {1, 2, 3, 4})).Output("c", 2);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[2,3]"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("[4]"), std::string::npos) << out.status().message();
}

TEST(ElementwiseTest, IntegerDivisionTruncatesAndWraps) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  OneNodeModel m("Div", 14);
  m.Input("a", I32({5}, {-7, 7, -7, kMin, 0})).Input("b", I32({5}, {2, -2, -2, -1, 5})).Output("c", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(m)), (std::vector<int32_t>{-3, -3, 3, kMin, 0}));
}

TEST(ElementwiseTest, IntegerDivisionByZeroIsAnError) {
  OneNodeModel m("Div", 14);
  m.Input("a", I32({2}, {1, 2})).Input("b", I32({2}, {1, 0})).Output("c", 1, DType::kInt32);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("division by zero"), std::string::npos) << out.status().message();
}

TEST(ElementwiseTest, IntegerAddAndAbsWrapAtTheLimits) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max(), kMin = std::numeric_limits<int32_t>::min();
  OneNodeModel m("Add", 14);
  m.Input("a", I32({2}, {kMax, kMin})).Input("b", I32({2}, {1, -1})).Output("c", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(m)), (std::vector<int32_t>{kMin, kMax}));
  OneNodeModel abs("Abs", 13);
  abs.Input("x", I32({3}, {kMin, -5, 5})).Output("y", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(abs)), (std::vector<int32_t>{kMin, 5, 5}));
}

TEST(ElementwiseTest, ModSignFollowsDivisorUnlessFmod) {
  OneNodeModel m("Mod", 13);
  m.Input("a", I32({4}, {-7, 7, -7, 7})).Input("b", I32({4}, {3, -3, -3, 3})).Output("c", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(m)), (std::vector<int32_t>{2, -2, -1, 1}));
  OneNodeModel f("Mod", 13);
  f.Input("a", F32({3}, {-7.5f, 7.5f, 5})).Input("b", F32({3}, {2, -2, 0})).Output("c", 1).Int("fmod", 1);
  const auto got = Values<float>(RunOne(f));
  EXPECT_EQ(got[0], -1.5f);
  EXPECT_EQ(got[1], 1.5f);
  EXPECT_TRUE(std::isnan(got[2]));
}

TEST(ElementwiseTest, MaxAndMinPropagateNaNAcrossThreeBroadcastInputs) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  OneNodeModel m("Max", 13);
  m.Input("a", F32({2, 2}, {1, nan, 3, 4})).Input("b", F32({2}, {2, 0})).Input("c", F32({}, {2.5f})).Output("y", 2);
  const auto got = Values<float>(RunOne(m));
  EXPECT_EQ(got[0], 2.5f);
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_EQ(got[2], 3.0f);
  EXPECT_EQ(got[3], 4.0f);
  OneNodeModel n("Min", 13);
  n.Input("a", F32({2}, {1, 5})).Input("b", F32({2}, {nan, 2})).Output("y", 1);
  const auto mins = Values<float>(RunOne(n));
  EXPECT_TRUE(std::isnan(mins[0]));
  EXPECT_EQ(mins[1], 2.0f);
}

TEST(ElementwiseTest, MeanOfBroadcastInputs) {
  OneNodeModel m("Mean", 13);
  m.Input("a", F32({2, 1}, {1, 2})).Input("b", F32({3}, {3, 4, 5})).Input("c", F32({}, {2})).Output("y", 2);
  EXPECT_EQ(Values<float>(RunOne(m)), (std::vector<float>{2, 7.0f / 3, 8.0f / 3, 7.0f / 3, 8.0f / 3, 3}));
}

TEST(ElementwiseTest, WhereBroadcastsStrings) {
  Tensor cond = Tensor::FromVector(DType::kBool, {2, 1}, std::vector<uint8_t>{1, 0});
  Tensor x = Tensor::FromVector(DType::kString, {2}, std::vector<std::string>{"a", "b"});
  Tensor y = Tensor::FromVector(DType::kString, {}, std::vector<std::string>{"z"});
  OneNodeModel m("Where", 16);
  m.Input("c", cond).Input("x", x).Input("y", y).Output("o", 2, DType::kString);
  EXPECT_EQ(Values<std::string>(RunOne(m)), (std::vector<std::string>{"a", "b", "z", "z"}));
}

TEST(ElementwiseTest, EqualComparesStringsAndNaNIsUnequal) {
  Tensor a = Tensor::FromVector(DType::kString, {3}, std::vector<std::string>{"x", "yy", ""});
  Tensor b = Tensor::FromVector(DType::kString, {3}, std::vector<std::string>{"x", "y", ""});
  OneNodeModel m("Equal", 11);
  m.Input("a", a).Input("b", b).Output("c", 1, DType::kBool);
  EXPECT_EQ(Values<uint8_t>(RunOne(m)), (std::vector<uint8_t>{1, 0, 1}));
  OneNodeModel n("Equal", 13);
  n.Input("a", F32({2}, {NAN, 1})).Input("b", F32({}, {1})).Output("c", 1, DType::kBool);
  EXPECT_EQ(Values<uint8_t>(RunOne(n)), (std::vector<uint8_t>{0, 1}));
}

TEST(ElementwiseTest, LegacyBroadcastAlignsAtAxis) {
  // Opset 6: B of shape [3] is aligned with dim 1 of A [2,3,2].
  OneNodeModel m("Add", 6);
  m.Input("a", F32({2, 3, 2}, std::vector<float>(12, 0))).Input("b", F32({3}, {1, 2, 3})).Output("c", 3);
  m.Int("broadcast", 1).Int("axis", 1);
  EXPECT_EQ(Values<float>(RunOne(m)), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
}

TEST(ElementwiseTest, PowMixesBaseAndExponentTypes) {
  OneNodeModel m("Pow", 15);
  m.Input("x", I32({3}, {2, 3, -2})).Input("y", F32({3}, {0.5f, 2, 3})).Output("z", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(m)), (std::vector<int32_t>{1, 9, -8}));
  OneNodeModel n("Pow", 15);
  n.Input("x", I32({4}, {2, 1, -1, 2})).Input("y", Tensor::FromVector(DType::kInt64, {4}, std::vector<int64_t>{10, -3, -3, -1}));
  n.Output("z", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(n)), (std::vector<int32_t>{1024, 1, -1, 0}));
}

TEST(ElementwiseTest, ClipAttributeAndInputForms) {
  OneNodeModel old("Clip", 6);
  old.Input("x", F32({4}, {-5, 0.5f, 5, -INFINITY})).Output("y", 1).Float("min", -1).Float("max", 1);
  EXPECT_EQ(Values<float>(RunOne(old)), (std::vector<float>{-1, 0.5f, 1, -1}));
  OneNodeModel only_max("Clip", 13);
  only_max.Input("x", F32({3}, {-INFINITY, 0.5f, 5})).SkipInput().Input("max", F32({}, {1})).Output("y", 1);
  EXPECT_EQ(Values<float>(RunOne(only_max)), (std::vector<float>{-INFINITY, 0.5f, 1}));
  OneNodeModel ints("Clip", 13);
  ints.Input("x", I32({3}, {-9, 3, 9})).Input("min", I32({}, {0})).Input("max", I32({}, {5})).Output("y", 1, DType::kInt32);
  EXPECT_EQ(Values<int32_t>(RunOne(ints)), (std::vector<int32_t>{0, 3, 5}));
}

TEST(ElementwiseTest, PReluSlopeMustBroadcastToInput) {
  OneNodeModel m("PRelu", 16);
  m.Input("x", F32({2, 2}, {-1, 2, -3, 4})).Input("s", F32({2, 1}, {0.5f, 2})).Output("y", 2);
  EXPECT_EQ(Values<float>(RunOne(m)), (std::vector<float>{-0.5f, 2, -6, 4}));
  OneNodeModel bad("PRelu", 16);
  bad.Input("x", F32({2}, {-1, 2})).Input("s", F32({2, 2}, {1, 1, 1, 1})).Output("y", 2);
  EXPECT_FALSE(bad.Run().ok());
}

TEST(ElementwiseTest, RoundHalfToEvenAndSignKeepsNaN) {
  OneNodeModel m("Round", 11);
  m.Input("x", F32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})).Output("y", 1);
  EXPECT_EQ(Values<float>(RunOne(m)), (std::vector<float>{0, 2, 2, -0.0f, -2, 3}));
  OneNodeModel s("Sign", 13);
  s.Input("x", F32({3}, {-2, 0, NAN})).Output("y", 1);
  const auto got = Values<float>(RunOne(s));
  EXPECT_EQ(got[0], -1.0f);
  EXPECT_EQ(got[1], 0.0f);
  EXPECT_TRUE(std::isnan(got[2]));
}

TEST(ElementwiseTest, IsInfDetectsOnlyTheRequestedSign) {
  OneNodeModel m("IsInf", 10);
  m.Input("x", F32({3}, {INFINITY, -INFINITY, NAN})).Output("y", 1, DType::kBool).Int("detect_positive", 0);
  EXPECT_EQ(Values<uint8_t>(RunOne(m)), (std::vector<uint8_t>{0, 1, 0}));
}

TEST(ElementwiseTest, BitShiftByWidthGivesZero) {
  Tensor a = Tensor::FromVector(DType::kUInt8, {3}, std::vector<uint8_t>{1, 255, 16});
  Tensor b = Tensor::FromVector(DType::kUInt8, {3}, std::vector<uint8_t>{7, 8, 2});
  OneNodeModel m("BitShift", 11);
  m.Input("a", a).Input("b", b).Output("c", 1, DType::kUInt8).String("direction", "LEFT");
  EXPECT_EQ(Values<uint8_t>(RunOne(m)), (std::vector<uint8_t>{128, 0, 64}));
}

TEST(ElementwiseTest, Float16AddComputesThroughFloat) {
  auto half = [](std::vector<float> v) {
    std::vector<uint16_t> bits;
    for (float f : v) bits.push_back(FloatToHalf(f));
    return Tensor::FromVector(DType::kFloat16, {static_cast<int64_t>(v.size())}, bits);
  };
  OneNodeModel m("Add", 14);
  m.Input("a", half({1.5f, 65504.0f, -2})).Input("b", half({0.25f, 65504.0f, 2})).Output("c", 1, DType::kFloat16);
  const auto got = Values<uint16_t>(RunOne(m));
  EXPECT_EQ(HalfToFloat(got[0]), 1.75f);
  EXPECT_TRUE(std::isinf(HalfToFloat(got[1])));
  EXPECT_EQ(HalfToFloat(got[2]), 0.0f);
}

TEST(ElementwiseTest, LargeSigmoidAndTanhMatchStd) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-20.0f, 20.0f);
  std::vector<float> x(100000);
  for (float& v : x) v = dist(rng);
  x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -100, x[4] = 100;
  for (size_t i = 5; i < 20005; ++i) x[i] = static_cast<float>(i - 10005) * 1e-4f;  // dense around 0
  for (const char* op : {"Sigmoid", "Tanh"}) {
    OneNodeModel m(op, 13);
    m.Input("x", F32({100000}, x)).Output("y", 1);
    const auto got = Values<float>(RunOne(m));
    EXPECT_TRUE(std::isnan(got[0])) << op;
    for (size_t i = 1; i < x.size(); ++i) {
      const double want = std::string(op) == "Sigmoid" ? 1.0 / (1.0 + std::exp(-static_cast<double>(x[i]))) : std::tanh(static_cast<double>(x[i]));
      ASSERT_NEAR(got[i], want, 1e-6 * std::fabs(want) + 1e-12) << op << " at x=" << x[i];
    }
  }
}

// Runs a kernel straight from the registry, for ops newer than the ONNX checker of this build knows
// (Gelu is opset 20, Mish opset 18; Debian's ONNX 1.12 stops at 17 and rejects such models).
StatusOr<Tensor> RunKernelDirectly(const std::string& op, int opset, const std::vector<Tensor>& inputs,
                                   const std::map<std::string, std::string>& string_attributes = {}) {
  Node node;
  node.op_type = op;
  node.opset = opset;
  node.explicit_input_count = inputs.size();
  node.outputs = {0};
  for (const auto& [name, value] : string_attributes) {
    Attribute a;
    a.type = Attribute::Type::kString;
    a.s = value;
    node.attributes[name] = a;
  }
  const KernelDef* def = KernelRegistry::Global().Find(op, "", opset);
  if (def == nullptr) return NotFound("no kernel for " + op);
  Graph graph;
  KernelInit init{node, graph, [](size_t) -> const Tensor* { return nullptr; }, nullptr};
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, def->factory(init));
  std::vector<Value> values(inputs.begin(), inputs.end());
  std::vector<const Value*> in;
  for (const Value& v : values) in.push_back(&v);
  std::vector<Value> outputs(1);
  ThreadPool pool(2);
  KernelContext ctx(node, in, outputs, pool);
  TS_RETURN_IF_ERROR(kernel->Run(ctx));
  return outputs[0].tensor();
}

TEST(ElementwiseTest, GeluBothApproximationsAndMish) {
  const std::vector<float> x = {-3, -0.5f, 0, 0.5f, 3};
  for (const char* approximate : {"none", "tanh"}) {
    auto out = RunKernelDirectly("Gelu", 20, {F32({5}, x)}, {{"approximate", approximate}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const auto got = Values<float>(*out);
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double want = std::string(approximate) == "none"
                              ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
                              : 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      EXPECT_NEAR(got[i], want, 1e-6) << approximate << " at " << v;
    }
  }
  EXPECT_FALSE(RunKernelDirectly("Gelu", 20, {F32({1}, {1})}, {{"approximate", "fast"}}).ok());
  auto mish = RunKernelDirectly("Mish", 18, {F32({3}, {-30, 0, 2})});
  ASSERT_TRUE(mish.ok()) << mish.status().message();
  const auto got = Values<float>(*mish);
  EXPECT_NEAR(got[0], -30 * std::tanh(std::log1p(std::exp(-30.0))), 1e-9);
  EXPECT_EQ(got[1], 0.0f);
  EXPECT_NEAR(got[2], 2 * std::tanh(std::log1p(std::exp(2.0))), 1e-6);
}

TEST(ElementwiseTest, BitwiseOpsOnSignedIntegers) {
  Tensor a = I32({3}, {-1, 12, 5});
  Tensor b = I32({3}, {7, 10, -6});
  auto and_ = RunKernelDirectly("BitwiseAnd", 18, {a, b});
  auto xor_ = RunKernelDirectly("BitwiseXor", 18, {a, b});
  auto not_ = RunKernelDirectly("BitwiseNot", 18, {a});
  ASSERT_TRUE(and_.ok() && xor_.ok() && not_.ok());
  EXPECT_EQ(Values<int32_t>(*and_), (std::vector<int32_t>{7, 8, 0}));
  EXPECT_EQ(Values<int32_t>(*xor_), (std::vector<int32_t>{-8, 6, -1}));
  EXPECT_EQ(Values<int32_t>(*not_), (std::vector<int32_t>{0, -13, -6}));
}

TEST(ElementwiseTest, MismatchedInputDtypesAreAnError) {
  OneNodeModel m("Add", 14);
  m.Input("a", F32({1}, {1})).Input("b", I32({1}, {1})).Output("c", 1);
  EXPECT_FALSE(m.Run().ok());
}

}  // namespace
}  // namespace tessera
