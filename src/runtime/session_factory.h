// Sessions built from a model already in memory, after a rewrite of its graph.
//
// The parallel plans need this: a pipeline stage is the part of the graph between two cuts, and a
// tensor-parallel rank runs the graph with its weights sliced to its shard and collectives inserted.
// Both start from the loaded model, change its graph, and then need exactly what Session::Load does
// next (fusion passes, kernel creation, constant folding). The rewrite runs before the fusion passes,
// so it sees the ops as the model wrote them and the fusions still apply to what it produces.
#pragma once

#include <functional>
#include <memory>

#include "graph/graph.h"
#include "model/onnx_loader.h"
#include "tessera/session.h"

namespace tessera {

using GraphRewrite = std::function<Status(Graph& graph)>;

// `rewrite` may be empty. Its errors are returned with the model's name as context.
StatusOr<std::unique_ptr<Session>> CreateSessionFromModel(Model model, const SessionOptions& options,
                                                          const GraphRewrite& rewrite = {});

// A graph value as Session::inputs()/outputs() describe it (unknown dims -1, with their symbols).
TensorInfo TensorInfoOf(const ValueInfo& value);

// Load options that know which ops have a kernel, as Session::Load uses them: ops newer than the ONNX
// library's checker that Tessera runs pass the load (onnx_library_passes.h), and function ops without a
// kernel are inlined. Commands that load a model without running it (inspect, plan) use these too, so
// they accept every model a session accepts.
LoadOptions KernelAwareLoadOptions();

// Loads the file as Session::Load does, then applies `rewrite` (see above).
StatusOr<std::unique_ptr<Session>> LoadSessionWithRewrite(const std::string& model_path, const SessionOptions& options,
                                                          const GraphRewrite& rewrite);

}  // namespace tessera
