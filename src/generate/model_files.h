// Finding a decoder's files: the .onnx graph and the Hugging Face / GenAI config files beside it.
//
// MODEL may be the .onnx file or its folder. In a folder, genai_config.json (unless the form is forced to
// Optimum) names the graph; otherwise the first present of decoder_model_merged.onnx, model.onnx,
// decoder_with_past_model.onnx, then the same names under onnx/ (transformers.js). Config files are read
// from the graph's folder, then its parent (transformers.js keeps config.json above onnx/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "generate/decoder_signature.h"

namespace tessera::generate {

// What config.json, generation_config.json or genai_config.json say about generation.
struct GenerationDefaults {
  std::vector<int32_t> eos_token_ids;  // generation_config.json's, else config.json's; int or list
  int32_t bos_token_id = -1;           // -1: not given
  int32_t pad_token_id = -1;
  int64_t context_length = 0;          // max_position_embeddings / n_positions / context_length; 0: unknown
};

struct DecoderFiles {
  std::string model_path;  // the .onnx graph
  std::string folder;      // where it lies
  GenerationDefaults defaults;
  DecoderForm form = DecoderForm::kOptimum;
  DecoderNames names;      // from genai_config.json when form is kGenAi
  bool shared_kv_buffer = false;  // genai_config.json's search.past_present_share_buffer
};

// `form` kAuto chooses GenAI when genai_config.json is present, kOptimum ignores that file, kGenAi
// requires it. Errors name the path at fault.
StatusOr<DecoderFiles> LocateDecoderFiles(const std::string& model_or_folder, DecoderForm form);

// Parses the generation fields of a config.json or generation_config.json text into `defaults` (fields
// absent from `json_text` are left as they are). `source` names the file in errors.
Status ReadHuggingFaceConfig(const std::string& json_text, const std::string& source, GenerationDefaults& defaults);

// Parses genai_config.json: the decoder's file name, its names, the generation fields, and whether past
// and present share one buffer (search.past_present_share_buffer).
Status ReadGenAiConfig(const std::string& json_text, const std::string& source, std::string& decoder_file,
                       DecoderNames& names, GenerationDefaults& defaults, bool& shared_kv_buffer);

}  // namespace tessera::generate
