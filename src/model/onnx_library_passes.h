// The passes Tessera borrows from the ONNX library: checker, shape inference and function inlining.
//
// The library is not hardened against hostile files (its shape inference dereferences null on some
// malformed nodes), so the passes run in a forked child process that hands back the rewritten nodes
// and the inferred value_info. If the child dies while checking, the model is rejected as malformed;
// if it dies later, the model loads with what it declares and no inferred shapes.
#pragma once

#include <onnx/onnx_pb.h>

#include "model/function_inliner.h"
#include "tessera/status.h"

namespace tessera {

struct LibraryPassOptions {
  bool run_checker = true;
  bool infer_shapes = true;
  KernelAvailable has_kernel;  // empty: no function inlining
  int timeout_seconds = 300;
};

Status RunOnnxLibraryPasses(onnx::ModelProto& proto, const LibraryPassOptions& options);

}  // namespace tessera
