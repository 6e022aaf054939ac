// The attention family in the op list: ONNX Attention and RotaryEmbedding (opset 23), ONNX Runtime's
// com.microsoft attention ops, and the com.tessera node that attention_fusion writes.
#include "ops/cpu/attention/attention_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterAttentionKernels(KernelRegistry& registry) {
  registry.Register(KernelDef{"Attention", "", 23, kLatestOpset, "cpu", {}, OnnxAttentionFactory()});
  registry.Register(KernelDef{"RotaryEmbedding", "", 23, kLatestOpset, "cpu", {}, OnnxRotaryEmbeddingFactory()});
  registry.Register(
      KernelDef{"RotaryEmbedding", kMicrosoftDomain, 1, kLatestOpset, "cpu", {}, MicrosoftRotaryEmbeddingFactory()});
  registry.Register(
      KernelDef{"GroupQueryAttention", kMicrosoftDomain, 1, kLatestOpset, "cpu", {}, GroupQueryAttentionFactory()});
  registry.Register(
      KernelDef{"MultiHeadAttention", kMicrosoftDomain, 1, kLatestOpset, "cpu", {}, MultiHeadAttentionFactory()});
  registry.Register(KernelDef{"Attention", kMicrosoftDomain, 1, kLatestOpset, "cpu", {}, BertAttentionFactory()});
  registry.Register(KernelDef{"FusedAttention", kTesseraDomain, 1, kLatestOpset, "cpu", {}, FusedAttentionFactory()});
  registry.Register(KernelDef{"KvCacheAppend", kTesseraDomain, 1, kLatestOpset, "cpu", {}, KvCacheAppendFactory()});
  registry.Register(
      KernelDef{"CachedAttention", kTesseraDomain, 1, kLatestOpset, "cpu", {}, CachedAttentionFactory()});
}

}  // namespace tessera
