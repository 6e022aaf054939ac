// Shared pieces of the control-flow kernels (If, Loop, Scan): reading a condition, cutting one
// iteration's slice out of a scanned tensor, and stacking per-iteration results into one output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/kernel.h"

namespace tessera {

// The value of a condition input: a bool tensor holding exactly one element (a scalar or, as some
// exporters write it, shape [1]). Anything else is an error naming `what`.
StatusOr<bool> ReadCondition(const Tensor& t, const std::string& what);

// A fresh scalar tensor (the Loop iteration number and condition fed to the body).
StatusOr<Tensor> MakeInt64Scalar(int64_t value);
StatusOr<Tensor> MakeBoolScalar(bool value);

// Slice `index` of `t` along `axis` (axis removed from the shape). A view when the slice is
// contiguous in memory (axis 0, or every outer dim is 1), else a copy.
StatusOr<Tensor> SliceAlongAxis(const Tensor& t, int64_t axis, int64_t index);

// Allocates output `out` of `ctx` as the per-iteration `parts` stacked along a new `axis`; with
// `reverse`, parts[t] lands at position count-1-t. Every part must have the same dtype and shape;
// `what` names the output in errors. With no parts the shape is [0] inserted into `declared`'s dims
// when they are static (else [0]), and the dtype is `declared`'s (float32 when unknown).
Status WriteStackedOutput(KernelContext& ctx, size_t out, const std::vector<Tensor>& parts, int64_t axis, bool reverse,
                          const ValueInfo& declared, const std::string& what);

// Copies `count` elements of `dtype` (strings by assignment, everything else bytewise).
void CopyTypedElements(DType dtype, const void* src, void* dst, int64_t count);

// The subgraph held by graph attribute `name` of `node`, compiled; an error when it is missing.
StatusOr<std::unique_ptr<SubgraphRunner>> CompileGraphAttribute(const KernelInit& init, const std::string& name,
                                                                const Graph** graph = nullptr);

// Loop without a trip count (or with one beyond the limit, as exporters write `while` loops with
// M = INT64_MAX) stops with an error after this many iterations instead of running forever: 1e7
// iterations is far beyond any real model's loop (they run a few thousand at most) yet ends a runaway
// body within minutes. Scan outputs that grow each iteration hit the tensor allocation limit first.
constexpr int64_t kDefaultLoopIterationLimit = 10'000'000;
// Process-wide override of the limit (tests, embedders with longer loops); values < 1 restore the default.
void SetLoopIterationLimit(int64_t limit);
int64_t LoopIterationLimit();

// Factories, one per op (control_flow_*.cc); registered by RegisterControlFlowKernels.
StatusOr<std::unique_ptr<Kernel>> CreateIfKernel(const KernelInit& init);
StatusOr<std::unique_ptr<Kernel>> CreateLoopKernel(const KernelInit& init);
StatusOr<std::unique_ptr<Kernel>> CreateScanKernel(const KernelInit& init);
StatusOr<std::unique_ptr<Kernel>> CreateDropoutKernel(const KernelInit& init);
StatusOr<std::unique_ptr<Kernel>> CreateSequenceMapKernel(const KernelInit& init);

}  // namespace tessera
