// What the three quantization rewrites share: which nodes the user excluded and how a MatMul or Gemm's
// constant weight is found.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compress/model_edit.h"
#include "compress/progress_bar.h"
#include "compress/quantize_options.h"
#include "compress/quantize_report.h"
#include "compress/range_estimators.h"

namespace tessera::compress {

bool IsExcluded(const onnx::NodeProto& node, const QuantizeOptions& options);
// The node's name, or its first output's when it has none (for names of new values and the report).
std::string NodeLabel(const onnx::NodeProto& node);

// A MatMul's B [K, N] or a Gemm's B ([K, N], or [N, K] with transB), a constant float32 initializer, and
// a Gemm's constant C (bias, times beta) when it has one.
struct MatMulWeight {
  const onnx::TensorProto* tensor = nullptr;
  int64_t K = 0, N = 0;
  bool is_nk = false;  // stored as [N, K] (Gemm transB=1)
  std::string bias;    // "" when none
  float beta = 1.0f;
};

// Fills `out` and returns "" when the node's weight can be quantized; otherwise the reason it is left
// in float (for the report). Only MatMul and Gemm nodes are asked.
std::string FindMatMulWeight(const ModelEdit& edit, const onnx::NodeProto& node, MatMulWeight& out);

// The weight as [K, N] row-major floats, transposing a Gemm's [N, K].
std::vector<float> WeightAsKN(const std::vector<float>& w, const MatMulWeight& m);

// The new name of a bias scaled by beta (a new initializer), or the bias itself when beta is 1.
StatusOr<std::string> ScaledBias(ModelEdit& edit, const MatMulWeight& m, const std::string& label);

// A report row for `node` (its label, op and first output), filled in by the rewrite.
LayerReport NewLayerReport(const onnx::NodeProto& node);

// The scales' smallest and largest value, into the report.
void SetScaleRange(const std::vector<float>& scales, LayerReport& layer);

// Rewrites one MatMul or Gemm whose weight was found: appends its replacement nodes to `nodes` and fills
// `layer`.
using MatMulRewrite = std::function<Status(const onnx::NodeProto& node, const MatMulWeight& m,
                                           std::vector<onnx::NodeProto>& nodes, LayerReport& layer)>;
// The loop the weights and dynamic rewrites share: every MatMul/Gemm of the main graph with a constant
// weight that is not excluded goes through `rewrite`; the others are kept (and reported when skipped),
// then the graph's nodes are replaced by the result. Steps `progress` (may be null) once per node.
Status RewriteMatMulWeights(ModelEdit& edit, const QuantizeOptions& options, QuantizeReport& report,
                            ProgressBar* progress, const MatMulRewrite& rewrite);

// Each rewrite replaces the nodes it quantizes in the main graph, keeping every node's output names,
// records each quantized node and each MatMul/Gemm left in float in `report`, and steps `progress`
// (may be null) once per node.
Status RewriteWeightsToNBits(ModelEdit& edit, const QuantizeOptions& options, QuantizeReport& report,
                             ProgressBar* progress);
Status RewriteDynamic(ModelEdit& edit, const QuantizeOptions& options, QuantizeReport& report, ProgressBar* progress);

// Static QDQ: the float activations (inputs of Conv, MatMul and Gemm that are not constants) whose
// ranges calibration must supply, then the rewrite with those ranges.
std::vector<std::string> StaticActivations(const ModelEdit& edit, const QuantizeOptions& options);
Status RewriteStatic(ModelEdit& edit, const QuantizeOptions& options, const std::map<std::string, ValueRange>& ranges,
                     QuantizeReport& report, ProgressBar* progress);

}  // namespace tessera::compress
