// Measurements for docs/tensor_parallelism.md, not checks: disabled by default, run with
//   TESSERA_MODEL_CACHE=... tessera_unit_tests --gtest_also_run_disabled_tests \
//       --gtest_filter='TensorParallelMeasure.*'
// BERT latency unsplit and at tp=2 (ranks as threads of this process, one core each), the all-reduce
// share from the per-op profile, and resident memory after the sessions are built.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "core/npy.h"
#include "model/onnx_loader.h"
#include "parallel/comm/thread_communicator.h"
#include "parallel/tensor/tensor_parallel.h"
#include "runtime/node_profile.h"
#include "runtime/session_factory.h"

namespace tessera {
namespace {

int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
  }
  return -1;
}

std::string BertDir() {
  const char* cache = std::getenv("TESSERA_MODEL_CACHE");
  return cache == nullptr ? "" : std::string(cache) + "/torch/bert";
}

std::vector<std::pair<std::string, Tensor>> BertFeeds(const std::string& dir) {
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const char* name : {"input_ids", "attention_mask"}) {
    auto t = ReadNpy(dir + "/inputs/" + name + ".npy");
    if (t.ok()) feeds.push_back({name, *t});
  }
  return feeds;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

constexpr int kRuns = 7;

TEST(TensorParallelMeasure, DISABLED_BertLatencyAndAllReduceShare) {
  const std::string dir = BertDir();
  if (dir.empty()) GTEST_SKIP() << "TESSERA_MODEL_CACHE not set";
  const auto feeds = BertFeeds(dir);
  for (int tp : {1, 2}) {
    for (int threads : {1, 2}) {
      if (tp * threads > 2) continue;  // the measuring machine has 2 cores
      std::vector<double> ms;
      std::map<std::string, double> by_op;
      const int64_t rss_before = ResidentBytes();
      int64_t rss_built = 0;
      auto statuses = RunOnThreads(tp, [&](Communicator& comm) -> Status {
        TS_ASSIGN_OR_RETURN(GraphRewrite rewrite, MakeTensorParallelRewrite(comm));
        SessionOptions options;
        options.threads = threads;
        TS_ASSIGN_OR_RETURN(auto session, LoadSessionWithRewrite(dir + "/model.onnx", options, rewrite));
        TS_RETURN_IF_ERROR(comm.Barrier());
        if (comm.rank() == 0) rss_built = ResidentBytes();
        TS_RETURN_IF_ERROR(session->Run(feeds).status());  // warm-up
        NodeProfiler profiler;
        for (int i = 0; i < kRuns; ++i) {
          TS_RETURN_IF_ERROR(comm.Barrier());
          const auto start = std::chrono::steady_clock::now();
          {
            NodeProfiler::Scope scope(profiler);
            TS_RETURN_IF_ERROR(session->Run(feeds).status());
          }
          const double elapsed =
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
          if (comm.rank() == 0) ms.push_back(elapsed);
        }
        if (comm.rank() == 0) {
          for (const OpTypeTime& t : profiler.ByOpType()) by_op[t.op_type] = t.total_ms / kRuns;
        }
        return Status::Ok();
      });
      for (const Status& s : statuses) ASSERT_TRUE(s.ok()) << s.ToString();
      double total = 0;
      for (const auto& [op, t] : by_op) total += t;
      const double reduce = by_op["com.tessera.AllReduceSum"];
      std::printf("bert tp=%d threads/rank=%d: median %.1f ms over %d runs; all-reduce %.1f ms/run (%.1f%% of op time); "
                  "resident after build %.0f MiB (process grew %.0f MiB)\n",
                  tp, threads, Median(ms), kRuns, reduce, total > 0 ? 100 * reduce / total : 0.0,
                  static_cast<double>(rss_built) / (1 << 20), static_cast<double>(rss_built - rss_before) / (1 << 20));
    }
  }
}

}  // namespace
}  // namespace tessera
