// `tessera` entry point: dispatches to one subcommand.
#include <iostream>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: tessera <command> [options]\n"
    "\n"
    "commands:\n"
    "  run MODEL --input NAME=FILE.npy [--input ...] --output-dir DIR [--threads N]\n"
    "      run a model on .npy inputs and write every output to DIR/<name>.npy\n"
    "  inspect MODEL\n"
    "      print inputs, outputs, op histogram, parameters and estimated FLOPs\n"
    "  bench MODEL [--shape NAME=1x3x224x224 ...] [--threads N] [--iters N] [--warmup N] [--json]\n"
    "      measure latency (median, p90, min), throughput and peak RSS on deterministic inputs\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? tessera::cli::kExitUsage : tessera::cli::kExitOk;
  }
  std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "run") return tessera::cli::RunCommand(args);
    if (command == "inspect") return tessera::cli::InspectCommand(args);
    if (command == "bench") return tessera::cli::BenchCommand(args);
  } catch (const std::exception& e) {
    // Library code reports failures as Status; this only catches allocation failures and library bugs.
    std::cerr << "tessera: internal error: " << e.what() << "\n";
    return tessera::cli::kExitFailure;
  }
  std::cerr << "tessera: unknown command '" << command << "'\n" << kUsage;
  return tessera::cli::kExitUsage;
}
