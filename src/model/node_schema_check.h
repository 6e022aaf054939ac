// Checks a node's arity and required attributes against its ONNX schema, in process.
//
// Kernels index their inputs by position, so a node with fewer inputs than its op requires, an empty name
// in a required slot, or a missing required attribute must be refused when the model is built, even when
// the ONNX checker is off or could not run (it runs in a sandboxed child that may die on hostile input).
#pragma once

#include <onnx/onnx_pb.h>

#include "tessera/status.h"

namespace tessera {

// OK when the op has no schema (custom domains: kernel lookup reports those) or the node fits it;
// otherwise an InvalidArgument naming the input, output or attribute at fault.
Status CheckNodeAgainstSchema(const onnx::NodeProto& node, const std::string& domain, int opset);

}  // namespace tessera
