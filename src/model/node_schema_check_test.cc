#include "model/node_schema_check.h"

#include <gtest/gtest.h>

#include "model/onnx_loader.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

LoadOptions WithoutChecker() {
  LoadOptions options;
  options.run_checker = false;  // the build-time check must stand on its own
  options.infer_shapes = false;
  return options;
}

// Found by the model-loader fuzzer: a CumSum without its required `axis` input reached the kernel,
// which read input 1 unconditionally.
TEST(NodeSchemaCheckTest, MissingRequiredInputIsRefusedAtLoad) {
  OnnxBuilder b(14);
  b.Input("x", DType::kFloat32, {3});
  b.Node("CumSum", {"x"}, {"y"}, "cumsum1");
  b.Output("y", DType::kFloat32, {3});
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx", WithoutChecker());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("cumsum1"), std::string::npos) << model.status().message();
  EXPECT_NE(model.status().message().find("inputs"), std::string::npos) << model.status().message();
}

TEST(NodeSchemaCheckTest, EmptyNameInARequiredSlotIsRefused) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {3});
  b.Node("Add", {"x", ""}, {"y"}, "add1");
  b.Output("y", DType::kFloat32, {3});
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx", WithoutChecker());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("required input 1"), std::string::npos) << model.status().message();
}

TEST(NodeSchemaCheckTest, TooManyOutputsAreRefused) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {3});
  b.Node("Relu", {"x"}, {"y", "z"}, "relu1");
  b.Output("y", DType::kFloat32, {3});
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx", WithoutChecker());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("outputs"), std::string::npos) << model.status().message();
}

TEST(NodeSchemaCheckTest, OmittedOptionalInputsAreFine) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {3});
  b.Node("Clip", {"x", "", ""}, {"y"}, "clip1");
  b.Output("y", DType::kFloat32, {3});
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx", WithoutChecker());
  EXPECT_TRUE(model.ok()) << model.status().message();
}

// Opset 18's ReduceMean takes `axes` as an input: Tessera's own table knows it, the ONNX 1.12 library's
// opset-13 schema (one input) does not.
TEST(NodeSchemaCheckTest, NewerVersionIsCheckedAgainstTesserasTable) {
  OnnxBuilder b(18);
  b.Input("x", DType::kFloat32, {2, 3});
  b.Input("axes", DType::kInt64, {1});
  b.Node("ReduceMean", {"x", "axes"}, {"y"}, "mean1");
  b.Output("y", DType::kFloat32, {-1, -1});
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx", WithoutChecker());
  EXPECT_TRUE(model.ok()) << model.status().message();
}

TEST(NodeSchemaCheckTest, UnknownAttributeOfANewerVersionIsRefusedNamingTheVersion) {
  OnnxBuilder b(18);
  b.Input("x", DType::kFloat32, {2, 3});
  b.Node("ReduceMean", {"x"}, {"y"}, "mean1");
  testing::AddAttribute(*b.graph().mutable_node(0), "axes", onnx::AttributeProto::INTS)->add_ints(1);
  b.Output("y", DType::kFloat32, {-1});
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx", WithoutChecker());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("not an attribute of ReduceMean-18"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace tessera
