// HttpReplica (http_replica.h) against an in-process cpp-httplib server: answers pass through, streams
// arrive in pieces, and a server that is gone is "no answer" rather than an error status.
#include "serve/replicas/http_replica.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace tessera::serve::replicas {
namespace {

class LocalServer {
 public:
  LocalServer() {
    server_.Get("/v2/health/ready", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"ready\":true}", "application/json");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = req.get_header_value("X-Answer").empty() ? 200 : 400;
      res.set_header("Inference-Header-Content-Length", "3");
      res.set_content(req.body, "application/octet-stream");
    });
    server_.Post("/stream", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream", [](size_t offset, httplib::DataSink& sink) {
        for (const char* event : {"data: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n"}) {
          sink.write(event, std::strlen(event));
        }
        sink.done();
        return true;
      });
    });
    // Answers 200 and then sends nothing until the server stops.
    server_.Post("/silent", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream", [this](size_t, httplib::DataSink& sink) {
        while (!stopping_.load() && sink.is_writable()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return false;
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalServer() { Stop(); }
  void Stop() {
    stopping_.store(true);
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpReplicaTest, AnswersPassThroughWithTheirStatusAndHeaders) {
  LocalServer server;
  auto replica = MakeHttpReplica(server.url(), {});
  ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  EXPECT_TRUE((*replica)->Ready());
  ReplicaReply ok = (*replica)->Post("/echo", "abcdef", "application/octet-stream", {});
  ASSERT_TRUE(ok.answered) << ok.failure;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "abcdef");
  EXPECT_EQ(ok.json_length, "3");
  ReplicaReply refused = (*replica)->Post("/echo", "x", "application/json", {{"X-Answer", "400"}});
  ASSERT_TRUE(refused.answered);
  EXPECT_EQ(refused.status, 400);
}

TEST(HttpReplicaTest, StreamArrivesThroughTheSink) {
  LocalServer server;
  auto replica = MakeHttpReplica(server.url(), {});
  ASSERT_TRUE(replica.ok());
  int status = 0;
  std::string received;
  ReplicaStreamSink sink{[&](int s, const std::string&) { return (status = s), true; },
                         [&](std::string_view data) { return received.append(data), true; }, {}};
  ReplicaReply end = (*replica)->PostStreaming("/stream", "{}", sink);
  EXPECT_TRUE(end.answered) << end.failure;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(received, "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
}

TEST(HttpReplicaTest, StreamThatSendsNothingCanBeBrokenOff) {
  LocalServer server;
  auto replica = MakeHttpReplica(server.url(), {});
  ASSERT_TRUE(replica.ok());
  std::mutex mu;
  std::condition_variable answered_cv;
  bool answered = false;
  std::function<void()> stop;
  ReplicaStreamSink sink;
  sink.on_answer = [&](int, const std::string&) {
    std::lock_guard<std::mutex> lock(mu);
    answered = true;
    answered_cv.notify_all();
    return true;
  };
  sink.on_data = [](std::string_view) { return true; };
  sink.on_stoppable = [&](std::function<void()> s) {
    std::lock_guard<std::mutex> lock(mu);
    stop = std::move(s);
  };
  ReplicaReply end;
  std::thread reader([&] { end = (*replica)->PostStreaming("/silent", "{}", sink); });
  {
    std::unique_lock<std::mutex> lock(mu);
    answered_cv.wait(lock, [&] { return answered; });
    ASSERT_TRUE(stop);
    stop();
  }
  reader.join();  // returns without the server sending anything more (the default read timeout is 120 s)
  EXPECT_FALSE(end.answered);
  EXPECT_FALSE(stop);  // withdrawn once the request was over
}

TEST(HttpReplicaTest, ServerThatIsGoneGivesNoAnswer) {
  LocalServer server;
  auto replica = MakeHttpReplica(server.url(), {});
  ASSERT_TRUE(replica.ok());
  ASSERT_TRUE((*replica)->Get("/v2/health/ready").answered);
  (*replica)->DropConnections();  // else the server's stop waits out the kept-alive connection (5 s)
  server.Stop();
  ReplicaReply reply = (*replica)->Get("/v2/health/ready");
  EXPECT_FALSE(reply.answered);
  EXPECT_NE(reply.failure.find("no answer"), std::string::npos) << reply.failure;
  EXPECT_FALSE((*replica)->Ready());
}

TEST(HttpReplicaTest, UrlsOtherThanHttpHostPortAreRefused) {
  for (const char* bad :
       {"ftp://h:1", "https://h", "h:1", "http://h", "http://:1", "http://h:1/v2", "http://h:x", "http://h:0"}) {
    auto replica = MakeHttpReplica(bad, {});
    ASSERT_FALSE(replica.ok()) << bad;
    EXPECT_NE(replica.status().message().find(bad), std::string::npos) << replica.status().message();
  }
  EXPECT_TRUE(MakeHttpReplica("http://10.0.0.7:8000/", {}).ok());
  EXPECT_TRUE(MakeHttpReplica("https://workers.internal:8443", {}).ok());
}

TEST(HttpReplicaTest, TlsFilesThatDoNotLoadAreNamed) {
  Status missing_ca = CheckReplicaTlsFiles({"/nonexistent/ca.pem", "", ""});
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_NE(missing_ca.message().find("replica CA file '/nonexistent/ca.pem'"), std::string::npos)
      << missing_ca.message();
  Status lone_cert = CheckReplicaTlsFiles({"", "/some/client.pem", ""});
  ASSERT_FALSE(lone_cert.ok());
  EXPECT_NE(lone_cert.message().find("go together"), std::string::npos) << lone_cert.message();
  Status missing_cert = CheckReplicaTlsFiles({"", "/nonexistent/client.pem", "/nonexistent/client.key"});
  ASSERT_FALSE(missing_cert.ok());
  EXPECT_NE(missing_cert.message().find("'/nonexistent/client.pem'"), std::string::npos) << missing_cert.message();
  EXPECT_TRUE(CheckReplicaTlsFiles({}).ok());
}

}  // namespace
}  // namespace tessera::serve::replicas
