// `tessera prune IN.onnx OUT.onnx --sparsity S [--structured channels] ...`: writes a pruned copy of a
// model and prints a per-layer report (src/compress/prune.h, docs/compression.md).
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "compress/prune.h"

namespace tessera::cli {
namespace {

constexpr const char* kPruneUsage =
    "usage: tessera prune IN.onnx OUT.onnx --sparsity S [--structured channels] [--calibration DIR] "
    "[--exclude NODE_OR_OP,...]";

StatusOr<compress::PruneOptions> ParseOptions(const CommandLine& cl) {
  compress::PruneOptions o;
  if (!cl.Has("sparsity")) return InvalidArgument("--sparsity S (a fraction between 0 and 1) is required");
  const std::string s = cl.Get("sparsity");
  char* end = nullptr;
  o.sparsity = std::strtod(s.c_str(), &end);
  if (s.empty() || end == nullptr || *end != '\0')
    return InvalidArgument("--sparsity must be a number, got '" + s + "'");
  if (cl.Has("structured")) {
    if (cl.Get("structured") != "channels") {
      return InvalidArgument("--structured must be 'channels', got '" + cl.Get("structured") + "'");
    }
    o.structured_channels = true;
  }
  o.calibration_dir = cl.Get("calibration");
  for (const std::string& v : cl.All("exclude")) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = v.find(',', start);
      const std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) o.exclude.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  TS_RETURN_IF_ERROR(compress::ValidatePruneOptions(o));
  std::error_code ec;
  if (!o.calibration_dir.empty() && !std::filesystem::is_directory(o.calibration_dir, ec)) {
    return InvalidArgument("--calibration '" + o.calibration_dir + "' is not a folder");
  }
  return o;
}

void PrintReport(const compress::QuantizeReport& r, std::ostream& out) {
  out << "pruned " << r.layers.size() << " node(s), " << r.skipped.size() << " left whole";
  if (r.samples > 0) out << "; errors over " << r.samples << " sample(s)";
  out << "\n";
  char line[768];
  for (const compress::LayerReport& l : r.layers) {
    std::snprintf(line, sizeof line, "%s (%s): %s; weight cosine %.6f", l.node.c_str(), l.op.c_str(), l.form.c_str(),
                  l.weight.cosine);
    out << line;
    if (l.output_error.measured) {
      std::snprintf(line, sizeof line, "; %s max abs error %.4g, cosine %.6f", l.output.c_str(), l.output_error.max_abs,
                    l.output_error.cosine);
      out << line;
    }
    out << "\n";
  }
  for (const compress::SkippedNode& s : r.skipped)
    out << "left whole: " << s.node << " (" << s.op << "): " << s.reason << "\n";
  for (const auto& [name, e] : r.model_outputs) {
    std::snprintf(line, sizeof line, "model output %s: max abs error %.4g, cosine %.6f vs float\n", name.c_str(),
                  e.max_abs, e.cosine);
    out << line;
  }
  if (r.samples == 0) out << "no samples: output errors not measured (give --calibration DIR)\n";
  std::snprintf(line, sizeof line, "initializers: %.1f KiB -> %.1f KiB\n", r.weight_bytes_before / 1024.0,
                r.weight_bytes_after / 1024.0);
  out << line;
}

}  // namespace

int PruneCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"sparsity", "structured", "calibration", "exclude"}, {});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 2) return Fail(InvalidArgument(kPruneUsage), kExitUsage);
  auto options = ParseOptions(*cl);
  if (!options.ok()) return Fail(options.status(), kExitUsage);
  auto report = compress::PruneModelFile(cl->positional()[0], cl->positional()[1], *options);
  if (!report.ok()) return Fail(report.status());
  PrintReport(*report, std::cout);
  std::cout << "wrote " << cl->positional()[1] << "\n";
  return kExitOk;
}

}  // namespace tessera::cli
