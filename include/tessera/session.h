// Session: load an ONNX model once, run it many times.
//
//   auto session = tessera::Session::Load("model.onnx", {});
//   if (!session.ok()) { /* session.status().message() names the model and node at fault */ }
//   auto outputs = (*session)->Run({{"input", input_tensor}});
//
// Thread safety: Run() may be called from one thread at a time per session (it owns a thread pool used
// inside each run); load one session per concurrent caller, or serialise calls.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"
#include "tessera/value.h"

namespace tessera {

struct SessionOptions {
  int threads = 0;             // threads used inside one run; 0 = every core
  bool fold_constants = true;  // precompute nodes whose inputs are all constant
  bool optimize = true;        // graph passes (fusions); off runs the model node by node as written
  // bfloat16: float32 Conv, MatMul and Gemm with constant weights compute in bfloat16 with float32
  // accumulation (weights converted once at load; inputs and outputs stay float32). Needs `optimize`.
  enum class Precision { kFloat32, kBFloat16 };
  Precision precision = Precision::kFloat32;
};

// A graph input or output as the model declares it. Unknown dims are -1, with their symbol if any.
// For a sequence, dtype and dims describe its elements; for a map, dtype is the values' type and
// map_key_dtype the keys'; `optional` inputs may be fed the none Value (tessera/value.h).
struct TensorInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;
  std::vector<int64_t> dims;
  std::vector<std::string> dim_symbols;
  Value::Kind kind = Value::Kind::kTensor;
  DType map_key_dtype = DType::kUndefined;
  bool optional = false;
};

struct RunStats {
  size_t peak_bytes = 0;  // most memory held by tensors at once during the run (weights not counted)
};

class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> Load(const std::string& model_path, const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  const std::string& model_name() const;

  // Runs the model. Every declared input must be fed exactly once, with the declared dtype and rank and
  // matching fixed dims. Returns the outputs in the order of outputs().
  // A model with sequence, map or optional outputs must be run with RunValues instead.
  StatusOr<std::vector<Tensor>> Run(const std::vector<std::pair<std::string, Tensor>>& feeds);
  // The same for models whose inputs or outputs may be sequences, maps or optionals: each feed must be of
  // the declared kind (a sequence's elements of the declared element dtype and rank; an optional input
  // may be the none Value, an input not declared optional may not). Outputs as produced, in order.
  StatusOr<std::vector<Value>> RunValues(const std::vector<std::pair<std::string, Value>>& feeds);

  const RunStats& last_run_stats() const;

  // Lets runs overwrite the buffers of these graph inputs: the caller gives up what it feeds them (their
  // contents after a run are unspecified unless an output is documented to alias them). A kernel may
  // then update such an input in place and return it as its output, when it is the input's only reader:
  // GroupQueryAttention appends to a KV buffer of the full context length this way, so a decode step
  // writes its new rows instead of copying the cache. InvalidArgument for a name that is not an input.
  Status DonateInputs(const std::vector<std::string>& names);

 private:
  friend class SessionFactory;  // builds sessions from an in-memory model (runtime/session_factory.h)
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
