// Error statistics and the per-layer table `tessera quantize` prints.
#include "compress/quantize_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tessera::compress {

ErrorStats CompareValues(const float* q, const float* r, int64_t n) {
  ErrorStats s;
  s.measured = true;
  double dot = 0.0, qq = 0.0, rr = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = q[i], b = r[i];
    const double d = std::fabs(a - b);
    s.max_abs = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(s.max_abs, d);
    dot += a * b;
    qq += a * a;
    rr += b * b;
  }
  if (qq > 0.0 && rr > 0.0) {
    s.cosine = dot / std::sqrt(qq * rr);
  } else if (qq != rr) {
    s.cosine = 0.0;  // one side all zero, the other not
  }
  return s;
}

void MergeErrorStats(ErrorStats& into, const ErrorStats& next) {
  if (!next.measured) return;
  if (!into.measured) {
    into = next;
    return;
  }
  into.max_abs = std::max(into.max_abs, next.max_abs);
  into.cosine = std::min(into.cosine, next.cosine);
}

namespace {

std::string Cell(const ErrorStats& e, bool cosine) {
  if (!e.measured) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, cosine ? "%.6f" : "%.3g", cosine ? e.cosine : e.max_abs);
  return buf;
}

}  // namespace

void PrintQuantizeReport(const QuantizeReport& r, std::ostream& out) {
  char line[512];
  out << "mode: " << QuantizeModeName(r.mode) << "; " << r.layers.size() << " node(s) quantized, " << r.skipped.size()
      << " left in float";
  if (r.samples > 0) out << "; errors over " << r.samples << " calibration sample(s)";
  out << "\n";
  int node_width = 4;  // the longest node name sets the first column, so rows stay aligned
  for (const LayerReport& l : r.layers) node_width = std::max(node_width, static_cast<int>(l.node.size()));
  node_width = std::min(node_width, 200);
  std::snprintf(line, sizeof line, "%-*s %-8s %-34s %-21s %-10s %-10s %-10s %-10s\n", node_width, "node", "op", "form",
                "weight scale range", "w max|e|", "w cosine", "out max|e|", "out cosine");
  out << line;
  for (const LayerReport& l : r.layers) {
    char scales[48] = "-";  // a node without a constant weight (activations only) has no weight scales
    if (l.weight.measured) std::snprintf(scales, sizeof scales, "%.3g..%.3g", l.scale_min, l.scale_max);
    std::snprintf(line, sizeof line, "%-*s %-8s %-34s %-21s %-10s %-10s %-10s %-10s\n", node_width, l.node.c_str(),
                  l.op.c_str(), l.form.c_str(), scales, Cell(l.weight, false).c_str(), Cell(l.weight, true).c_str(),
                  Cell(l.output_error, false).c_str(), Cell(l.output_error, true).c_str());
    out << line;
  }
  for (const SkippedNode& s : r.skipped) {
    out << "left in float: " << s.node << " (" << s.op << "): " << s.reason << "\n";
  }
  for (const auto& [name, e] : r.model_outputs) {
    std::snprintf(line, sizeof line, "model output %s: max abs error %.4g, cosine %.6f vs float\n", name.c_str(),
                  e.max_abs, e.cosine);
    out << line;
  }
  if (r.samples == 0) out << "no calibration samples: output errors not measured (give --calibration DIR)\n";
  std::snprintf(line, sizeof line, "initializers: %.1f KiB -> %.1f KiB\n", r.weight_bytes_before / 1024.0,
                r.weight_bytes_after / 1024.0);
  out << line;
}

}  // namespace tessera::compress
