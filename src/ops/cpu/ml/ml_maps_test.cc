// ZipMap, CastMap and DictVectorizer through whole models: one map per score row with either label type,
// CastMap's DENSE (key order) and SPARSE (key = column) forms and their casts, DictVectorizer's
// vocabulary lookup with missing and unknown keys, and the errors for a label count or key out of range.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the model-building vocabulary of testing/onnx_builder.h

void DeclareMap(onnx::TypeProto* type, DType key, DType value) {
  auto* map = type->mutable_map_type();
  map->set_key_type(static_cast<int>(key));
  map->mutable_value_type()->mutable_tensor_type()->set_elem_type(static_cast<int>(value));
}

OnnxBuilder MlModel() {
  OnnxBuilder b(17);
  auto* ml = b.proto().add_opset_import();
  ml->set_domain("ai.onnx.ml");
  ml->set_version(1);
  return b;
}

StatusOr<std::vector<Value>> RunModel(OnnxBuilder& b, const std::vector<std::pair<std::string, Value>>& feeds) {
  SessionOptions options;
  options.threads = 1;
  TS_ASSIGN_OR_RETURN(auto session, LoadModelProto(b.proto(), options));
  return session->RunValues(feeds);
}

TEST(MlMapsTest, ZipMapGivesOneMapPerRow) {
  for (bool string_labels : {true, false}) {
    OnnxBuilder b = MlModel();
    b.Input("x", DType::kFloat32, {2, 3});
    auto& n = b.Node("ZipMap", {"x"}, {"z"});
    n.set_domain("ai.onnx.ml");
    if (string_labels) SetStringsAttribute(n, "classlabels_strings", {"a", "b", "c"});
    else SetIntsAttribute(n, "classlabels_int64s", {7, 8, 9});
    auto* out = b.graph().add_output();
    out->set_name("z");
    DeclareMap(out->mutable_type()->mutable_sequence_type()->mutable_elem_type(),
               string_labels ? DType::kString : DType::kInt64, DType::kFloat32);
    auto result = RunModel(b, {{"x", F32({2, 3}, {0.1f, 0.2f, 0.7f, 0.5f, 0.25f, 0.25f})}});
    ASSERT_TRUE(result.ok()) << result.status().message();
    const Value& z = (*result)[0];
    ASSERT_EQ(z.sequence_length(), 2u);
    ASSERT_TRUE(z.elements()[1].is_map());
    EXPECT_EQ(FloatValues(z.elements()[1].map_values()), (std::vector<float>{0.5f, 0.25f, 0.25f}));
    if (string_labels) {
      EXPECT_EQ(StringValues(z.elements()[0].map_keys()), (std::vector<std::string>{"a", "b", "c"}));
    } else {
      EXPECT_EQ(Int64Values(z.elements()[0].map_keys()), (std::vector<int64_t>{7, 8, 9}));
    }
  }
}

TEST(MlMapsTest, ZipMapLabelCountMustMatchColumns) {
  OnnxBuilder b = MlModel();
  b.Input("x", DType::kFloat32, {1, 3});
  auto& n = b.Node("ZipMap", {"x"}, {"z"});
  n.set_domain("ai.onnx.ml");
  SetIntsAttribute(n, "classlabels_int64s", {1, 2});
  auto* out = b.graph().add_output();
  out->set_name("z");
  DeclareMap(out->mutable_type()->mutable_sequence_type()->mutable_elem_type(), DType::kInt64, DType::kFloat32);
  auto result = RunModel(b, {{"x", F32({1, 3}, {1, 2, 3})}});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("3 columns but there are 2 class labels"), std::string::npos)
      << result.status().message();
}

// CastMap of {5: 1.5, 1: 2.5, 3: 4} with the given form and cast.
StatusOr<Tensor> CastMap(const std::string& form, const std::string& cast_to, int64_t max_map, DType out) {
  OnnxBuilder b = MlModel();
  auto* in = b.graph().add_input();
  in->set_name("m");
  DeclareMap(in->mutable_type(), DType::kInt64, DType::kFloat32);
  auto& n = b.Node("CastMap", {"m"}, {"y"});
  n.set_domain("ai.onnx.ml");
  SetStringAttribute(n, "map_form", form);
  SetStringAttribute(n, "cast_to", cast_to);
  SetIntAttribute(n, "max_map", max_map);
  b.Output("y", out, {1, -1});
  TS_ASSIGN_OR_RETURN(auto values, RunModel(b, {{"m", Value::Map(I64({3}, {5, 1, 3}), F32({3}, {1.5f, 2.5f, 4}))}}));
  return values[0].tensor();
}

TEST(MlMapsTest, CastMapDenseIsKeyOrderSparseIsKeyColumn) {
  auto dense = CastMap("DENSE", "TO_FLOAT", 1, DType::kFloat32);
  ASSERT_TRUE(dense.ok()) << dense.status().message();
  EXPECT_EQ(FloatValues(*dense), (std::vector<float>{2.5f, 4, 1.5f}));
  auto sparse = CastMap("SPARSE", "TO_INT64", 7, DType::kInt64);
  ASSERT_TRUE(sparse.ok()) << sparse.status().message();
  EXPECT_EQ(Int64Values(*sparse), (std::vector<int64_t>{0, 2, 0, 4, 0, 1, 0}));
  auto text = CastMap("DENSE", "TO_STRING", 1, DType::kString);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(StringValues(*text), (std::vector<std::string>{"2.5", "4", "1.5"}));
  auto too_small = CastMap("SPARSE", "TO_FLOAT", 4, DType::kFloat32);
  ASSERT_FALSE(too_small.ok());
  EXPECT_NE(too_small.status().message().find("key 5 is outside [0, max_map = 4)"), std::string::npos)
      << too_small.status().message();
}

TEST(MlMapsTest, DictVectorizerLooksUpTheVocabulary) {
  OnnxBuilder b = MlModel();
  auto* in = b.graph().add_input();
  in->set_name("m");
  DeclareMap(in->mutable_type(), DType::kString, DType::kInt64);
  auto& n = b.Node("DictVectorizer", {"m"}, {"y"});
  n.set_domain("ai.onnx.ml");
  SetStringsAttribute(n, "string_vocabulary", {"x", "y", "z", "w"});
  b.Output("y", DType::kInt64, {1, 4});
  // "q" is not in the vocabulary (dropped); "y" and "w" are absent from the map (zeros).
  auto result = RunModel(b, {{"m", Value::Map(Str({3}, {"z", "q", "x"}), I64({3}, {30, 99, 10}))}});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ((*result)[0].tensor().shape(), (Shape{1, 4}));
  EXPECT_EQ(Int64Values((*result)[0].tensor()), (std::vector<int64_t>{10, 0, 30, 0}));
}

}  // namespace
}  // namespace tessera
