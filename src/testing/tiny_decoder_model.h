// Test-only: a tiny decoder graph in Optimum form whose outputs show what the runtime fed it.
//
// A bigram model: logits[b, i] = table[input_ids[b, i]], where the table makes (3 t + 1) mod vocab the
// greedy successor of t. Its one "layer" of cache records the feeds: present.0.key appends the ids as
// floats and present.0.value the position_ids, so a test reads the whole history back from the cache.
// With `with_state`, a fixed-size state past_conv.0 [batch, 2] comes back as present_conv.0 = past + 1:
// it counts the steps a sequence has run. `float_dtype` (float32, float16 or bfloat16) is the dtype of the
// logits and of every cache.
#pragma once

#include <string>
#include <vector>

#include "testing/onnx_builder.h"

namespace tessera::generate::testing {

constexpr int kTinyVocab = 16;

inline int TinySuccessor(int token) { return (3 * token + 1) % kTinyVocab; }

inline void AddInt64Initializer(onnx::GraphProto& g, const std::string& name, const std::vector<int64_t>& values) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

// Returns the model's path (a fresh temporary folder holds it).
inline std::string WriteTinyDecoder(bool with_state = false, DType ids_dtype = DType::kInt64,
                                    DType float_dtype = DType::kFloat32) {
  const int to = static_cast<int>(float_dtype);
  tessera::testing::OnnxBuilder b(17);
  b.Input("input_ids", ids_dtype, {-1, -1});
  b.Input("attention_mask", DType::kInt64, {-1, -1});
  b.Input("position_ids", DType::kInt64, {-1, -1});
  b.Input("past_key_values.0.key", float_dtype, {-1, 1, -1, 1});
  b.Input("past_key_values.0.value", float_dtype, {-1, 1, -1, 1});
  std::vector<float> table(kTinyVocab * kTinyVocab, 0.0f);
  for (int t = 0; t < kTinyVocab; ++t) {
    for (int v = 0; v < kTinyVocab; ++v) table[t * kTinyVocab + v] = 0.01f * static_cast<float>((t + v) % 5);
    table[t * kTinyVocab + TinySuccessor(t)] = 5.0f;
  }
  b.Initializer("table", table, {kTinyVocab, kTinyVocab});
  AddInt64Initializer(b.graph(), "axes13", {1, 3});
  b.Node("Gather", {"table", "input_ids"}, {"logits_f32"});
  auto& cast_logits = b.Node("Cast", {"logits_f32"}, {"logits"});
  tessera::testing::OnnxBuilder::IntAttribute(cast_logits, "to", to);
  auto& cast_ids = b.Node("Cast", {"input_ids"}, {"ids_f"});
  tessera::testing::OnnxBuilder::IntAttribute(cast_ids, "to", to);
  auto& cast_pos = b.Node("Cast", {"position_ids"}, {"pos_f"});
  tessera::testing::OnnxBuilder::IntAttribute(cast_pos, "to", to);
  b.Node("Unsqueeze", {"ids_f", "axes13"}, {"ids_4d"});
  b.Node("Unsqueeze", {"pos_f", "axes13"}, {"pos_4d"});
  auto& ck = b.Node("Concat", {"past_key_values.0.key", "ids_4d"}, {"present.0.key"});
  tessera::testing::OnnxBuilder::IntAttribute(ck, "axis", 2);
  auto& cv = b.Node("Concat", {"past_key_values.0.value", "pos_4d"}, {"present.0.value"});
  tessera::testing::OnnxBuilder::IntAttribute(cv, "axis", 2);
  b.Output("logits", float_dtype, {-1, -1, kTinyVocab});
  b.Output("present.0.key", float_dtype, {-1, 1, -1, 1});
  b.Output("present.0.value", float_dtype, {-1, 1, -1, 1});
  if (with_state) {
    b.Input("past_conv.0", DType::kFloat32, {-1, 2});
    b.Initializer("one", {1.0f}, {1});
    b.Node("Add", {"past_conv.0", "one"}, {"present_conv.0"});
    b.Output("present_conv.0", DType::kFloat32, {-1, 2});
  }
  return b.WriteTemp();
}

}  // namespace tessera::generate::testing
