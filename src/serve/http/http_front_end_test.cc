// The REST front end against a fake InferenceService, through a real HTTP client on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "serve/front_end.h"

namespace tessera::serve {
namespace {

using nlohmann::json;

// Model "double" (y = 2x over FP32 input "x"); models "busy" and "slow" fail as an overloaded or late
// server would; "gate" blocks each inference until Open() so tests can hold a request in flight.
class FakeService : public InferenceService {
 public:
  bool Live() const override { return true; }
  bool Ready() const override { return true; }
  ServerMetadata GetServerMetadata() const override { return {"tessera", "test", {"binary_tensor_data"}}; }
  StatusOr<bool> ModelReady(const std::string& name, const std::string& version) const override {
    if (name != "double" || (!version.empty() && version != "1")) return NotFound("unknown model '" + name + "'");
    return loaded_.load();
  }
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& name, const std::string& version) const override {
    if (name != "double") return NotFound("unknown model '" + name + "'");
    return ModelMetadata{"double", {"1"}, "onnx", {{"x", DType::kFloat32, {-1, 3}}}, {{"y", DType::kFloat32, {-1, 3}}}};
  }
  std::vector<RepositoryEntry> RepositoryIndex() const override {
    return {{"double", loaded_ ? "1" : "", loaded_ ? "READY" : "UNAVAILABLE", loaded_ ? "" : "unloaded"}};
  }
  Status LoadModel(const std::string& name) override {
    if (name != "double") return NotFound("no model '" + name + "' in the repository");
    loaded_ = true;
    return Status::Ok();
  }
  Status UnloadModel(const std::string& name) override {
    if (name != "double") return NotFound("no model '" + name + "'");
    loaded_ = false;
    return Status::Ok();
  }
  StatusOr<InferResponse> Infer(InferRequest request) override {
    if (request.model_name == "busy") return Unavailable("shutting down");
    if (request.model_name == "slow") return DeadlineExceeded("timed out in the queue");
    if (request.model_name == "gate") {
      std::unique_lock<std::mutex> lock(mutex_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
      return InferResponse{"gate", "1", request.id, {}};
    }
    if (request.model_name != "double") return NotFound("unknown model '" + request.model_name + "'");
    if (request.inputs.size() != 1 || request.inputs[0].name != "x" ||
        request.inputs[0].tensor.dtype() != DType::kFloat32) {
      return InvalidArgument("model 'double' takes one FP32 input 'x'");
    }
    const Tensor& x = request.inputs[0].tensor;
    auto y = Tensor::Allocate(DType::kFloat32, x.shape());
    for (int64_t i = 0; i < x.element_count(); ++i) y->data<float>()[i] = 2 * x.data<float>()[i];
    return InferResponse{"double", "1", request.id, {{"y", *y}}};
  }
  std::string MetricsText() const override { return "# TYPE tessera_requests counter\ntessera_requests 3\n"; }

  void WaitUntilEntered() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::atomic<bool> loaded_{true};  // flipped by one handler thread, read by others
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false, open_ = false;
};

class HttpFrontEndTest : public ::testing::Test {
 protected:
  void Start(FrontEndOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    auto fe = StartHttpFrontEnd(service_, options);
    ASSERT_TRUE(fe.ok()) << fe.status().ToString();
    front_end_ = std::move(fe).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", front_end_->port());
  }
  static json Body(const httplib::Result& r) { return json::parse(r->body); }

  FakeService service_;
  std::unique_ptr<FrontEnd> front_end_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpFrontEndTest, HealthAndMetadata) {
  Start();
  auto live = client_->Get("/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(Body(live)["live"], true);
  auto server = client_->Get("/v2");
  EXPECT_EQ(Body(server)["name"], "tessera");
  auto model = client_->Get("/v2/models/double/versions/1");
  EXPECT_EQ(Body(model)["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(Body(model)["inputs"][0]["shape"], json::parse("[-1,3]"));
  EXPECT_EQ(client_->Get("/v2/models/double/ready")->status, 200);
  auto missing = client_->Get("/v2/models/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(Body(missing)["error"].get<std::string>().find("nope"), std::string::npos);
  auto metrics = client_->Get("/metrics");
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_NE(metrics->body.find("tessera_requests 3"), std::string::npos);
  auto unknown = client_->Get("/v3/whatever");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_TRUE(Body(unknown).contains("error"));
}

TEST_F(HttpFrontEndTest, JsonInferenceEchoesIdAndComputes) {
  Start();
  auto r = client_->Post("/v2/models/double/infer",
                         R"({"id":"q1","inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[[1,2.5,-3]]}]})",
                         "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json body = Body(r);
  EXPECT_EQ(body["id"], "q1");
  EXPECT_EQ(body["model_name"], "double");
  EXPECT_EQ(body["outputs"][0]["data"], json::parse("[2.0, 5.0, -6.0]"));
}

TEST_F(HttpFrontEndTest, BinaryInferenceRoundTrip) {
  Start();
  const std::string head =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}],)"
      R"("outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  const float x[2] = {0.5f, 4.0f};
  httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(head.size())}};
  auto r = client_->Post("/v2/models/double/infer", headers, head + std::string(reinterpret_cast<const char*>(x), 8),
                         "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const size_t json_length = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  json out = json::parse(r->body.substr(0, json_length));
  EXPECT_EQ(out["outputs"][0]["parameters"]["binary_data_size"], 8);
  float y[2];
  ASSERT_EQ(r->body.size(), json_length + 8);
  std::memcpy(y, r->body.data() + json_length, 8);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 8.0f);
}

TEST_F(HttpFrontEndTest, ErrorsMapToHttpCodesWithJsonBodies) {
  Start();
  const std::string good = R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})";
  struct Case {
    std::string path, body;
    int status;
  };
  const Case cases[] = {
      {"/v2/models/double/infer", "{not json", 400},
      {"/v2/models/double/infer", R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]})", 400},
      {"/v2/models/double/infer", R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}]})", 400},
      {"/v2/models/missing/infer", good, 404},
      {"/v2/models/busy/infer", good, 503},
      {"/v2/models/slow/infer", good, 504},
  };
  for (const Case& c : cases) {
    auto r = client_->Post(c.path.c_str(), c.body, "application/json");
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, c.status) << c.path << " " << c.body << " -> " << r->body;
    EXPECT_TRUE(Body(r)["error"].is_string()) << r->body;
  }
  httplib::Headers bad_length = {{"Inference-Header-Content-Length", "lots"}};
  EXPECT_EQ(client_->Post("/v2/models/double/infer", bad_length, good, "application/json")->status, 400);
}

TEST_F(HttpFrontEndTest, BearerTokenGuardsAllButHealth) {
  FrontEndOptions options;
  options.auth_token = "s3cret";
  Start(options);
  EXPECT_EQ(client_->Get("/v2/health/ready")->status, 200);
  auto missing = client_->Get("/v2");
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(client_->Get("/v2", {{"Authorization", "Bearer s3cre"}})->status, 401);
  EXPECT_EQ(client_->Get("/v2", {{"Authorization", "Bearer s3cret2"}})->status, 401);
  EXPECT_EQ(client_->Get("/v2", {{"Authorization", "Basic s3cret"}})->status, 401);
  EXPECT_EQ(client_->Get("/metrics")->status, 401);
  EXPECT_EQ(client_->Get("/v2", {{"Authorization", "Bearer s3cret"}})->status, 200);
}

// Sends `head` and `body` on a fresh connection and reads the answer (a JSON error body); with
// `then_health`, then asks for /v2/health/live on the same connection. Returns everything read.
std::string Exchange(int port, const std::string& head, const std::string& body, bool then_health = false) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "";
  auto send_all = [fd](const std::string& s) {
    return write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  };
  std::string response;
  char buf[4096];
  auto read_until = [&](size_t closing_braces) {
    for (ssize_t n; std::count(response.begin(), response.end(), '}') < static_cast<long>(closing_braces) &&
                    (n = read(fd, buf, sizeof(buf))) > 0;) {
      response.append(buf, static_cast<size_t>(n));
    }
  };
  if (send_all(head + body)) {
    read_until(1);
    if (then_health && send_all("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")) read_until(2);
  }
  close(fd);
  return response;
}

std::string InferHead(size_t length, const std::string& extra = "") {
  return "POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

TEST_F(HttpFrontEndTest, OversizedBodyIsRefusedFromItsHeaders) {
  FrontEndOptions options;
  options.max_request_bytes = 1000;
  Start(options);
  // With Expect: 100-continue the body never comes: an answer at all proves the server did not wait for it.
  const std::string refused = Exchange(front_end_->port(), InferHead(5000000, "Expect: 100-continue\r\n"), "");
  EXPECT_EQ(refused.rfind("HTTP/1.1 413", 0), 0u) << refused;
  EXPECT_NE(refused.find("max-request-bytes"), std::string::npos) << refused;
  // Without it the body is discarded unread and the connection stays usable for the next request.
  const std::string both = Exchange(front_end_->port(), InferHead(1001), std::string(1001, 'x'), true);
  EXPECT_EQ(both.rfind("HTTP/1.1 413", 0), 0u) << both;
  EXPECT_NE(both.find("HTTP/1.1 200"), std::string::npos) << both;
  EXPECT_NE(both.find("\"live\":true"), std::string::npos) << both;
  const std::string body = R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})";
  EXPECT_EQ(client_->Post("/v2/models/double/infer", body, "application/json")->status, 200);
}

TEST_F(HttpFrontEndTest, RefusedBodyDoesNotDesynchroniseTheConnection) {
  FrontEndOptions options;
  options.auth_token = "t";
  Start(options);
  // A body that looks like a request of its own: were it left unread, it would be answered as one.
  const std::string sneaky = "GET /v2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n";
  const std::string out = Exchange(front_end_->port(), InferHead(sneaky.size()), sneaky, true);
  EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << out;
  EXPECT_EQ(out.find("\"extensions\""), std::string::npos) << "the body was served as a request: " << out;
  EXPECT_NE(out.find("\"live\":true"), std::string::npos) << out;
}

// Regression: a refusal decided at admission was answered only by POST endpoints, so a GET carrying a
// body skipped the token check.
TEST_F(HttpFrontEndTest, GetWithABodyStillNeedsTheToken) {
  FrontEndOptions options;
  options.auth_token = "t";
  Start(options);
  const std::string out =
      Exchange(front_end_->port(), "GET /v2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", "{}");
  EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << out;
  EXPECT_EQ(out.find("extensions"), std::string::npos) << out;
}

TEST_F(HttpFrontEndTest, RepositoryIndexLoadUnload) {
  Start();
  auto index = client_->Post("/v2/repository/index", "", "application/json");
  EXPECT_EQ(Body(index)[0]["state"], "READY");
  EXPECT_EQ(client_->Post("/v2/repository/models/double/unload", "", "application/json")->status, 200);
  EXPECT_EQ(client_->Get("/v2/models/double/ready")->status, 503);
  EXPECT_EQ(Body(client_->Post("/v2/repository/index", R"({"ready": true})", "application/json")).size(), 0u);
  EXPECT_EQ(client_->Post("/v2/repository/models/double/load", "", "application/json")->status, 200);
  EXPECT_EQ(client_->Post("/v2/repository/models/ghost/load", "", "application/json")->status, 404);
  EXPECT_EQ(client_->Post("/v2/repository/index", R"({"ready": 3})", "application/json")->status, 400);
}

TEST_F(HttpFrontEndTest, ShutdownAnswersTheRequestInFlight) {
  Start();
  const int port = front_end_->port();
  auto in_flight = std::async(std::launch::async, [port] {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Post("/v2/models/gate/infer", R"({"id":"last","inputs":[]})", "application/json");
    return r ? r->status : -1;
  });
  service_.WaitUntilEntered();
  auto shutdown = std::async(std::launch::async, [&] { front_end_->Shutdown(); });
  service_.Open();
  EXPECT_EQ(in_flight.get(), 200);
  shutdown.get();
  httplib::Client after("127.0.0.1", port);
  EXPECT_FALSE(after.Get("/v2/health/live")) << "still accepting after Shutdown";
}

TEST_F(HttpFrontEndTest, MissingTlsFilesAreNamed) {
  FrontEndOptions options;
  options.tls.cert_file = "/nonexistent/cert.pem";
  options.tls.key_file = "/nonexistent/key.pem";
  auto fe = StartHttpFrontEnd(service_, options);
  ASSERT_FALSE(fe.ok());
  EXPECT_NE(fe.status().message().find("/nonexistent/cert.pem"), std::string::npos);
}

}  // namespace
}  // namespace tessera::serve
