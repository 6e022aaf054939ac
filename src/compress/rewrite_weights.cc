// --mode weights: MatMul / Gemm with a constant 2-D weight -> com.microsoft MatMulNBits.
//
//   Y = MatMul(A, B)              ->  Y = MatMulNBits(A, B_q, scales[, zero_points])  K, N, bits, block_size
//   Y = Gemm(A, B, C; transB, beta) ->  Y = Add(MatMulNBits(A, B_q, ...), beta * C)
// The bias goes through Add rather than MatMulNBits' optional bias input (index 5, newer than the op's
// first form) so that any C that broadcasts against Y keeps working.
#include "compress/nbits_packing.h"
#include "compress/rewrite_common.h"

namespace tessera::compress {
namespace {

constexpr const char* kMicrosoftDomain = "com.microsoft";

Status RewriteNode(ModelEdit& edit, const onnx::NodeProto& node, const MatMulWeight& m, const QuantizeOptions& o,
                   std::vector<onnx::NodeProto>& out, LayerReport& layer) {
  TS_ASSIGN_OR_RETURN(std::vector<float> w, edit.ReadFloats(*m.tensor));
  const NBitsPacked p = PackNBits(w.data(), m.K, m.N, m.is_nk, o.bits, o.block_size, o.symmetric);
  const std::string label = NodeLabel(node);
  const std::string b_name = edit.UniqueName(label + "_B_q"), s_name = edit.UniqueName(label + "_scales");
  edit.AddUInt8Initializer(b_name, {p.N, p.k_blocks, p.blob_size}, p.b);
  edit.AddFloatInitializer(s_name, {p.N * p.k_blocks}, p.scales);
  std::vector<std::string> inputs = {node.input(0), b_name, s_name};
  if (!p.zero_points.empty()) {
    inputs.push_back(edit.UniqueName(label + "_zero_points"));
    edit.AddUInt8Initializer(inputs.back(), {static_cast<int64_t>(p.zero_points.size())}, p.zero_points);
  }
  TS_ASSIGN_OR_RETURN(std::string bias, ScaledBias(edit, m, label));
  const std::string y = bias.empty() ? node.output(0) : edit.UniqueName(label + "_nbits_out");
  onnx::NodeProto q = edit.MakeNode("MatMulNBits", inputs, {y}, label + "_nbits", kMicrosoftDomain);
  SetIntAttribute(q, "K", m.K);
  SetIntAttribute(q, "N", m.N);
  SetIntAttribute(q, "bits", o.bits);
  SetIntAttribute(q, "block_size", o.block_size);
  out.push_back(std::move(q));
  if (!bias.empty()) out.push_back(edit.MakeNode("Add", {y, bias}, {node.output(0)}, label + "_bias"));

  layer.form = "MatMulNBits " + std::to_string(o.bits) + "-bit block " + std::to_string(o.block_size) +
               (o.symmetric ? " sym" : "");
  SetScaleRange(p.scales, layer);
  const std::vector<float> back = UnpackNBits(p);
  const std::vector<float> kn = WeightAsKN(w, m);
  layer.weight = CompareValues(back.data(), kn.data(), static_cast<int64_t>(kn.size()));
  return Status::Ok();
}

}  // namespace

Status RewriteWeightsToNBits(ModelEdit& edit, const QuantizeOptions& options, QuantizeReport& report,
                             ProgressBar* progress) {
  TS_RETURN_IF_ERROR(RewriteMatMulWeights(edit, options, report, progress,
                                          [&](const onnx::NodeProto& node, const MatMulWeight& m,
                                              std::vector<onnx::NodeProto>& nodes, LayerReport& layer) {
                                            return RewriteNode(edit, node, m, options, nodes, layer);
                                          }));
  if (!report.layers.empty()) edit.ImportDomain(kMicrosoftDomain, 1);
  return Status::Ok();
}

}  // namespace tessera::compress
