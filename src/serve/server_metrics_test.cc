#include "serve/server_metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

namespace tessera::serve {
namespace {

bool Contains(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(ServerMetricsTest, HistogramBucketsAreCumulative) {
  Histogram h({1, 2, 4});
  h.Observe(0.5);
  h.Observe(2);
  h.Observe(3);
  h.Observe(100);
  std::string out;
  h.Render("x", "m=\"a\"", out);
  EXPECT_TRUE(Contains(out, "x_bucket{m=\"a\",le=\"1\"} 1")) << out;
  EXPECT_TRUE(Contains(out, "x_bucket{m=\"a\",le=\"2\"} 2")) << out;
  EXPECT_TRUE(Contains(out, "x_bucket{m=\"a\",le=\"4\"} 3")) << out;
  EXPECT_TRUE(Contains(out, "x_bucket{m=\"a\",le=\"+Inf\"} 4")) << out;
  EXPECT_TRUE(Contains(out, "x_sum{m=\"a\"} 105.5")) << out;
  EXPECT_TRUE(Contains(out, "x_count{m=\"a\"} 4")) << out;
}

TEST(ServerMetricsTest, TextHasEveryFamilyWithTypeLines) {
  ServerMetrics metrics;
  auto m = metrics.ForModel("resnet", "3");
  m->success += 2;
  m->failure += 1;
  m->inflight += 1;
  m->batch_size.Observe(8);
  metrics.InstanceBusy(m, 1)->fetch_add(0.25);
  std::string text = metrics.Text();
  for (const char* line :
       {"# TYPE tessera_requests_total counter",
        "tessera_requests_total{model=\"resnet\",version=\"3\",outcome=\"success\"} 2",
        "tessera_requests_total{model=\"resnet\",version=\"3\",outcome=\"failure\"} 1",
        "# TYPE tessera_request_queue_seconds histogram", "# TYPE tessera_request_compute_seconds histogram",
        "# TYPE tessera_request_duration_seconds histogram", "# TYPE tessera_batch_size histogram",
        "tessera_batch_size_bucket{model=\"resnet\",version=\"3\",le=\"4\"} 0",
        "tessera_batch_size_bucket{model=\"resnet\",version=\"3\",le=\"8\"} 1",
        "tessera_batch_size_count{model=\"resnet\",version=\"3\"} 1",
        "tessera_inflight_requests{model=\"resnet\",version=\"3\"} 1",
        "tessera_instance_busy_seconds_total{model=\"resnet\",version=\"3\",instance=\"0\"} 0",
        "tessera_instance_busy_seconds_total{model=\"resnet\",version=\"3\",instance=\"1\"} 0.25"}) {
    EXPECT_TRUE(Contains(text, line)) << line << "\n" << text;
  }
  // Every sample line is "name{labels} value" with a known family name.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#", 0) == 0) continue;
    EXPECT_EQ(line.rfind("tessera_", 0), 0u) << line;
    EXPECT_NE(line.find("} "), std::string::npos) << line;
  }
}

TEST(ServerMetricsTest, SameModelVersionSharesItsSeries) {
  ServerMetrics metrics;
  EXPECT_EQ(metrics.ForModel("a", "1"), metrics.ForModel("a", "1"));
  EXPECT_NE(metrics.ForModel("a", "1"), metrics.ForModel("a", "2"));
}

TEST(ServerMetricsTest, ConcurrentObservationsAreAllCounted) {
  ServerMetrics metrics;
  auto m = metrics.ForModel("a", "1");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        m->request_seconds.Observe(0.001);
        m->success.fetch_add(1);
      }
    });
  }
  std::string during = metrics.Text();  // rendering while recording must be safe
  for (auto& t : threads) t.join();
  EXPECT_EQ(m->request_seconds.count(), 4000u);
  EXPECT_TRUE(Contains(metrics.Text(), "tessera_requests_total{model=\"a\",version=\"1\",outcome=\"success\"} 4000"));
}

}  // namespace
}  // namespace tessera::serve
