// `tessera` entry point: dispatches to one subcommand.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/openmp_wait_policy.h"

namespace {

constexpr const char* kUsage =
    "usage: tessera <command> [options]\n"
    "\n"
    "commands:\n"
    "  run MODEL --input NAME=FILE.npy [--input ...] --output-dir DIR [--threads N] [--repeat N [--stream]]\n"
    "      [--dp D] [--pp P [--micro-batches M] [--profile]] [--tp T] [--op-times]\n"
    "      run a model on .npy inputs and write every output to DIR/<name>.npy; under mpirun, split it\n"
    "      by data (dp), pipeline stages (pp) and tensor shards (tp)\n"
    "  run --model A.onnx --model B.onnx ... --input ... --output-dir DIR --aggregate sum|mean|concat\n"
    "      an ensemble: the models run on different ranks over the same inputs; outputs are combined\n"
    "  inspect MODEL\n"
    "      print inputs, outputs, op histogram, parameters and estimated FLOPs\n"
    "  bench MODEL [--shape NAME=1x3x224x224 ...] [--threads N] [--iters N] [--warmup N] [--json] [--profile]\n"
    "      measure latency (median, p90, min), throughput and peak RSS on deterministic inputs\n"
    "  serve [--model-repo DIR] [--host H] [--http-port 8000] [--grpc-port 8001] [--tls-cert F --tls-key F\n"
    "      [--tls-client-ca F]] [--auth-token-file F] [--max-request-bytes N] [--request-timeout-ms N]\n"
    "      [--threads N] [--load-model NAME ...] [--log-requests] [--max-running-sequences 16]\n"
    "      [--max-waiting-sequences 256] [--max-kv-cache-mib N]\n"
    "      serve a Triton-layout model repository (or the bundled example) over the KServe v2 protocol,\n"
    "      HTTP/REST and gRPC, and its decoders over OpenAI-compatible /v1/completions; under mpirun,\n"
    "      models whose config asks for dp/pp/tp run on groups of ranks\n"
    "  serve --replicas http(s)://HOST:PORT,... [--health-interval-ms 200] [--replica-timeout-ms N]\n"
    "        [--replica-ca FILE] [--replica-cert FILE --replica-key FILE] [front-end flags]\n"
    "      route to worker `tessera serve` processes, surviving their deaths (one retry elsewhere)\n"
    "  run-jobs JOBS.jsonl [--threads N] [--progress auto|bar|lines]\n"
    "      run one job per line (model, inputs, output dir), spread over the ranks of an MPI job\n"
    "  plan MODEL [--dp D --pp P --tp T] [--micro-batches M] [--dot FILE]\n"
    "  plan MODEL --auto --ranks N [--link-gbps G --link-us U] [--objective latency|throughput]\n"
    "      show how a parallel plan splits the model: stages, shards, memory, time, communication\n"
    "  generate MODEL (--prompt TEXT | --prompt-ids 1,2,3) [--max-new-tokens N] [--temperature T] [--top-k K]\n"
    "      [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--stop TEXT] [--ignore-eos] [--threads N]\n"
    "      [--json] [--warmup] [--shared-kv-buffer] [--decoder-form auto|optimum|genai] [--op-times]\n"
    "      [--tp N | --pp N: under mpirun -np N, the model split over the ranks by heads or by layers]\n"
    "      generate tokens with a decoder-only model (an .onnx file or its folder), streaming them as they come\n"
    "  quantize IN.onnx OUT.onnx --mode weights|dynamic|static [--bits 4|8] [--block 32] [--symmetric]\n"
    "      [--per-channel] [--calibration DIR] [--calibrate minmax|percentile|entropy] [--exclude NODE_OR_OP,...]\n"
    "      write a quantized copy of a model (MatMulNBits, MatMulInteger or QDQ; docs/compression.md) and\n"
    "      print each layer's weight scales and error against the float model\n"
    "  tokenize FOLDER|tokenizer.json [--no-special-tokens] [--decode [--keep-special-tokens]]\n"
    "      encode (or decode) each line of stdin with a model's tokenizer.json; one JSON array per line\n"
    "\n"
    "run, run --model, run-jobs and serve under mpirun (and plan) take --link-key FILE (or\n"
    "TESSERA_LINK_KEY_FILE): rank-to-rank messages are then encrypted and authenticated (AES-256-GCM).\n"
    "The file: 32 bytes or more of secret, readable by its owner only (docs/multihost.md).\n";

}  // namespace

int main(int argc, char** argv) {
  tessera::cli::ApplyOpenMpWaitPolicy(argv);
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
    if (command == "serve") return tessera::cli::ServeCommand(args);
    if (command == "run-jobs") return tessera::cli::RunJobsCommand(args);
    if (command == "plan") return tessera::cli::PlanCommand(args);
    if (command == "generate") return tessera::cli::GenerateCommand(args);
    if (command == "quantize") return tessera::cli::QuantizeCommand(args);
    if (command == "prune") return tessera::cli::PruneCommand(args);
    if (command == "tokenize") return tessera::cli::TokenizeCommand(args);
  } catch (const std::exception& e) {
    // Library code reports failures as Status; this only catches allocation failures and library bugs.
    std::cerr << "tessera: internal error: " << e.what() << "\n";
    return tessera::cli::kExitFailure;
  }
  std::cerr << "tessera: unknown command '" << command << "'\n" << kUsage;
  return tessera::cli::kExitUsage;
}
