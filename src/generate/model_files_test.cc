// Config parsing (eos as int or list, context fields, GenAI templates) and decoder file discovery.
#include "generate/model_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/onnx_builder.h"

namespace tessera::generate {
namespace {

TEST(ModelFilesTest, EosTokenIdMayBeAnIntOrAList) {
  GenerationDefaults d;
  ASSERT_TRUE(ReadHuggingFaceConfig(R"({"eos_token_id": 2, "max_position_embeddings": 256})", "c", d).ok());
  EXPECT_EQ(d.eos_token_ids, (std::vector<int32_t>{2}));
  EXPECT_EQ(d.context_length, 256);
  ASSERT_TRUE(ReadHuggingFaceConfig(R"({"eos_token_id": [128001, 128009], "bos_token_id": 1})", "g", d).ok());
  EXPECT_EQ(d.eos_token_ids, (std::vector<int32_t>{128001, 128009}));
  EXPECT_EQ(d.bos_token_id, 1);
  EXPECT_EQ(d.context_length, 256);  // absent fields keep earlier values
}

TEST(ModelFilesTest, TextConfigOfMultimodalConfigsIsRead) {
  GenerationDefaults d;
  ASSERT_TRUE(ReadHuggingFaceConfig(R"({"text_config": {"eos_token_id": 7, "n_positions": 64}})", "c", d).ok());
  EXPECT_EQ(d.eos_token_ids, (std::vector<int32_t>{7}));
  EXPECT_EQ(d.context_length, 64);
}

TEST(ModelFilesTest, BadEosAndBadJsonNameTheFile) {
  GenerationDefaults d;
  Status s = ReadHuggingFaceConfig(R"({"eos_token_id": "x"})", "folder/config.json", d);
  EXPECT_NE(s.message().find("'folder/config.json': eos_token_id"), std::string::npos) << s.message();
  EXPECT_FALSE(ReadHuggingFaceConfig("[1, 2", "c", d).ok());
}

TEST(ModelFilesTest, GenAiConfigGivesFileNamesAndTemplates) {
  const char* text = R"({"model": {"eos_token_id": [2, 32000], "context_length": 4096, "decoder": {
      "filename": "phi.onnx",
      "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask",
                 "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
      "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                  "present_value_names": "present.%d.value"}}},
      "search": {"past_present_share_buffer": false}})";
  std::string file;
  DecoderNames names;
  GenerationDefaults d;
  bool shared = true;
  ASSERT_TRUE(ReadGenAiConfig(text, "genai_config.json", file, names, d, shared).ok());
  EXPECT_FALSE(shared);
  EXPECT_EQ(file, "phi.onnx");
  EXPECT_EQ(names.cache.past, (std::vector<std::string>{"past_key_values.%d.key", "past_key_values.%d.value"}));
  EXPECT_EQ(names.cache.present[1], "present.%d.value");
  EXPECT_EQ(d.context_length, 4096);
  EXPECT_EQ(d.eos_token_ids.size(), 2u);
}

TEST(ModelFilesTest, GenAiSharedBufferIsReadAndFileNamesStayInTheFolder) {
  std::string file;
  DecoderNames names;
  GenerationDefaults d;
  bool shared = false;
  ASSERT_TRUE(ReadGenAiConfig(R"({"model": {"decoder": {"filename": "m.onnx"}}, "search": {"past_present_share_buffer": true}})",
                              "g", file, names, d, shared).ok());
  EXPECT_TRUE(shared);
  EXPECT_FALSE(ReadGenAiConfig(R"({"model": {"decoder": {"filename": "../m.onnx"}}})", "g", file, names, d, shared).ok());
}

TEST(ModelFilesTest, FolderFindsTheMergedDecoderAndConfigsInTheParent) {
  namespace fs = std::filesystem;
  fs::path root = tessera::testing::OnnxBuilder::MakeTempDir();
  fs::create_directories(root / "onnx");
  std::ofstream(root / "onnx" / "model.onnx") << "x";
  std::ofstream(root / "onnx" / "decoder_model_merged.onnx") << "x";
  std::ofstream(root / "config.json") << R"({"eos_token_id": 5, "max_position_embeddings": 32})";
  std::ofstream(root / "generation_config.json") << R"({"eos_token_id": [5, 6]})";
  auto files = LocateDecoderFiles(root.string(), DecoderForm::kAuto);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_EQ(fs::path(files->model_path).filename(), "decoder_model_merged.onnx");
  EXPECT_EQ(files->defaults.eos_token_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(files->defaults.context_length, 32);
  EXPECT_FALSE(LocateDecoderFiles((root / "nothing").string(), DecoderForm::kAuto).ok());
  EXPECT_EQ(LocateDecoderFiles(root.string(), DecoderForm::kGenAi).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera::generate
