#include "serve/request_validation.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

TensorInfo Info(const std::string& name, DType dtype, std::vector<int64_t> dims) {
  TensorInfo t;
  t.name = name;
  t.dtype = dtype;
  t.has_shape = true;
  t.dims = std::move(dims);
  return t;
}

// Two inputs (image [N,3,-1] float, mask [N] int64) and two outputs, batched up to 4.
ModelSignature Signature() {
  ModelSignature s;
  s.model_name = "det";
  s.version = "2";
  s.inputs = {Info("image", DType::kFloat32, {-1, 3, -1}), Info("mask", DType::kInt64, {-1})};
  s.outputs = {Info("boxes", DType::kFloat32, {-1, 4}), Info("scores", DType::kFloat32, {-1})};
  s.batchable = true;
  s.max_batch_size = 4;
  return s;
}

InferRequest Request(int64_t rows, int64_t width) {
  InferRequest r;
  r.model_name = "det";
  r.inputs.push_back({"mask", Tensor::FromVector(DType::kInt64, {rows}, std::vector<int64_t>(rows, 1))});
  r.inputs.push_back(
      {"image", Tensor::FromVector(DType::kFloat32, {rows, 3, width}, std::vector<float>(rows * 3 * width, 0.5f))});
  return r;
}

std::string ErrorOf(const InferRequest& r, StatusCode code = StatusCode::kInvalidArgument) {
  auto v = ValidateRequest(Signature(), r);
  EXPECT_FALSE(v.ok());
  if (v.ok()) return "";
  EXPECT_EQ(v.status().code(), code) << v.status().ToString();
  EXPECT_NE(v.status().message().find("model 'det' version 2"), std::string::npos) << v.status().message();
  return v.status().message();
}

TEST(RequestValidationTest, AcceptsAValidRequestAndOrdersFeedsAsTheModel) {
  auto v = ValidateRequest(Signature(), Request(2, 5));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->feeds[0].first, "image");
  EXPECT_EQ(v->feeds[1].first, "mask");
  EXPECT_EQ(v->rows, 2);
  EXPECT_EQ(v->output_indices, (std::vector<size_t>{0, 1}));
  EXPECT_FALSE(v->merge_key.empty());
}

TEST(RequestValidationTest, MergeKeyDependsOnNonBatchDimsOnly) {
  auto a = ValidateRequest(Signature(), Request(1, 5));
  auto b = ValidateRequest(Signature(), Request(3, 5));
  auto c = ValidateRequest(Signature(), Request(1, 6));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->merge_key, b->merge_key);
  EXPECT_NE(a->merge_key, c->merge_key);
}

TEST(RequestValidationTest, MissingUnknownAndDuplicateInputs) {
  InferRequest r = Request(1, 5);
  r.inputs.pop_back();
  EXPECT_NE(ErrorOf(r).find("missing input 'image'"), std::string::npos);
  r = Request(1, 5);
  r.inputs.push_back({"extra", r.inputs[0].tensor});
  EXPECT_NE(ErrorOf(r).find("unknown input 'extra'"), std::string::npos);
  r = Request(1, 5);
  r.inputs.push_back(r.inputs[0]);
  EXPECT_NE(ErrorOf(r).find("input 'mask' is given twice"), std::string::npos);
}

TEST(RequestValidationTest, WrongDtypeRankOrFixedDim) {
  InferRequest r = Request(1, 5);
  r.inputs[0].tensor = Tensor::FromVector(DType::kInt32, {1}, std::vector<int32_t>{1});
  EXPECT_NE(ErrorOf(r).find("input 'mask' must be int64, got int32"), std::string::npos);
  r = Request(1, 5);
  r.inputs[1].tensor = Tensor::FromVector(DType::kFloat32, {1, 3}, std::vector<float>(3));
  EXPECT_NE(ErrorOf(r).find("input 'image' must have rank 3"), std::string::npos);
  r = Request(1, 5);
  r.inputs[1].tensor = Tensor::FromVector(DType::kFloat32, {1, 2, 5}, std::vector<float>(10));
  EXPECT_NE(ErrorOf(r).find("input 'image' dim 1 must be 3"), std::string::npos);
}

TEST(RequestValidationTest, DataShorterThanShapeIsRefused) {
  InferRequest r = Request(1, 5);
  Tensor small = Tensor::FromVector(DType::kFloat32, {1, 3, 1}, std::vector<float>(3));
  r.inputs[1].tensor = Tensor(DType::kFloat32, {1, 3, 5}, small.buffer());
  EXPECT_NE(ErrorOf(r).find("needs 60"), std::string::npos);
  r.inputs[1].tensor = Tensor(DType::kFloat32, {1, 3, 5}, nullptr);
  EXPECT_NE(ErrorOf(r).find("has no data"), std::string::npos);
  r.inputs[1].tensor = Tensor();
  EXPECT_NE(ErrorOf(r).find("has no datatype"), std::string::npos);
}

TEST(RequestValidationTest, BatchSizesMustAgreeAndFit) {
  InferRequest r = Request(2, 5);
  r.inputs[0].tensor = Tensor::FromVector(DType::kInt64, {3}, std::vector<int64_t>(3));
  EXPECT_NE(ErrorOf(r).find("has batch size (dim 0) 3"), std::string::npos);
  EXPECT_NE(ErrorOf(Request(5, 5)).find("batch size 5 exceeds the model's max_batch_size 4"), std::string::npos);
  EXPECT_NE(ErrorOf(Request(0, 5)).find("is 0"), std::string::npos);
}

TEST(RequestValidationTest, RequestedOutputs) {
  InferRequest r = Request(1, 5);
  r.requested_outputs = {"scores"};
  auto v = ValidateRequest(Signature(), r);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->output_indices, std::vector<size_t>{1});
  r.requested_outputs = {"logits"};
  EXPECT_NE(ErrorOf(r, StatusCode::kNotFound).find("unknown output 'logits'"), std::string::npos);
  r.requested_outputs = {"boxes", "boxes"};
  EXPECT_NE(ErrorOf(r).find("requested twice"), std::string::npos);
}

TEST(RequestValidationTest, UnbatchedModelNeverMerges) {
  ModelSignature s = Signature();
  s.batchable = false;
  auto v = ValidateRequest(s, Request(7, 5));  // dim 0 is just a dynamic dim here: no limit applies
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->merge_key.empty());
  EXPECT_EQ(v->rows, 1);
}

}  // namespace
}  // namespace tessera::serve
