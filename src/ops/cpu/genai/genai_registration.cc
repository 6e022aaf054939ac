// Registers the ONNX Runtime GenAI decoder ops (genai_kernels.h).
#include "ops/cpu/genai/genai_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterGenAiDecoderKernels(KernelRegistry& registry) {
  registry.Register("SimplifiedLayerNormalization", 1, kLatestOpset, genai_ops::MakeSimplifiedLayerNormFactory());
  for (auto [op, factory] : {std::pair{"SimplifiedLayerNormalization", genai_ops::MakeSimplifiedLayerNormFactory()},
                             std::pair{"SkipSimplifiedLayerNormalization", genai_ops::MakeSkipSimplifiedLayerNormFactory()},
                             std::pair{"RotaryEmbedding", genai_ops::MakeRotaryEmbeddingFactory()},
                             std::pair{"GroupQueryAttention", genai_ops::MakeGroupQueryAttentionFactory()},
                             std::pair{"MatMulNBits", genai_ops::MakeMatMulNBitsFactory()}}) {
    KernelDef def;
    def.op_type = op;
    def.domain = "com.microsoft";
    def.since_opset = 1;
    def.factory = factory;
    registry.Register(def);
  }
}

}  // namespace tessera
