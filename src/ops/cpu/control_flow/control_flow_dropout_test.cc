// Identity, Dropout (inference, numpy-reproducible seeded training mode, bad ratio) and the optional ops.
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

struct Port {
  std::string name;
  DType dtype;
  int rank = 1;
};

GraphBuilder OneNode(const std::string& op, const std::vector<Port>& inputs,
                  const std::vector<std::pair<std::string, DType>>& outputs, onnx::NodeProto** node = nullptr) {
  GraphBuilder g("one_node");
  std::vector<std::string> in_names, out_names;
  for (const auto& in : inputs) {
    in_names.push_back(in.name);
    if (!in.name.empty()) g.In(in.name, in.dtype, std::vector<int64_t>(static_cast<size_t>(in.rank), -1));
  }
  for (const auto& [name, dtype] : outputs) {
    out_names.push_back(name);
    g.Out(name, dtype, {-1});
  }
  auto& n = g.Node(op, in_names, out_names);
  if (node != nullptr) *node = &n;
  return g;
}

TEST(ControlFlowTest, IdentityPassesTheValueThrough) {
  auto out = RunGraph(OneNode("Identity", {{"x", DType::kInt64}}, {{"y", DType::kInt64}}), 16,
                      {{"x", I64({3}, {7, -1, 9})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Int64Values((*out)[0]), std::vector<int64_t>({7, -1, 9}));
}

TEST(ControlFlowTest, DropoutInferenceIsIdentityWithTrueMask) {
  auto out = RunGraph(OneNode("Dropout", {{"x", DType::kFloat32}, {"r", DType::kFloat32, 0}},
                              {{"y", DType::kFloat32}, {"mask", DType::kBool}}),
                      13, {{"x", F32({4}, {1, 2, 3, 4})}, {"r", F32({}, {0.9f})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2, 3, 4}));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE((*out)[1].data<bool>()[i]);
}

TEST(ControlFlowTest, SeededTrainingDropoutMatchesNumpysStream) {
  onnx::NodeProto* node = nullptr;
  GraphBuilder g = OneNode("Dropout", {{"x", DType::kFloat32}, {"r", DType::kFloat32, 0}, {"t", DType::kBool, 0}},
                        {{"y", DType::kFloat32}, {"mask", DType::kBool}}, &node);
  SetIntAttribute(*node, "seed", 3);
  // np.random.seed(3); np.random.uniform(0, 1, 6) = .551 .708 .291 .511 .893 .896
  auto out = RunGraph(g, 13, {{"x", F32({6}, {1, 2, 3, 4, 5, 6})}, {"r", F32({}, {0.6f})}, {"t", BoolScalar(true)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::vector<bool> keep = {false, true, false, false, true, true};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ((*out)[1].data<bool>()[i], keep[static_cast<size_t>(i)]) << i;
    EXPECT_NEAR((*out)[0].data<float>()[i], keep[static_cast<size_t>(i)] ? (i + 1) / 0.4f : 0.0f, 1e-5) << i;
  }
}

TEST(ControlFlowTest, TrainingDropoutWithRatioOneIsAnError) {
  auto out = RunGraph(OneNode("Dropout", {{"x", DType::kFloat32}, {"r", DType::kFloat32, 0}, {"t", DType::kBool, 0}},
                              {{"y", DType::kFloat32}}),
                      13, {{"x", F32({2}, {1, 2})}, {"r", F32({}, {1.0f})}, {"t", BoolScalar(true)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("ratio"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, OptionalHasElementSeesPresenceAndAbsence) {
  auto present = RunGraph(OneNode("OptionalHasElement", {{"x", DType::kFloat32}}, {{"y", DType::kBool}}), 18,
                          {{"x", F32({1}, {1})}});
  ASSERT_TRUE(present.ok()) << present.status().message();
  EXPECT_TRUE(*(*present)[0].data<bool>());
  GraphBuilder g("empty_optional");
  AddEmptyOptional(g, "none");
  g.Node("OptionalHasElement", {"none"}, {"y"});
  g.Out("y", DType::kBool, {});
  auto absent = RunGraph(g, 15, {});
  ASSERT_TRUE(absent.ok()) << absent.status().message();
  EXPECT_FALSE(*(*absent)[0].data<bool>());
}

TEST(ControlFlowTest, OptionalGetElementOfEmptyOptionalIsAnError) {
  GraphBuilder g("empty_optional");
  AddEmptyOptional(g, "none");
  g.Node("OptionalGetElement", {"none"}, {"y"});
  g.Out("y", DType::kFloat32, {-1});
  auto out = RunGraph(g, 15, {});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("empty"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
