// libFuzzer target for the model loader: arbitrary bytes as an .onnx file.
//
// A model that loads is also compiled into an executor (kernel creation and constant folding run on
// its attributes and initializers), so the fuzzer reaches the code that trusts what the loader proved.
// The ONNX library's own passes (checker, shape inference, inlining) run in a forked child in the
// engine, which is slow under ASan; they are off unless TESSERA_FUZZ_LIBRARY_PASSES=1, so the fuzzer
// spends its time on Tessera's code: protobuf decoding, graph building, tensors, kernels, folding.
// Build: cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTESSERA_FUZZ=ON
// Run:   build-fuzz/tools/fuzz/model_loader_fuzzer -max_total_time=600 -rss_limit_mb=4096 CORPUS_DIR
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/thread_pool.h"
#include "model/onnx_loader.h"
#include "ops/registry.h"
#include "runtime/graph_executor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tessera::ThreadPool pool(1);
  // Keep single allocations bounded so the fuzzer's own RSS limit is not what stops a bad model.
  tessera::Buffer::set_limit_bytes(size_t{1} << 30);
  std::string bytes(reinterpret_cast<const char*>(data), size);
  static const bool library_passes = std::getenv("TESSERA_FUZZ_LIBRARY_PASSES") != nullptr;
  tessera::LoadOptions options;
  options.run_checker = library_passes;
  options.infer_shapes = library_passes;
  if (library_passes) {
    options.has_kernel = [](const std::string& op, const std::string& domain, int opset) {
      return tessera::KernelRegistry::Global().Find(op, domain, opset) != nullptr;
    };
  }
  auto model = tessera::LoadModelFromBytes(std::move(bytes), "", "fuzz.onnx", options);
  if (!model.ok()) return 0;
  auto executor = tessera::GraphExecutor::Create(*model->graph, pool, tessera::KernelRegistry::Global());
  (void)executor;
  return 0;
}
