// Structured channel pruning (see prune.h): finding product pairs joined by elementwise nodes, and
// shrinking them.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "compress/model_edit.h"
#include "compress/prune.h"

namespace tessera::compress {

// Whether --exclude names the node or its op type.
bool IsPruneExcluded(const onnx::NodeProto& node, const PruneOptions& options);
// The constant float32 initializer `name` of the main graph, for in-place replacement; nullptr if none.
onnx::TensorProto* MutableInitializer(onnx::GraphProto& graph, const std::string& name);
// Replaces `t`'s contents (inline raw data from now on, external data dropped) with `values` of `dims`.
void SetFloatData(onnx::TensorProto& t, const std::vector<int64_t>& dims, const std::vector<float>& values);

// Removes the weakest output channels of every prunable product pair; fills report layers (one per
// shrunk producer) and skipped entries (products left whole, with the reason).
Status PruneChannels(ModelEdit& edit, const PruneOptions& options, QuantizeReport& report);

}  // namespace tessera::compress
