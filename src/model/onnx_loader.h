// ONNX file -> Model: parsing, validation, shape inference and conversion to the graph IR.
//
// Everything read from the file is untrusted: a file that is not a model, a graph that references an
// undefined value, a cycle, a tensor whose data does not match its dims or external data outside the
// model's folder all become an InvalidArgument naming the model and the node or tensor at fault.
#pragma once

#include <memory>
#include <string>

#include <onnx/onnx_pb.h>

#include "graph/graph.h"
#include "model/function_inliner.h"

namespace tessera {

struct LoadOptions {
  bool run_checker = true;       // onnx::checker on the parsed proto
  bool infer_shapes = true;      // onnx shape inference to learn intermediate dtypes and shapes
  // When set, ops without a kernel whose schema has a function body are expanded into that body.
  KernelAvailable has_kernel;
  // Files only. When set, large weights whose bytes in the file are not aligned for their type stay
  // views into the file and the caller must run CopyDeferredWeights (model/weight_copies.h) on the
  // graph before anything reads them; the session does so after a parallel plan has cut the graph to
  // one rank's part, so that a rank copies only what it keeps. Unset, the loader aligns them itself.
  bool defer_weight_copies = false;
};

// Large inline weights are not copied by parsing: they are read from the memory-mapped file as the graph
// is built (model/inline_weights.h), so a graph holds views into the file until a weight is copied.
StatusOr<Model> LoadModelFromFile(const std::string& path, const LoadOptions& options = {});
// `model_dir` resolves external data ("" forbids it); `display_name` prefixes error messages.
StatusOr<Model> LoadModelFromBytes(std::string bytes, const std::string& model_dir, const std::string& display_name,
                                   const LoadOptions& options = {});
// Converts an already parsed (and perhaps rewritten) proto; `model_dir` and `display_name` as above.
StatusOr<Model> LoadModelFromProto(std::unique_ptr<onnx::ModelProto> proto, const std::string& model_dir,
                                   const std::string& display_name, const LoadOptions& options = {});
// Parses the file into `proto` with the loader's bounds (size, nesting) and nothing else: no checks, no
// conversion, external data left where it is. For tools that rewrite a model file.
Status ReadModelProtoFile(const std::string& path, onnx::ModelProto& proto);

}  // namespace tessera
