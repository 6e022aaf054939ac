// The gRPC front end over a fake InferenceService, called through a generated client stub on a local port.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <mutex>
#include <thread>
#include <type_traits>

#include "grpc_predict_v2.grpc.pb.h"
#include "serve/front_end.h"

namespace tessera::serve {
namespace {

template <typename T>
void Fill(google::protobuf::RepeatedField<T>* field, std::initializer_list<std::type_identity_t<T>> values) {
  field->Add(values.begin(), values.end());
}

// Models: "echo" returns its inputs (filtered by the requested outputs); "fail_<code>" fails with that
// code; "block" waits until Release(); everything else is unknown.
class FakeService final : public InferenceService {
 public:
  bool Live() const override { return true; }
  bool Ready() const override { return true; }
  ServerMetadata GetServerMetadata() const override { return {"tessera", "0.test", {"model_repository"}}; }
  StatusOr<bool> ModelReady(const std::string& name, const std::string&) const override {
    if (name != "echo") return NotFound("unknown model '" + name + "'");
    return true;
  }
  StatusOr<serve::ModelMetadata> GetModelMetadata(const std::string& name, const std::string&) const override {
    if (name != "echo") return NotFound("unknown model '" + name + "'");
    return serve::ModelMetadata{
        "echo", {"1"}, "onnx", {{"x", DType::kFloat32, {-1, 3}}}, {{"x", DType::kFloat32, {-1, 3}}}};
  }
  std::vector<RepositoryEntry> RepositoryIndex() const override {
    return {{"echo", "1", "READY", ""}, {"broken", "", "UNAVAILABLE", "bad model"}};
  }
  Status LoadModel(const std::string& name) override {
    return name == "echo" ? Status::Ok() : NotFound("no model folder '" + name + "'");
  }
  Status UnloadModel(const std::string& name) override { return LoadModel(name); }
  std::string MetricsText() const override { return ""; }

  StatusOr<InferResponse> Infer(InferRequest request) override {
    if (request.model_name == "block") {
      std::unique_lock lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
      return InferResponse{"block", "1", request.id, {}};
    }
    if (request.model_name == "fail_unavailable") return Unavailable("model 'fail_unavailable' is shutting down");
    if (request.model_name == "fail_deadline") return DeadlineExceeded("model 'fail_deadline' timed out");
    if (request.model_name == "fail_exhausted") return ResourceExhausted("model 'fail_exhausted' queue is full");
    if (request.model_name != "echo") return NotFound("unknown model '" + request.model_name + "'");
    InferResponse response{"echo", "1", request.id, {}};
    for (auto& in : request.inputs) {
      if (request.requested_outputs.empty() ||
          std::find(request.requested_outputs.begin(), request.requested_outputs.end(), in.name) !=
              request.requested_outputs.end()) {
        response.outputs.push_back(in);
      }
    }
    return response;
  }

  void WaitUntilBlocked() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

class GrpcFrontEndTest : public ::testing::Test {
 protected:
  void Start(FrontEndOptions options = {}) {
    options.host = "127.0.0.1";
    auto front_end = StartGrpcFrontEnd(service_, options);
    ASSERT_TRUE(front_end.ok()) << front_end.status().ToString();
    front_end_ = std::move(front_end).value();
    ASSERT_GT(front_end_->port(), 0);
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(front_end_->port()),
                                             grpc::InsecureChannelCredentials(), args);
    stub_ = inference::GRPCInferenceService::NewStub(channel);
  }

  inference::ModelInferRequest EchoRequest() {
    inference::ModelInferRequest r;
    r.set_model_name("echo");
    r.set_id("abc-123");
    auto* in = r.add_inputs();
    in->set_name("x");
    in->set_datatype("FP32");
    in->add_shape(1);
    in->add_shape(3);
    Fill(in->mutable_contents()->mutable_fp32_contents(), {1.f, 2.f, 3.f});
    return r;
  }

  grpc::Status Infer(const inference::ModelInferRequest& r, inference::ModelInferResponse* response,
                     const std::string& token = "") {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", token);
    return stub_->ModelInfer(&context, r, response);
  }

  FakeService service_;
  std::unique_ptr<FrontEnd> front_end_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcFrontEndTest, HealthAndMetadata) {
  Start();
  grpc::ClientContext c1, c2, c3, c4;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&c1, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerMetadataResponse server;
  ASSERT_TRUE(stub_->ServerMetadata(&c2, {}, &server).ok());
  EXPECT_EQ(server.name(), "tessera");
  EXPECT_EQ(server.extensions(0), "model_repository");
  inference::ModelMetadataRequest mreq;
  mreq.set_name("echo");
  inference::ModelMetadataResponse model;
  ASSERT_TRUE(stub_->ModelMetadata(&c3, mreq, &model).ok());
  EXPECT_EQ(model.inputs(0).datatype(), "FP32");
  EXPECT_EQ(model.inputs(0).shape(0), -1);
  inference::ModelReadyRequest rreq;
  rreq.set_name("nope");
  inference::ModelReadyResponse ready;
  EXPECT_EQ(stub_->ModelReady(&c4, rreq, &ready).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcFrontEndTest, TypedRequestComesBackAsRawWithTheRequestId) {
  Start();
  inference::ModelInferResponse response;
  grpc::Status s = Infer(EchoRequest(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.id(), "abc-123");
  EXPECT_EQ(response.model_name(), "echo");
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  const std::string& raw = response.raw_output_contents(0);
  ASSERT_EQ(raw.size(), 12u);
  float values[3];
  std::memcpy(values, raw.data(), 12);
  EXPECT_EQ(values[2], 3.f);
}

TEST_F(GrpcFrontEndTest, RequestedOutputsSelectOutputs) {
  Start();
  inference::ModelInferRequest r = EchoRequest();
  auto* y = r.add_inputs();
  y->set_name("y");
  y->set_datatype("INT64");
  y->add_shape(1);
  y->mutable_contents()->add_int64_contents(9);
  r.add_outputs()->set_name("y");
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(r, &response).ok());
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "y");
  EXPECT_EQ(response.outputs(0).datatype(), "INT64");
}

TEST_F(GrpcFrontEndTest, ErrorsMapToGrpcCodesAndTheServerKeepsServing) {
  Start();
  struct Case {
    std::string model;
    grpc::StatusCode code;
  };
  for (const Case& c :
       {Case{"nope", grpc::StatusCode::NOT_FOUND}, Case{"fail_unavailable", grpc::StatusCode::UNAVAILABLE},
        Case{"fail_deadline", grpc::StatusCode::DEADLINE_EXCEEDED},
        Case{"fail_exhausted", grpc::StatusCode::RESOURCE_EXHAUSTED}}) {
    inference::ModelInferRequest r = EchoRequest();
    r.set_model_name(c.model);
    inference::ModelInferResponse response;
    grpc::Status s = Infer(r, &response);
    EXPECT_EQ(s.error_code(), c.code) << c.model << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.model), std::string::npos) << s.error_message();
  }
  inference::ModelInferRequest bad = EchoRequest();
  bad.mutable_inputs(0)->mutable_contents()->add_fp32_contents(4.f);
  inference::ModelInferResponse response;
  grpc::Status s = Infer(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("holds 4 elements, the shape needs 3"), std::string::npos) << s.error_message();
  EXPECT_TRUE(Infer(EchoRequest(), &response).ok());
}

TEST_F(GrpcFrontEndTest, BearerTokenIsRequiredExceptForHealth) {
  FrontEndOptions options;
  options.auth_token = "s3cret";
  Start(options);
  inference::ModelInferResponse response;
  grpc::Status missing = Infer(EchoRequest(), &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(missing.error_message().find("missing"), std::string::npos);
  EXPECT_EQ(Infer(EchoRequest(), &response, "Bearer wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Infer(EchoRequest(), &response, "Bearer s3cre").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Infer(EchoRequest(), &response, "s3cret").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Infer(EchoRequest(), &response, "Bearer s3cret").ok());
  EXPECT_TRUE(Infer(EchoRequest(), &response, "bearer s3cret").ok());
  grpc::ClientContext health;
  inference::ServerReadyResponse ready;
  EXPECT_TRUE(stub_->ServerReady(&health, {}, &ready).ok());
  grpc::ClientContext index;
  inference::RepositoryIndexResponse models;
  EXPECT_EQ(stub_->RepositoryIndex(&index, {}, &models).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcFrontEndTest, MessageLargerThanTheLimitIsRefused) {
  FrontEndOptions options;
  options.max_request_bytes = 1024;
  Start(options);
  inference::ModelInferRequest r = EchoRequest();
  r.mutable_inputs(0)->clear_shape();
  r.mutable_inputs(0)->add_shape(1000);
  r.mutable_inputs(0)->mutable_contents()->mutable_fp32_contents()->Resize(1000, 0.5f);
  inference::ModelInferResponse response;
  EXPECT_EQ(Infer(r, &response).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(Infer(EchoRequest(), &response).ok());
}

TEST_F(GrpcFrontEndTest, RepositoryExtension) {
  Start();
  grpc::ClientContext c1, c2, c3, c4;
  inference::RepositoryIndexRequest ready_only;
  ready_only.set_ready(true);
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(&c1, ready_only, &index).ok());
  ASSERT_EQ(index.models_size(), 1);
  EXPECT_EQ(index.models(0).state(), "READY");
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("missing");
  inference::RepositoryModelLoadResponse loaded;
  EXPECT_EQ(stub_->RepositoryModelLoad(&c2, load, &loaded).error_code(), grpc::StatusCode::NOT_FOUND);
  load.set_model_name("echo");
  (*load.mutable_parameters())["config"].set_string_param("{}");
  EXPECT_EQ(stub_->RepositoryModelLoad(&c3, load, &loaded).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("echo");
  inference::RepositoryModelUnloadResponse unloaded;
  EXPECT_TRUE(stub_->RepositoryModelUnload(&c4, unload, &unloaded).ok());
}

// Shutdown must let a call that is already running finish and answer, not cut it off.
TEST_F(GrpcFrontEndTest, ShutdownFinishesCallsInFlight) {
  Start();
  inference::ModelInferRequest r = EchoRequest();
  r.set_model_name("block");
  grpc::Status call_status;
  inference::ModelInferResponse response;
  std::thread call([&] { call_status = Infer(r, &response); });
  service_.WaitUntilBlocked();
  std::thread shutdown([&] { front_end_->Shutdown(); });
  // Shutdown has begun once a new call is refused; only then is the blocked call let go, so the call is
  // certainly in flight while the server shuts down.
  bool refused = false;
  for (int attempt = 0; attempt < 3000 && !refused; ++attempt) {
    grpc::ClientContext probe;
    probe.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    inference::ServerLiveResponse live;
    refused = !stub_->ServerLive(&probe, {}, &live).ok();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused) << "new calls were still accepted after Shutdown began";
  service_.Release();
  shutdown.join();
  call.join();
  EXPECT_TRUE(call_status.ok()) << call_status.error_message();
  EXPECT_EQ(response.id(), "abc-123");
}

TEST_F(GrpcFrontEndTest, PortInUseIsAnError) {
  Start();
  FrontEndOptions options;
  options.host = "127.0.0.1";
  options.port = front_end_->port();
  auto second = StartGrpcFrontEnd(service_, options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(std::to_string(options.port)), std::string::npos);
}

TEST_F(GrpcFrontEndTest, MissingTlsFilesAreNamed) {
  FrontEndOptions options;
  options.tls.cert_file = "/nonexistent/server.pem";
  options.tls.key_file = "/nonexistent/server.key";
  auto front_end = StartGrpcFrontEnd(service_, options);
  ASSERT_FALSE(front_end.ok());
  EXPECT_NE(front_end.status().message().find("/nonexistent/server.pem"), std::string::npos);
}

// Files that exist but hold no usable PEM: the start fails with a status, the process stays up.
TEST_F(GrpcFrontEndTest, UnusableTlsFilesAreAnErrorNotACrash) {
  const std::string dir = ::testing::TempDir();
  const std::string cert = dir + "/grpc_garbage_cert.pem", key = dir + "/grpc_garbage_key.pem";
  for (const std::string& path : {cert, key}) {
    std::ofstream(path) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
  }
  FrontEndOptions options;
  options.host = "127.0.0.1";
  options.tls.cert_file = cert;
  options.tls.key_file = key;
  auto front_end = StartGrpcFrontEnd(service_, options);
  EXPECT_FALSE(front_end.ok());
  std::remove(cert.c_str());
  std::remove(key.c_str());
}

}  // namespace
}  // namespace tessera::serve
