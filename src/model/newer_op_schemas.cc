// The table of newer op schemas, transcribed from the ONNX operator specifications (opsets 18-26).
#include "model/newer_op_schemas.h"

#include <onnx/defs/schema.h>

namespace tessera {
namespace {

constexpr int kVariadic = -1;

std::vector<NewerOpSchema> Reductions() {
  std::vector<NewerOpSchema> out;
  for (const char* op : {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
                         "ReduceMin", "ReduceProd", "ReduceSumSquare"}) {
    out.push_back({op, 18, 1, 2, 1, 1, {0}, {"keepdims", "noop_with_empty_axes"}, {}});
  }
  return out;
}

const std::vector<std::string> kResizeAttributes = {
    "antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
    "extrapolation_value", "keep_aspect_ratio_policy", "mode", "nearest_mode"};
const std::vector<std::string> kPoolAttributes = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                                  "strides"};

std::vector<NewerOpSchema> Table() {
  std::vector<NewerOpSchema> t = Reductions();
  std::vector<std::string> avg_pool = kPoolAttributes, lp_pool = kPoolAttributes;
  avg_pool.push_back("count_include_pad");
  lp_pool.push_back("p");
  const std::vector<NewerOpSchema> rest = {
      {"Split", 18, 1, 2, 1, kVariadic, {0}, {"axis", "num_outputs"}, {}},
      {"Pad", 18, 2, 4, 1, 1, {0}, {"mode"}, {}},
      {"Resize", 18, 1, 4, 1, 1, {0}, kResizeAttributes, {}},
      {"ScatterElements", 18, 3, 3, 1, 1, {0, 1, 2}, {"axis", "reduction"}, {}},
      {"ScatterND", 18, 3, 3, 1, 1, {0, 1, 2}, {"reduction"}, {}},
      {"LpPool", 18, 1, 1, 1, 1, {0}, lp_pool, {"kernel_shape"}},
      {"AveragePool", 19, 1, 1, 1, 1, {0}, avg_pool, {"kernel_shape"}},
      {"Cast", 19, 1, 1, 1, 1, {0}, {"saturate", "to"}, {"to"}},
      {"Cast", 24, 1, 1, 1, 1, {0}, {"round_mode", "saturate", "to"}, {"to"}},
      {"CastLike", 19, 2, 2, 1, 1, {0, 1}, {"saturate"}, {}},
      {"CastLike", 24, 2, 2, 1, 1, {0, 1}, {"round_mode", "saturate"}, {}},
      {"QuantizeLinear", 19, 2, 3, 1, 1, {0, 1}, {"axis", "saturate"}, {}},
      {"QuantizeLinear", 21, 2, 3, 1, 1, {0, 1}, {"axis", "block_size", "output_dtype", "saturate"}, {}},
      {"QuantizeLinear", 23, 2, 3, 1, 1, {0, 1}, {"axis", "block_size", "output_dtype", "precision", "saturate"}, {}},
      {"DequantizeLinear", 19, 2, 3, 1, 1, {0, 1}, {"axis"}, {}},
      {"DequantizeLinear", 21, 2, 3, 1, 1, {0, 1}, {"axis", "block_size"}, {}},
      {"DequantizeLinear", 23, 2, 3, 1, 1, {0, 1}, {"axis", "block_size", "output_dtype"}, {}},
      {"DFT", 20, 1, 3, 1, 1, {0}, {"inverse", "onesided"}, {}},
      {"GridSample", 20, 2, 2, 1, 1, {0, 1}, {"align_corners", "mode", "padding_mode"}, {}},
      {"BitwiseAnd", 18, 2, 2, 1, 1, {0, 1}, {}, {}},
      {"BitwiseOr", 18, 2, 2, 1, 1, {0, 1}, {}, {}},
      {"BitwiseXor", 18, 2, 2, 1, 1, {0, 1}, {}, {}},
      {"BitwiseNot", 18, 1, 1, 1, 1, {0}, {}, {}},
      {"CenterCropPad", 18, 2, 2, 1, 1, {0, 1}, {"axes"}, {}},
      {"Col2Im", 18, 3, 3, 1, 1, {0, 1, 2}, {"dilations", "pads", "strides"}, {}},
      {"GroupNormalization", 18, 3, 3, 1, 1, {0, 1, 2}, {"epsilon", "num_groups"}, {"num_groups"}},
      {"GroupNormalization", 21, 3, 3, 1, 1, {0, 1, 2}, {"epsilon", "num_groups", "stash_type"}, {"num_groups"}},
      {"Mish", 18, 1, 1, 1, 1, {0}, {}, {}},
      {"DeformConv", 19, 3, 5, 1, 1, {0, 1, 2},
       {"dilations", "group", "kernel_shape", "offset_group", "pads", "strides"}, {}},
      {"AffineGrid", 20, 2, 2, 1, 1, {0, 1}, {"align_corners"}, {}},
      {"Gelu", 20, 1, 1, 1, 1, {0}, {"approximate"}, {}},
      {"ImageDecoder", 20, 1, 1, 1, 1, {0}, {"pixel_format"}, {}},
      {"RegexFullMatch", 20, 1, 1, 1, 1, {0}, {"pattern"}, {}},
      {"StringConcat", 20, 2, 2, 1, 1, {0, 1}, {}, {}},
      {"StringSplit", 20, 1, 1, 2, 2, {0}, {"delimiter", "maxsplit"}, {}},
      {"Attention", 23, 3, 6, 1, 4, {0, 1, 2},
       {"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode", "scale", "softcap", "softmax_precision"},
       {}},
      {"Attention", 24, 3, 7, 1, 4, {0, 1, 2},
       {"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode", "scale", "softcap", "softmax_precision"},
       {}},
      {"RMSNormalization", 23, 2, 2, 1, 1, {0, 1}, {"axis", "epsilon", "stash_type"}, {}},
      {"RotaryEmbedding", 23, 3, 4, 1, 1, {0, 1, 2}, {"interleaved", "num_heads", "rotary_embedding_dim"}, {}},
      {"Swish", 24, 1, 1, 1, 1, {0}, {"alpha"}, {}},
      {"TensorScatter", 24, 2, 3, 1, 1, {0, 1}, {"axis", "mode"}, {}},
      {"CumProd", 26, 2, 2, 1, 1, {0, 1}, {"exclusive", "reverse"}, {}},
      {"BitCast", 26, 1, 1, 1, 1, {0}, {"to"}, {"to"}},
  };
  t.insert(t.end(), rest.begin(), rest.end());
  return t;
}

}  // namespace

int InstalledOnnxOpset() {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = ranges.find(onnx::ONNX_DOMAIN);
  return it == ranges.end() ? 0 : it->second.second;
}

const NewerOpSchema* FindNewerOpSchema(const std::string& op_type, int opset, int library_opset) {
  static const std::vector<NewerOpSchema> table = Table();
  const NewerOpSchema* best = nullptr;
  for (const NewerOpSchema& s : table) {
    if (op_type == s.op_type && s.since_opset <= opset && (best == nullptr || s.since_opset > best->since_opset)) {
      best = &s;
    }
  }
  return best != nullptr && best->since_opset > library_opset ? best : nullptr;
}

const NewerOpSchema* FindNewerOpSchema(const std::string& op_type, int opset) {
  return FindNewerOpSchema(op_type, opset, InstalledOnnxOpset());
}

}  // namespace tessera
