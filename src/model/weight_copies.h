// Weights left as views into the .onnx file (or unaligned in external data), copied into memory of their
// own once the graph is final.
//
// Inline weights sit in the .onnx file at whatever offset protobuf put them, rarely aligned for their
// type. Copied while the graph is built, every rank would copy every weight; left as views (LoadOptions::
// defer_weight_copies) until the graph has been cut to a rank's stage and shard, each rank copies only the
// weights it keeps. Kernels need aligned data, so this runs before any pass or kernel reads a weight.
// Inline weights are copied even when aligned: a session then never reads the .onnx after loading, as
// before the loader left weights in it (a model file replaced in place under a running server must not
// change or fault its weights). External data stays mapped, as it always was.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Copies each constant of `graph` that views the .onnx file or whose data is not aligned for its type into
// memory of its own, and lets the file's pages go: the copies LoadOptions::defer_weight_copies put off.
// Returns the bytes copied. Subgraphs are not visited: the loader only leaves the main graph's
// initializers as views.
StatusOr<size_t> CopyDeferredWeights(Graph& graph);

// A copy of `t` in memory of its own, aligned; from kWeightPagesMinBytes (core/resident_pages.h) up in
// pages mapped for it alone, so that the system gets them back as soon as the copy is dropped (a kernel that
// packs the weight drops it), where freed heap memory would stay resident. When `t` views a mapped file, its pages are dropped as they are
// copied.
StatusOr<Tensor> CopyWeightToOwnMemory(const Tensor& t);

// Elements [begin, end) of `axis` of `t`, copied into memory of its own as CopyWeightToOwnMemory does:
// a tensor-parallel shard of a weight. The source's file pages are dropped as the copy passes them, so a
// column slice of a large row-major matrix never holds the whole matrix resident. Fails on a bad axis or
// range and on strings.
StatusOr<Tensor> SliceWeightToOwnMemory(const Tensor& t, int64_t axis, int64_t begin, int64_t end);

}  // namespace tessera
