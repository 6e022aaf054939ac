// The factories of the attention family's kernels, registered by attention_registration.cc.
#pragma once

#include "ops/registry.h"

namespace tessera {

// The com.tessera domain of the fused attention node that graph/passes/attention_fusion writes.
inline constexpr const char* kTesseraDomain = "com.tessera";
inline constexpr const char* kMicrosoftDomain = "com.microsoft";

KernelFactory OnnxAttentionFactory();             // ONNX Attention (23)
KernelFactory OnnxRotaryEmbeddingFactory();       // ONNX RotaryEmbedding (23)
KernelFactory MicrosoftRotaryEmbeddingFactory();  // com.microsoft RotaryEmbedding
KernelFactory GroupQueryAttentionFactory();       // com.microsoft GroupQueryAttention
KernelFactory MultiHeadAttentionFactory();        // com.microsoft MultiHeadAttention
KernelFactory BertAttentionFactory();             // com.microsoft Attention (fused QKV weights)
KernelFactory FusedAttentionFactory();            // com.tessera FusedAttention
KernelFactory KvCacheAppendFactory();             // com.tessera KvCacheAppend (in-place KV cache)
KernelFactory CachedAttentionFactory();           // com.tessera CachedAttention (over KvCacheAppend)

}  // namespace tessera
