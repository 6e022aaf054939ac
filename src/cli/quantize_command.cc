// `tessera quantize IN.onnx OUT.onnx --mode weights|dynamic|static ...`: writes a quantized copy of a
// model and prints a per-layer report (src/compress/, docs/compression.md).
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "compress/quantize.h"

namespace tessera::cli {
namespace {

constexpr const char* kQuantizeUsage =
    "usage: tessera quantize IN.onnx OUT.onnx --mode weights|dynamic|static [--bits 4|8] [--block 32] "
    "[--symmetric] [--per-channel] [--calibration DIR] [--calibrate minmax|percentile|entropy] "
    "[--exclude NODE_OR_OP,...]";

std::vector<std::string> SplitCommas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = v.find(',', start);
      const std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// The options from the command line; every error here is a usage error.
StatusOr<compress::QuantizeOptions> ParseOptions(const CommandLine& cl) {
  compress::QuantizeOptions o;
  if (!cl.Has("mode")) return InvalidArgument("--mode weights|dynamic|static is required");
  TS_ASSIGN_OR_RETURN(o.mode, compress::ParseQuantizeMode(cl.Get("mode")));
  const int64_t default_bits = o.mode == compress::QuantizeMode::kWeights ? 4 : 8;
  TS_ASSIGN_OR_RETURN(int64_t bits, cl.GetInt("bits", default_bits, 1, 64));
  o.bits = static_cast<int>(bits);
  TS_ASSIGN_OR_RETURN(o.block_size, cl.GetInt("block", 32, 1, int64_t{1} << 30));
  o.symmetric = cl.Has("symmetric");
  o.per_channel = cl.Has("per-channel");
  o.calibration_dir = cl.Get("calibration");
  if (cl.Has("calibrate")) {
    TS_ASSIGN_OR_RETURN(o.calibrate, compress::ParseCalibrationMethod(cl.Get("calibrate")));
  }
  o.exclude = SplitCommas(cl.All("exclude"));
  o.progress = true;  // drawn only when stderr is a terminal
  TS_RETURN_IF_ERROR(compress::ValidateQuantizeOptions(o));
  std::error_code ec;
  if (!o.calibration_dir.empty() && !std::filesystem::is_directory(o.calibration_dir, ec)) {
    return InvalidArgument("--calibration '" + o.calibration_dir + "' is not a folder");
  }
  return o;
}

}  // namespace

int QuantizeCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"mode", "bits", "block", "calibration", "calibrate", "exclude"},
                               {"symmetric", "per-channel"});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 2) return Fail(InvalidArgument(kQuantizeUsage), kExitUsage);
  auto options = ParseOptions(*cl);
  if (!options.ok()) return Fail(options.status(), kExitUsage);
  auto report = compress::QuantizeModelFile(cl->positional()[0], cl->positional()[1], *options);
  if (!report.ok()) return Fail(report.status());
  compress::PrintQuantizeReport(*report, std::cout);
  std::cout << "wrote " << cl->positional()[1] << "\n";
  return kExitOk;
}

}  // namespace tessera::cli
