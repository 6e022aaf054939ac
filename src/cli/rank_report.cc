// Rank reports: six numbers per rank in one all-gather; the memory check on the weightless graph.
#include "cli/rank_report.h"

#include <cstdio>
#include <filesystem>

#include "model/onnx_loader.h"
#include "parallel/planner/memory_fit.h"
#include "runtime/session_factory.h"

namespace tessera::cli {

namespace {

constexpr int64_t kFields = 6;

std::string PlaceOf(const GridPosition& p) {
  return "data " + std::to_string(p.data) + ", stage " + std::to_string(p.stage) + ", shard " +
         std::to_string(p.shard);
}

}  // namespace

StatusOr<std::vector<RankReport>> GatherRankReports(Communicator& comm, const PlanRunner& runner) {
  const RankLoadStats& load = runner.load_stats();
  const GridPosition& pos = runner.position();
  const std::vector<int64_t> mine = {static_cast<int64_t>(load.seconds * 1e6),
                                     static_cast<int64_t>(load.weight_bytes),
                                     static_cast<int64_t>(load.peak_resident_bytes),
                                     static_cast<int64_t>(PeakResidentBytes()),
                                     pos.stage,
                                     pos.shard * 1000000 + pos.data};
  TS_ASSIGN_OR_RETURN(Tensor all, comm.AllGather(Tensor::FromVector<int64_t>(DType::kInt64, {kFields}, mine), 0));
  std::vector<RankReport> reports;
  if (comm.rank() != 0) return reports;
  const int64_t* v = all.data<int64_t>();
  for (int64_t r = 0; r * kFields < all.element_count(); ++r) {
    const int64_t* f = v + r * kFields;
    RankReport report;
    report.rank = static_cast<int>(r);
    report.load_seconds = static_cast<double>(f[0]) / 1e6;
    report.weight_bytes = static_cast<size_t>(f[1]);
    report.load_peak_resident_bytes = static_cast<size_t>(f[2]);
    report.peak_resident_bytes = static_cast<size_t>(f[3]);
    GridPosition p;
    p.stage = static_cast<int>(f[4]);
    p.shard = static_cast<int>(f[5] / 1000000);
    p.data = static_cast<int>(f[5] % 1000000);
    report.place = PlaceOf(p);
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string RankReportsJson(const std::vector<RankReport>& reports) {
  std::string json = "[";
  for (const RankReport& r : reports) {
    char entry[320];
    std::snprintf(entry, sizeof entry,
                  "%s{\"rank\": %d, \"place\": \"%s\", \"load_seconds\": %.3f, \"weight_bytes\": %zu, "
                  "\"load_peak_rss_bytes\": %zu, \"peak_rss_bytes\": %zu}",
                  json.size() > 1 ? ", " : "", r.rank, r.place.c_str(), r.load_seconds, r.weight_bytes,
                  r.load_peak_resident_bytes, r.peak_resident_bytes);
    json += entry;
  }
  return json + "]";
}

Status CheckMemoryPerRank(const std::string& model_path, const PlanSpec& spec, double cap_bytes) {
  LoadOptions options = KernelAwareLoadOptions();
  options.defer_weight_copies = true;  // views into the file, never read: only the weights' sizes count
  TS_ASSIGN_OR_RETURN(Model model, LoadModelFromFile(model_path, options));
  return CheckPlanFitsMemory(*model.graph, model.display_name, spec, cap_bytes);
}

}  // namespace tessera::cli
