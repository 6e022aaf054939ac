#include "serve/http/infer_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace tessera::serve::http {
namespace {

using nlohmann::json;

TEST(InferCodecTest, JsonRequestWithIdOutputsAndParameters) {
  const std::string body = R"({"id": "req-7", "parameters": {"binary_data_output": true},
    "inputs": [{"name": "x", "shape": [2], "datatype": "INT64", "data": [3, -4]}],
    "outputs": [{"name": "y", "parameters": {"binary_data": false}}, {"name": "z"}]})";
  auto d = DecodeInferRequest(body, std::nullopt, "m", "2");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->request.model_name, "m");
  EXPECT_EQ(d->request.model_version, "2");
  EXPECT_EQ(d->request.id, "req-7");
  ASSERT_EQ(d->request.inputs.size(), 1u);
  EXPECT_EQ(d->request.inputs[0].tensor.data<int64_t>()[1], -4);
  EXPECT_EQ(d->request.requested_outputs, (std::vector<std::string>{"y", "z"}));
  EXPECT_FALSE(d->encoding.Binary("y"));
  EXPECT_TRUE(d->encoding.Binary("z"));
  EXPECT_TRUE(d->encoding.Binary("unlisted"));
}

TEST(InferCodecTest, BinaryInputsFollowTheJsonInOrder) {
  const std::string header = R"({"inputs": [
    {"name": "a", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
    {"name": "b", "shape": [1], "datatype": "INT32", "data": [9]},
    {"name": "c", "shape": [1], "datatype": "INT8", "parameters": {"binary_data_size": 1}}]})";
  const float a[2] = {1.5f, -2.0f};
  std::string body = header + std::string(reinterpret_cast<const char*>(a), 8) + "\x05";
  auto d = DecodeInferRequest(body, header.size(), "m", "");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->request.inputs[0].tensor.data<float>()[1], -2.0f);
  EXPECT_EQ(d->request.inputs[1].tensor.data<int32_t>()[0], 9);
  EXPECT_EQ(d->request.inputs[2].tensor.data<int8_t>()[0], 5);

  EXPECT_FALSE(DecodeInferRequest(body + "!", header.size(), "m", "").ok()) << "unclaimed trailing bytes";
  EXPECT_FALSE(DecodeInferRequest(body.substr(0, body.size() - 1), header.size(), "m", "").ok()) << "short data";
  EXPECT_FALSE(DecodeInferRequest(body, body.size() + 1, "m", "").ok()) << "header length past the body";
}

struct BadRequest {
  const char* what;
  const char* body;
  const char* message_part;
};

TEST(InferCodecTest, MalformedRequestsAreInvalidArgumentsThatSayWhy) {
  const BadRequest cases[] = {
      {"not json", "{\"inputs\": [", "not valid JSON"},
      {"not an object", "[1]", "JSON object"},
      {"no inputs", "{}", "'inputs'"},
      {"input without name", R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})", "'name'"},
      {"unknown datatype", R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP8","data":[1]}]})", "FP8"},
      {"negative dim", R"({"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}]})", "non-negative"},
      {"no data", R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]})", "neither"},
      {"count mismatch", R"({"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3]}]})", "3 values"},
      {"duplicate input", R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]},
                                        {"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})",
       "twice"},
      {"id not a string", R"({"id": 5, "inputs":[]})", "'id'"},
      {"binary size without header", R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32",
                                         "parameters":{"binary_data_size":4}}]})",
       "runs past"},
      {"outputs not an array", R"({"inputs":[], "outputs": {}})", "'outputs'"},
  };
  for (const BadRequest& c : cases) {
    auto d = DecodeInferRequest(c.body, std::nullopt, "m", "");
    ASSERT_FALSE(d.ok()) << c.what;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(d.status().message().find(c.message_part), std::string::npos) << c.what << ": " << d.status().message();
  }
}

TEST(InferCodecTest, ResponseMixesJsonAndBinaryOutputs) {
  InferResponse r;
  r.model_name = "m";
  r.model_version = "1";
  r.id = "abc";
  r.outputs.push_back({"probs", Tensor::FromVector<float>(DType::kFloat32, {1, 2}, {0.25f, 0.75f})});
  r.outputs.push_back({"label", Tensor::FromVector<int64_t>(DType::kInt64, {1}, {7})});
  OutputEncoding all_json;
  EncodedInferResponse j = EncodeInferResponse(r, all_json);
  EXPECT_FALSE(j.json_length.has_value());
  json parsed = json::parse(j.body);
  EXPECT_EQ(parsed["id"], "abc");
  EXPECT_EQ(parsed["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(parsed["outputs"][0]["shape"], json::parse("[1,2]"));
  EXPECT_EQ(parsed["outputs"][0]["data"], json::parse("[0.25, 0.75]"));

  OutputEncoding probs_binary;
  probs_binary.binary_by_name["probs"] = true;
  EncodedInferResponse b = EncodeInferResponse(r, probs_binary);
  ASSERT_TRUE(b.json_length.has_value());
  json head = json::parse(b.body.substr(0, *b.json_length));
  EXPECT_EQ(head["outputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_FALSE(head["outputs"][0].contains("data"));
  EXPECT_EQ(head["outputs"][1]["data"], json::parse("[7]"));
  ASSERT_EQ(b.body.size(), *b.json_length + 8);
  float back[2];
  std::memcpy(back, b.body.data() + *b.json_length, 8);
  EXPECT_EQ(back[1], 0.75f);
}

// A forwarding server (serve/replicas/) writes requests with EncodeInferRequest that a Tessera server reads
// with DecodeInferRequest, and reads its binary answers back with DecodeInferResponse.
TEST(InferCodecTest, ForwardedRequestAndResponseRoundTrip) {
  InferRequest request;
  request.id = "fwd-3";
  request.inputs.push_back({"x", Tensor::FromVector<float>(DType::kFloat32, {2}, {1.25f, -3.5f})});
  request.inputs.push_back({"n", Tensor::FromVector<int64_t>(DType::kInt64, {1}, {-9})});
  request.requested_outputs = {"y"};
  const EncodedInferRequest encoded = EncodeInferRequest(request);
  auto d = DecodeInferRequest(encoded.body, encoded.json_length, "m", "1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->request.id, "fwd-3");
  ASSERT_EQ(d->request.inputs.size(), 2u);
  EXPECT_EQ(d->request.inputs[0].tensor.data<float>()[1], -3.5f);
  EXPECT_EQ(d->request.inputs[1].tensor.data<int64_t>()[0], -9);
  EXPECT_EQ(d->request.requested_outputs, (std::vector<std::string>{"y"}));
  EXPECT_TRUE(d->encoding.Binary("y"));

  InferResponse r;
  r.model_name = "m";
  r.model_version = "1";
  r.id = "fwd-3";
  r.outputs.push_back({"y", Tensor::FromVector<float>(DType::kFloat32, {1, 2}, {0.5f, 2.0f})});
  const EncodedInferResponse answer = EncodeInferResponse(r, d->encoding);
  auto back = DecodeInferResponse(answer.body, answer.json_length);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->model_version, "1");
  EXPECT_EQ(back->id, "fwd-3");
  ASSERT_EQ(back->outputs.size(), 1u);
  EXPECT_EQ(back->outputs[0].tensor.shape(), (Shape{1, 2}));
  EXPECT_EQ(back->outputs[0].tensor.data<float>()[1], 2.0f);
}

TEST(InferCodecTest, ResponseWithBinaryDataPastItsEndIsRefused) {
  const std::string header =
      R"({"outputs": [{"name": "y", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}]})";
  auto r = DecodeInferResponse(header + "abcd", header.size());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("output 'y'"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tessera::serve::http
