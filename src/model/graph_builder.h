// GraphProto -> Graph conversion, recursive over subgraphs (If/Loop/Scan bodies).
#pragma once

#include <memory>
#include <string>
#include <unordered_set>

#include <onnx/onnx_pb.h>

#include "graph/graph.h"
#include "model/external_data.h"

namespace tessera {

// Names visible from enclosing graphs, innermost first.
struct OuterScope {
  const std::unordered_set<std::string>* names = nullptr;
  const OuterScope* parent = nullptr;
  bool Contains(const std::string& name) const {
    for (const OuterScope* s = this; s != nullptr; s = s->parent) {
      if (s->names && s->names->count(name)) return true;
    }
    return false;
  }
};

struct GraphBuildContext {
  std::map<std::string, int> opsets;
  ExternalDataResolver* resolver = nullptr;
  int depth = 0;                      // subgraph nesting, bounded against hostile files
};

// Converts `proto` into `graph`. `outer` is null for the main graph. Nodes are sorted topologically.
// Tensor data (initializers, tensor attributes) is moved out of `proto` into the graph's tensors.
Status BuildGraph(onnx::GraphProto& proto, const OuterScope* outer, GraphBuildContext& context, Graph& graph);

}  // namespace tessera
