// Cache pairing and decoder detection on good and bad name sets.
#include "generate/cache_pairing.h"

#include <gtest/gtest.h>

#include "generate/decoder_signature.h"

namespace tessera::generate {
namespace {

TensorInfo Value(const std::string& name, DType dtype, std::vector<int64_t> dims) {
  TensorInfo t;
  t.name = name;
  t.dtype = dtype;
  t.has_shape = true;
  t.dims = std::move(dims);
  t.dim_symbols.resize(t.dims.size());
  return t;
}

TensorInfo Kv(const std::string& name) { return Value(name, DType::kFloat32, {-1, 4, -1, 32}); }

std::vector<TensorInfo> OptimumInputs(int layers) {
  std::vector<TensorInfo> in = {Value("input_ids", DType::kInt64, {-1, -1}),
                                Value("attention_mask", DType::kInt64, {-1, -1}),
                                Value("position_ids", DType::kInt64, {-1, -1})};
  for (int i = 0; i < layers; ++i) {
    in.push_back(Kv("past_key_values." + std::to_string(i) + ".key"));
    in.push_back(Kv("past_key_values." + std::to_string(i) + ".value"));
  }
  return in;
}

std::vector<TensorInfo> OptimumOutputs(int layers) {
  std::vector<TensorInfo> out = {Value("logits", DType::kFloat32, {-1, -1, 100})};
  for (int i = 0; i < layers; ++i) {
    out.push_back(Kv("present." + std::to_string(i) + ".key"));
    out.push_back(Kv("present." + std::to_string(i) + ".value"));
  }
  return out;
}

TEST(CachePairingTest, OptimumNamesPairPastKeyValuesWithPresent) {
  auto sig = DetectDecoderSignature("m", OptimumInputs(2), OptimumOutputs(2), DecoderForm::kAuto, {});
  ASSERT_TRUE(sig.ok()) << sig.status().message();
  ASSERT_EQ(sig->cache.size(), 4u);
  EXPECT_EQ(sig->cache[3].past_input, "past_key_values.1.value");
  EXPECT_EQ(sig->cache[3].present_output, "present.1.value");
  EXPECT_TRUE(sig->cache[0].grows);
  EXPECT_EQ(sig->cache[0].seq_axis, 2);
  EXPECT_EQ(sig->position_layout, PositionIdsLayout::kPerToken);
  EXPECT_TRUE(sig->batch_dynamic);
  EXPECT_EQ(sig->vocab_size, 100);
}

TEST(CachePairingTest, UnpairedInputIsAnErrorNamingItAndTheNamesTried) {
  auto outputs = OptimumOutputs(2);
  outputs.pop_back();  // no present.1.value
  auto sig = DetectDecoderSignature("tiny", OptimumInputs(2), outputs, DecoderForm::kAuto, {});
  ASSERT_FALSE(sig.ok());
  EXPECT_NE(sig.status().message().find("model 'tiny': input 'past_key_values.1.value'"), std::string::npos)
      << sig.status().message();
  EXPECT_NE(sig.status().message().find("'present.1.value'"), std::string::npos);
}

TEST(CachePairingTest, PresentOutputWithoutItsPastIsAnError) {
  auto inputs = OptimumInputs(1);
  inputs.pop_back();
  auto sig = DetectDecoderSignature("tiny", inputs, OptimumOutputs(1), DecoderForm::kAuto, {});
  ASSERT_FALSE(sig.ok());
  EXPECT_NE(sig.status().message().find("output 'present.0.value'"), std::string::npos) << sig.status().message();
}

TEST(CachePairingTest, HybridStatesPairByPastPrefixAndPresentPrefix) {
  std::vector<TensorInfo> in = {Value("past_conv.0", DType::kFloat16, {-1, 64, 3}),
                                Value("ssm_state.0", DType::kBFloat16, {-1, 64, 16})};
  std::vector<TensorInfo> out = {Value("logits", DType::kFloat32, {-1, -1, 8}),
                                 Value("present_conv.0", DType::kFloat16, {-1, 64, 3}),
                                 Value("present_ssm_state.0", DType::kBFloat16, {-1, 64, 16})};
  auto slots = PairCacheValues("m", in, out, {"logits"}, {});
  ASSERT_TRUE(slots.ok()) << slots.status().message();
  EXPECT_EQ((*slots)[0].present_output, "present_conv.0");
  EXPECT_EQ((*slots)[1].present_output, "present_ssm_state.0");
  EXPECT_FALSE((*slots)[0].grows);  // every dim past the batch is fixed: a state, fed back whole
  EXPECT_EQ((*slots)[1].dtype, DType::kBFloat16);
}

TEST(CachePairingTest, TemplatesWinOverTheGenericRule) {
  std::vector<TensorInfo> in = {Kv("past_key_values.0.key"), Kv("past_key_values.1.key")};
  std::vector<TensorInfo> out = {Kv("present.0.key"), Kv("present.1.key"), Kv("kv_out.0"), Kv("kv_out.1")};
  CacheNameTemplates t{{"past_key_values.%d.key"}, {"kv_out.%d"}};
  // present.* left over would be an error, so reserve them: only the template's outputs pair.
  auto slots = PairCacheValues("m", in, out, {"present.0.key", "present.1.key"}, t);
  ASSERT_TRUE(slots.ok()) << slots.status().message();
  EXPECT_EQ((*slots)[1].present_output, "kv_out.1");
}

TEST(CachePairingTest, DtypeMismatchBetweenPastAndPresentIsAnError) {
  std::vector<TensorInfo> in = {Kv("past.0.key")};
  std::vector<TensorInfo> out = {Value("present.0.key", DType::kFloat16, {-1, 4, -1, 32})};
  auto slots = PairCacheValues("m", in, out, {}, {});
  ASSERT_FALSE(slots.ok());
  EXPECT_NE(slots.status().message().find("'past.0.key' is float32"), std::string::npos) << slots.status().message();
}

TEST(CachePairingTest, UnknownDimBesidesBatchAndSequenceIsAnError) {
  std::vector<TensorInfo> in = {Value("past.0.key", DType::kFloat32, {-1, 4, -1, -1})};
  std::vector<TensorInfo> out = {Value("present.0.key", DType::kFloat32, {-1, 4, -1, -1})};
  auto slots = PairCacheValues("m", in, out, {}, {});
  ASSERT_FALSE(slots.ok());
  EXPECT_NE(slots.status().message().find("unknown dim 3"), std::string::npos) << slots.status().message();
}

TEST(DecoderSignatureTest, MergedDecoderThreeStreamPositionsAndHalfLogits) {
  auto in = OptimumInputs(1);
  in[2] = Value("position_ids", DType::kInt64, {3, -1, -1});
  in.push_back(Value("use_cache_branch", DType::kBool, {1}));
  auto out = OptimumOutputs(1);
  out[0].dtype = DType::kFloat16;
  auto sig = DetectDecoderSignature("m", in, out, DecoderForm::kAuto, {});
  ASSERT_TRUE(sig.ok()) << sig.status().message();
  EXPECT_EQ(sig->position_layout, PositionIdsLayout::kThreeStream);
  EXPECT_EQ(sig->use_cache_branch, "use_cache_branch");
  EXPECT_EQ(sig->logits_dtype, DType::kFloat16);
}

TEST(DecoderSignatureTest, GenAiInt32IdsWithSeqlensAndTotalLength) {
  std::vector<TensorInfo> in = {Value("input_ids", DType::kInt32, {-1, -1}),
                                Value("attention_mask", DType::kInt64, {-1, -1}),
                                Value("seqlens_k", DType::kInt32, {-1}),
                                Value("total_sequence_length", DType::kInt32, {}),
                                Kv("past_key_values.0.key"), Kv("past_key_values.0.value")};
  DecoderNames names;
  names.cache = {{"past_key_values.%d.key", "past_key_values.%d.value"}, {"present.%d.key", "present.%d.value"}};
  auto sig = DetectDecoderSignature("m", in, OptimumOutputs(1), DecoderForm::kGenAi, names);
  ASSERT_TRUE(sig.ok()) << sig.status().message();
  EXPECT_EQ(sig->form, DecoderForm::kGenAi);
  EXPECT_EQ(sig->ids_dtype, DType::kInt32);
  EXPECT_EQ(sig->seqlens_k, "seqlens_k");
  EXPECT_EQ(sig->total_sequence_length, "total_sequence_length");
  EXPECT_TRUE(sig->position_ids.empty());
}

TEST(DecoderSignatureTest, InputsEmbedsModelNeedsItsEmbeddingGraph) {
  std::vector<TensorInfo> in = {Value("inputs_embeds", DType::kFloat32, {-1, -1, 64})};
  auto sig = DetectDecoderSignature("vlm", in, OptimumOutputs(0), DecoderForm::kAuto, {});
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(sig.status().message().find("embedding graph"), std::string::npos);
}

TEST(DecoderSignatureTest, OverriddenNamesMustExist) {
  DecoderNames names;
  names.logits = "lm_logits";
  auto sig = DetectDecoderSignature("m", OptimumInputs(1), OptimumOutputs(1), DecoderForm::kAuto, names);
  ASSERT_FALSE(sig.ok());
  EXPECT_NE(sig.status().message().find("'lm_logits'"), std::string::npos);
}

TEST(DecoderSignatureTest, FloatIdsAreRejected) {
  auto in = OptimumInputs(1);
  in[0].dtype = DType::kFloat32;
  auto sig = DetectDecoderSignature("m", in, OptimumOutputs(1), DecoderForm::kAuto, {});
  ASSERT_FALSE(sig.ok());
  EXPECT_NE(sig.status().message().find("'input_ids' is float32"), std::string::npos);
}

}  // namespace
}  // namespace tessera::generate
