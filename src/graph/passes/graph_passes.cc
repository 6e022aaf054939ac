// The pass list: one line per pass, in the order they run.
#include "graph/passes/graph_passes.h"

#include "graph/passes/attention_fusion.h"
#include "graph/passes/bf16_precision.h"
#include "graph/passes/conv_fusion.h"
#include "graph/passes/qdq_fusion.h"
#include "graph/passes/transformer_fusion.h"

#include <cstdlib>
#include <cstring>

namespace tessera {
namespace {

// TESSERA_QDQ_FUSION=0 runs QDQ models node by node as written (to compare against the fused int8 path).
bool QdqFusionEnabled() {
  const char* env = std::getenv("TESSERA_QDQ_FUSION");
  return env == nullptr || std::strcmp(env, "0") != 0;
}

}  // namespace

Status RunGraphPasses(Graph& graph, const GraphPassOptions& options) {
  if (!options.enabled) return Status::Ok();
  if (QdqFusionEnabled()) TS_RETURN_IF_ERROR(FuseQdq(graph));  // DQ -> Conv/MatMul/Gemm -> Q: int8 oneDNN nodes
  if (options.bf16) TS_RETURN_IF_ERROR(ConvertProductsToBf16(graph));  // float Conv/MatMul/Gemm in bfloat16
  TS_RETURN_IF_ERROR(RunConvFusion(graph));              // BN folding, Conv + Add + Relu/Clip, NHWC chains
  TS_RETURN_IF_ERROR(FuseMatMulBiasActivation(graph));   // MatMul + bias (+ GELU) of dense layers
  TS_RETURN_IF_ERROR(FuseAttention(graph));              // MatMul -> scale -> mask -> Softmax -> MatMul
  return Status::Ok();
}

}  // namespace tessera
