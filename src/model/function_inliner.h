// Expansion of ops defined by an ONNX function body (MeanVarianceNormalization, Celu, the loss ops, ...)
// and of calls to the model's own functions (ModelProto.functions, IR 8+, with their attributes and
// IR 9's attribute defaults).
//
// When no kernel implements a node but its op schema carries a function body, the node is replaced by
// the body's nodes, with the body's values renamed under the node's name so they cannot clash (inside
// the body's subgraph attributes too: a Loop body reading a formal parameter reads the caller's value,
// and attribute references there resolve to the caller's attributes). Ops with
// a dedicated kernel are left alone: a kernel is faster than its decomposition.
#pragma once

#include <functional>
#include <string>

#include <onnx/onnx_pb.h>

#include "tessera/status.h"

namespace tessera {

// Whether a kernel exists for (op type, domain, opset).
using KernelAvailable = std::function<bool(const std::string& op_type, const std::string& domain, int opset)>;

// Inlines function-defined ops throughout `model`'s main graph (not inside subgraphs). Returns how
// many nodes were expanded through `expanded` when not null.
Status InlineFunctionOps(onnx::ModelProto& model, const KernelAvailable& has_kernel, int* expanded = nullptr);

}  // namespace tessera
