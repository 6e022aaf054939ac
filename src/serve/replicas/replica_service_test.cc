// The routing server's InferenceService (replica_service.h) over fake replicas: requests travel as a
// Tessera server reads them, answers come back decoded, and readiness follows the replicas.
#include "serve/replicas/replica_service.h"

#include <gtest/gtest.h>

#include "serve/http/infer_codec.h"
#include "serve/replicas/fake_replica_test_util.h"

namespace tessera::serve::replicas {
namespace {

using testing::Answer;
using testing::FakeReplicas;

// A fake worker that serves y = x + 1 for model "m" the way `tessera serve` does.
ReplicaReply AddOne(const std::string& path, const std::string& body, size_t json_length) {
  if (path != "/v2/models/m/versions/2/infer") return Answer(404, R"({"error":"unknown model"})");
  auto request = http::DecodeInferRequest(body, json_length, "m", "2");
  if (!request.ok()) return Answer(400, R"({"error":"bad"})");
  InferResponse response;
  response.model_name = "m";
  response.model_version = "2";
  response.id = request->request.id;
  const Tensor& x = request->request.inputs[0].tensor;
  std::vector<float> y(x.data<float>(), x.data<float>() + x.element_count());
  for (float& v : y) v += 1;
  response.outputs.push_back({"y", Tensor::FromVector<float>(DType::kFloat32, x.shape(), y)});
  auto encoded = http::EncodeInferResponse(response, request->encoding);
  return Answer(200, encoded.body, std::to_string(*encoded.json_length));
}

InferRequest RequestForM(std::vector<float> x) {
  InferRequest request;
  request.model_name = "m";
  request.model_version = "2";
  request.id = "r-1";
  request.inputs.push_back({"x", Tensor::FromVector<float>(DType::kFloat32, {static_cast<int64_t>(x.size())}, x)});
  return request;
}

TEST(ReplicaServiceTest, InferenceIsForwardedAndItsAnswerDecoded) {
  FakeReplicas r(1);
  r[0].answer = [&fake = r[0]](const std::string& path, const std::string& body) {
    return AddOne(path, body, fake.sent_json_length);
  };
  auto service = MakeReplicaService(std::move(r.set));
  auto response = service->Infer(RequestForM({1.5f, -2.0f}));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->id, "r-1");
  ASSERT_EQ(response->outputs.size(), 1u);
  EXPECT_EQ(response->outputs[0].tensor.data<float>()[0], 2.5f);
  EXPECT_EQ(response->outputs[0].tensor.data<float>()[1], -1.0f);
}

TEST(ReplicaServiceTest, ReplicaErrorsKeepTheirCodeAndMessage) {
  FakeReplicas r(1);
  r[0].answer = [&fake = r[0]](const std::string& path, const std::string& body) {
    return AddOne(path, body, fake.sent_json_length);
  };
  auto service = MakeReplicaService(std::move(r.set));
  InferRequest request = RequestForM({1.0f});
  request.model_name = "other";
  auto response = service->Infer(std::move(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(response.status().message(), "unknown model");
}

TEST(ReplicaServiceTest, ReadyWhileOneReplicaIsUpAndMetricsShowEach) {
  FakeReplicas r(2);
  ReplicaSet& set = *r.set;
  auto service = MakeReplicaService(std::move(r.set));
  EXPECT_TRUE(service->Ready());
  r[0].ready = false;
  set.CheckHealth();
  EXPECT_TRUE(service->Ready());
  const std::string text = service->MetricsText();
  EXPECT_NE(text.find("tessera_replicas_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tessera_replicas_healthy 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tessera_replica_up{replica=\"http://replica-0\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tessera_replica_up{replica=\"http://replica-1\"} 1\n"), std::string::npos) << text;
  r[1].ready = false;
  set.CheckHealth();
  EXPECT_FALSE(service->Ready());
  auto response = service->Infer(RequestForM({1.0f}));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
}

TEST(ReplicaServiceTest, ModelNotReadyOnTheReplicaIsFalseNotAnError) {
  FakeReplicas r(1);
  r[0].answer = [](const std::string& path, const std::string&) {
    return path == "/v2/models/m/ready" ? Answer(503, R"({"name":"m","ready":false})")
                                        : Answer(404, R"({"error":"unknown model 'x'"})");
  };
  auto service = MakeReplicaService(std::move(r.set));
  auto ready = service->ModelReady("m", "");
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_FALSE(*ready);
  EXPECT_EQ(service->ModelReady("x", "").status().code(), StatusCode::kNotFound);
}

TEST(ReplicaServiceTest, ModelNamesAreEscapedInTheReplicaPath) {
  FakeReplicas r(1);
  std::string seen;
  r[0].answer = [&seen](const std::string& path, const std::string&) {
    seen = path;
    return Answer(200, R"({"name":"a b/c","versions":["1"],"platform":"onnx","inputs":[],"outputs":[]})");
  };
  auto service = MakeReplicaService(std::move(r.set));
  auto metadata = service->GetModelMetadata("a b/c", "");
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(seen, "/v2/models/a%20b%2Fc");
  EXPECT_EQ(metadata->name, "a b/c");
}

}  // namespace
}  // namespace tessera::serve::replicas
