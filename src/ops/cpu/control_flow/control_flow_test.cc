// If and Loop through whole models: branches of different shapes, bad conditions, loop-carried values,
// scan outputs, zero trips, early exit, the iteration limit and nested scopes. Bodies use Identity,
// CumSum and the optional ops so the tests need no other kernel family.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "ops/cpu/control_flow/control_flow_common.h"
#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the model-building vocabulary of testing/onnx_builder.h

// ---- If ----

// then: x (captured, [3]); else: y (captured, [2, 2]): the branches differ in shape.
GraphBuilder IfModel(DType cond_dtype, const std::vector<int64_t>& cond_dims) {
  GraphBuilder then_g("then"), else_g("else");
  then_g.Node("Identity", {"x"}, {"then_out"});
  then_g.Out("then_out", DType::kFloat32, {3});
  else_g.Node("Identity", {"y"}, {"else_out"});
  else_g.Out("else_out", DType::kFloat32, {2, 2});
  GraphBuilder main("if_model");
  main.In("cond", cond_dtype, cond_dims).In("x", DType::kFloat32, {3}).In("y", DType::kFloat32, {2, 2});
  auto& n = main.Node("If", {"cond"}, {"res"});
  SetGraphAttribute(n, "then_branch", then_g);
  SetGraphAttribute(n, "else_branch", else_g);
  main.Out("res", DType::kFloat32, {-1});
  return main;
}

TEST(ControlFlowTest, IfChoosesThenBranch) {
  auto out = RunGraph(IfModel(DType::kBool, {}), 16,
                      {{"cond", BoolScalar(true)}, {"x", F32({3}, {1, 2, 3})}, {"y", F32({2, 2}, {4, 5, 6, 7})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({3}));
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2, 3}));
}

TEST(ControlFlowTest, IfChoosesElseBranchWithAnotherShape) {
  auto out = RunGraph(IfModel(DType::kBool, {}), 16,
                      {{"cond", BoolScalar(false)}, {"x", F32({3}, {1, 2, 3})}, {"y", F32({2, 2}, {4, 5, 6, 7})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 2}));
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({4, 5, 6, 7}));
}

TEST(ControlFlowTest, IfAcceptsOneElementConditionOfShapeOne) {
  auto out = RunGraph(IfModel(DType::kBool, {1}), 16,
                      {{"cond", Tensor::FromVector(DType::kBool, {1}, std::vector<bool>{false})},
                       {"x", F32({3}, {1, 2, 3})},
                       {"y", F32({2, 2}, {4, 5, 6, 7})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 2}));
}

TEST(ControlFlowTest, IfConditionThatIsNotABoolIsAnError) {
  auto out = RunGraph(IfModel(DType::kFloat32, {}), 16,
                      {{"cond", F32({}, {1})}, {"x", F32({3}, {1, 2, 3})}, {"y", F32({2, 2}, {4, 5, 6, 7})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("bool"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, IfConditionWithTwoElementsIsAnError) {
  auto out = RunGraph(IfModel(DType::kBool, {2}), 16,
                      {{"cond", Tensor::FromVector(DType::kBool, {2}, std::vector<bool>{true, false})},
                       {"x", F32({3}, {1, 2, 3})},
                       {"y", F32({2, 2}, {4, 5, 6, 7})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("exactly one element"), std::string::npos) << out.status().message();
}

// ---- Loop ----

// Loop(M, cond, v) with body: v_out = CumSum(v_in, axis) (axis captured from the main graph),
// scans: the iteration number and v_out. `stop_after_first` makes the body return an empty-optional
// test as its condition (false).
GraphBuilder LoopModel(bool with_trip_count, bool with_cond, bool stop_after_first) {
  GraphBuilder body("body");
  body.In("iter", DType::kInt64, {}).In("cond_in", DType::kBool, {}).In("v_in", DType::kFloat32, {2});
  if (stop_after_first) {
    AddEmptyOptional(body, "nothing");
    body.Node("OptionalHasElement", {"nothing"}, {"cond_out"});
  } else {
    body.Node("Identity", {"cond_in"}, {"cond_out"});
  }
  body.Node("CumSum", {"v_in", "axis"}, {"v_out"});
  body.Node("Identity", {"iter"}, {"iter_scan"});
  body.Node("Identity", {"v_out"}, {"v_scan"});
  body.Out("cond_out", DType::kBool, {}).Out("v_out", DType::kFloat32, {2});
  body.Out("iter_scan", DType::kInt64, {}).Out("v_scan", DType::kFloat32, {2});
  GraphBuilder main("loop_model");
  if (with_trip_count) main.In("M", DType::kInt64, {});
  if (with_cond) main.In("cond", DType::kBool, {});
  main.In("v", DType::kFloat32, {2});
  main.Int64Initializer("axis", 0);
  auto& n = main.Node("Loop", {with_trip_count ? "M" : "", with_cond ? "cond" : "", "v"}, {"v_final", "iters", "vs"});
  SetGraphAttribute(n, "body", body);
  main.Out("v_final", DType::kFloat32, {2}).Out("iters", DType::kInt64, {-1}).Out("vs", DType::kFloat32, {-1, 2});
  return main;
}

TEST(ControlFlowTest, LoopCarriesValuesAndStacksScanOutputs) {
  auto out = RunGraph(LoopModel(true, true, false), 16,
                      {{"M", I64({}, {3})}, {"cond", BoolScalar(true)}, {"v", F32({2}, {1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 4}));
  EXPECT_EQ((*out)[1].shape(), Shape({3}));
  EXPECT_EQ(Int64Values((*out)[1]), std::vector<int64_t>({0, 1, 2}));
  EXPECT_EQ((*out)[2].shape(), Shape({3, 2}));
  EXPECT_EQ(FloatValues((*out)[2]), std::vector<float>({1, 2, 1, 3, 1, 4}));
}

TEST(ControlFlowTest, ZeroTripLoopReturnsInitialValuesAndEmptyScans) {
  auto out = RunGraph(LoopModel(true, true, false), 16,
                      {{"M", I64({}, {0})}, {"cond", BoolScalar(true)}, {"v", F32({2}, {5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({5, 6}));
  EXPECT_EQ((*out)[1].shape(), Shape({0}));
  EXPECT_EQ((*out)[1].dtype(), DType::kInt64);
  EXPECT_EQ((*out)[2].shape(), Shape({0, 2}));  // the body declares [2] per iteration
}

TEST(ControlFlowTest, LoopWithFalseInitialConditionRunsNoIteration) {
  auto out = RunGraph(LoopModel(true, true, false), 16,
                      {{"M", I64({}, {5})}, {"cond", BoolScalar(false)}, {"v", F32({2}, {5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({5, 6}));
  EXPECT_EQ((*out)[1].shape(), Shape({0}));
}

TEST(ControlFlowTest, LoopStopsWhenTheBodysConditionTurnsFalse) {
  auto out = RunGraph(LoopModel(true, true, true), 16,
                      {{"M", I64({}, {10})}, {"cond", BoolScalar(true)}, {"v", F32({2}, {1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Int64Values((*out)[1]), std::vector<int64_t>({0}));
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2}));
}

TEST(ControlFlowTest, LoopWithoutCondInputIgnoresTheBodysCondition) {
  // A plain for loop: the body returns false, but with no cond input only M counts.
  auto out = RunGraph(LoopModel(true, false, true), 16, {{"M", I64({}, {4})}, {"v", F32({2}, {1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Int64Values((*out)[1]), std::vector<int64_t>({0, 1, 2, 3}));
}

TEST(ControlFlowTest, EndlessLoopStopsAtTheIterationLimit) {
  SetLoopIterationLimit(50);
  auto out = RunGraph(LoopModel(false, true, false), 16, {{"cond", BoolScalar(true)}, {"v", F32({2}, {0, 0})}});
  SetLoopIterationLimit(0);
  EXPECT_EQ(LoopIterationLimit(), kDefaultLoopIterationLimit);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("iteration limit"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, LoopTripCountOfWrongTypeIsAnError) {
  GraphBuilder main = LoopModel(true, true, false);
  main.proto.mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto out = RunGraph(main, 16, {{"M", F32({}, {3})}, {"cond", BoolScalar(true)}, {"v", F32({2}, {1, 1})}});
  ASSERT_FALSE(out.ok());
}

// Malformed control flow fails at load with an error (the ONNX checker or the kernel factory), not a crash.
TEST(ControlFlowTest, LoopBodyWithTooFewInputsIsRejectedAtLoad) {
  GraphBuilder main = LoopModel(true, true, false);
  // Drop the body's v_in: it then takes 2 inputs for 1 loop-carried value.
  onnx::GraphProto* body = main.proto.mutable_node(0)->mutable_attribute(0)->mutable_g();
  body->mutable_input()->RemoveLast();
  auto out = RunGraph(main, 16, {{"M", I64({}, {1})}, {"cond", BoolScalar(true)}, {"v", F32({2}, {1, 1})}});
  ASSERT_FALSE(out.ok());
}

TEST(ControlFlowTest, IfWithoutElseBranchIsRejectedAtLoad) {
  GraphBuilder main = IfModel(DType::kBool, {});
  main.proto.mutable_node(0)->mutable_attribute()->RemoveLast();
  auto out = RunGraph(main, 16,
                      {{"cond", BoolScalar(true)}, {"x", F32({3}, {1, 2, 3})}, {"y", F32({2, 2}, {4, 5, 6, 7})}});
  ASSERT_FALSE(out.ok());
}

TEST(ControlFlowTest, IfNestedInALoopBodyReadsValuesOfBothEnclosingScopes) {
  // then: CumSum(v_in, axis), v_in from the loop body and axis from the main graph.
  GraphBuilder then_g("then"), else_g("else");
  then_g.Node("CumSum", {"v_in", "axis"}, {"then_out"});
  then_g.Out("then_out", DType::kFloat32, {2});
  else_g.Node("Identity", {"v_in"}, {"else_out"});
  else_g.Out("else_out", DType::kFloat32, {2});
  GraphBuilder body("body");
  body.In("iter", DType::kInt64, {}).In("cond_in", DType::kBool, {}).In("v_in", DType::kFloat32, {2});
  body.Node("Identity", {"cond_in"}, {"cond_out"});
  auto& branch = body.Node("If", {"flag"}, {"v_out"});
  SetGraphAttribute(branch, "then_branch", then_g);
  SetGraphAttribute(branch, "else_branch", else_g);
  body.Out("cond_out", DType::kBool, {}).Out("v_out", DType::kFloat32, {2});
  GraphBuilder main("nested");
  main.In("M", DType::kInt64, {}).In("flag", DType::kBool, {}).In("v", DType::kFloat32, {2});
  main.Int64Initializer("axis", 0);
  auto& loop = main.Node("Loop", {"M", "", "v"}, {"v_final"});
  SetGraphAttribute(loop, "body", body);
  main.Out("v_final", DType::kFloat32, {2});
  for (bool flag : {true, false}) {
    auto out = RunGraph(main, 16, {{"M", I64({}, {2})}, {"flag", BoolScalar(flag)}, {"v", F32({2}, {1, 1})}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(FloatValues((*out)[0]), flag ? std::vector<float>({1, 3}) : std::vector<float>({1, 1}));
  }
}

}  // namespace
}  // namespace tessera
