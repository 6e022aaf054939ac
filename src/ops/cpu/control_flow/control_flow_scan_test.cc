// Scan through whole models: both directions on inputs and outputs, non-zero and negative axes, empty
// sequences, mismatched lengths, and opset 8's batch axis with sequence_lens.
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

// Scan (opset 9+) over x [3, 2]: state_out = Identity(next) (the last slice seen), scan = CumSum(next).
GraphBuilder ScanModel(const std::vector<int64_t>& x_dims, int64_t input_axis, int64_t input_direction,
                    int64_t output_direction) {
  const int64_t slice = input_axis == 0 ? x_dims[1] : x_dims[0];
  GraphBuilder body("scan_body");
  body.In("state_in", DType::kFloat32, {slice}).In("next", DType::kFloat32, {slice});
  body.Node("Identity", {"next"}, {"state_out"});
  body.Node("CumSum", {"next", "axis"}, {"scan_out"});
  body.Out("state_out", DType::kFloat32, {slice}).Out("scan_out", DType::kFloat32, {slice});
  GraphBuilder main("scan_model");
  main.In("init", DType::kFloat32, {slice}).In("x", DType::kFloat32, x_dims);
  main.Int64Initializer("axis", 0);
  auto& n = main.Node("Scan", {"init", "x"}, {"final", "ys"});
  SetGraphAttribute(n, "body", body);
  SetIntAttribute(n, "num_scan_inputs", 1);
  SetIntsAttribute(n, "scan_input_axes", {input_axis});
  SetIntsAttribute(n, "scan_input_directions", {input_direction});
  SetIntsAttribute(n, "scan_output_directions", {output_direction});
  main.Out("final", DType::kFloat32, {slice}).Out("ys", DType::kFloat32, {-1, slice});
  return main;
}

TEST(ControlFlowTest, ScanForward) {
  auto out = RunGraph(ScanModel({3, 2}, 0, 0, 0), 16,
                      {{"init", F32({2}, {0, 0})}, {"x", F32({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({5, 6}));
  EXPECT_EQ((*out)[1].shape(), Shape({3, 2}));
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({1, 3, 3, 7, 5, 11}));
}

TEST(ControlFlowTest, ScanReverseInputDirection) {
  auto out = RunGraph(ScanModel({3, 2}, 0, 1, 0), 16,
                      {{"init", F32({2}, {0, 0})}, {"x", F32({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2}));  // row 0 is visited last
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({5, 11, 3, 7, 1, 3}));
}

TEST(ControlFlowTest, ScanReverseInputAndOutputRestoresOrder) {
  auto out = RunGraph(ScanModel({3, 2}, 0, 1, 1), 16,
                      {{"init", F32({2}, {0, 0})}, {"x", F32({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({1, 3, 3, 7, 5, 11}));
}

TEST(ControlFlowTest, ScanAlongAxisOneWithNegativeAxis) {
  // x [2, 3] scanned along its columns: slices [1,4], [2,5], [3,6].
  auto out = RunGraph(ScanModel({2, 3}, -1, 0, 0), 16,
                      {{"init", F32({2}, {0, 0})}, {"x", F32({2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({3, 6}));
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({1, 5, 2, 7, 3, 9}));
}

TEST(ControlFlowTest, ScanOverEmptySequenceReturnsInitialState) {
  auto out = RunGraph(ScanModel({0, 2}, 0, 0, 0), 16, {{"init", F32({2}, {7, 8})}, {"x", F32({0, 2}, {})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({7, 8}));
  EXPECT_EQ((*out)[1].shape(), Shape({0, 2}));
}

TEST(ControlFlowTest, ScanInputsOfDifferentLengthsAreAnError) {
  GraphBuilder body("scan_body");
  body.In("a", DType::kFloat32, {}).In("b", DType::kFloat32, {});
  body.Node("Identity", {"a"}, {"out"});
  body.Out("out", DType::kFloat32, {});
  GraphBuilder main("scan_model");
  main.In("x", DType::kFloat32, {3}).In("y", DType::kFloat32, {2});
  auto& n = main.Node("Scan", {"x", "y"}, {"ys"});
  SetGraphAttribute(n, "body", body);
  SetIntAttribute(n, "num_scan_inputs", 2);
  main.Out("ys", DType::kFloat32, {-1});
  auto out = RunGraph(main, 11, {{"x", F32({3}, {1, 2, 3})}, {"y", F32({2}, {1, 2})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("length"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, Scan8BatchesWithSequenceLengths) {
  GraphBuilder body("scan_body");
  body.In("state_in", DType::kFloat32, {1}).In("next", DType::kFloat32, {1});
  body.Node("Identity", {"next"}, {"state_out"});
  body.Node("Identity", {"next"}, {"scan_out"});
  body.Out("state_out", DType::kFloat32, {1}).Out("scan_out", DType::kFloat32, {1});
  GraphBuilder main("scan8");
  main.In("lens", DType::kInt64, {2}).In("init", DType::kFloat32, {2, 1}).In("x", DType::kFloat32, {2, 3, 1});
  auto& n = main.Node("Scan", {"lens", "init", "x"}, {"final", "ys"});
  SetGraphAttribute(n, "body", body);
  SetIntAttribute(n, "num_scan_inputs", 1);
  SetIntsAttribute(n, "directions", {1});
  main.Out("final", DType::kFloat32, {2, 1}).Out("ys", DType::kFloat32, {2, 3, 1});
  auto out = RunGraph(
      main, 8,
      {{"lens", I64({2}, {3, 2})}, {"init", F32({2, 1}, {0, 0})}, {"x", F32({2, 3, 1}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Reverse within each entry's own length; batch 1 has 2 steps, so its third output stays zero.
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 4}));
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({3, 2, 1, 5, 4, 0}));
}

}  // namespace
}  // namespace tessera
