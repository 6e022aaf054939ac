// Decoder file discovery and config parsing (model_files.h).
#include "generate/model_files.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tessera::generate {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

StatusOr<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read '" + path.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<json> ParseJson(const std::string& text, const std::string& source) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("'" + source + "' is not a JSON object");
  return j;
}

StatusOr<int32_t> TokenIdField(const json& v, const std::string& source, const char* field) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
    return InvalidArgument("'" + source + "': " + field + " must be a non-negative token id, got " + v.dump());
  }
  return static_cast<int32_t>(v.get<int64_t>());
}

// Reads bos/eos/pad and the context length from one JSON object (a config, or its text_config).
Status ReadGenerationFields(const json& j, const std::string& source, GenerationDefaults& d) {
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const json& eos = j["eos_token_id"];
    std::vector<int32_t> ids;
    if (eos.is_array()) {
      for (const json& e : eos) {
        TS_ASSIGN_OR_RETURN(int32_t id, TokenIdField(e, source, "eos_token_id"));
        ids.push_back(id);
      }
    } else {
      TS_ASSIGN_OR_RETURN(int32_t id, TokenIdField(eos, source, "eos_token_id"));
      ids.push_back(id);
    }
    d.eos_token_ids = ids;
  }
  for (auto [field, target] : {std::pair{"bos_token_id", &d.bos_token_id}, std::pair{"pad_token_id", &d.pad_token_id}}) {
    if (j.contains(field) && j[field].is_number_integer()) {
      TS_ASSIGN_OR_RETURN(*target, TokenIdField(j[field], source, field));
    }
  }
  for (const char* field : {"max_position_embeddings", "n_positions", "context_length", "max_sequence_length",
                            "seq_length", "n_ctx"}) {
    if (j.contains(field) && j[field].is_number_integer() && j[field].get<int64_t>() > 0) {
      d.context_length = j[field].get<int64_t>();
      break;
    }
  }
  return Status::Ok();
}

// The first of `names` that exists in `folder`.
std::string FirstPresent(const fs::path& folder, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    std::error_code ec;
    if (fs::is_regular_file(folder / n, ec)) return (folder / n).string();
  }
  return "";
}

// Applies config.json then generation_config.json (the latter wins), from `folder` or else its parent.
Status ReadConfigsNear(const fs::path& folder, GenerationDefaults& d) {
  for (const char* file : {"config.json", "generation_config.json"}) {
    std::string path = FirstPresent(folder, {file});
    if (path.empty() && folder.has_parent_path()) path = FirstPresent(folder.parent_path(), {file});
    if (path.empty()) continue;
    TS_ASSIGN_OR_RETURN(std::string text, ReadText(path));
    TS_RETURN_IF_ERROR(ReadHuggingFaceConfig(text, path, d));
  }
  return Status::Ok();
}

}  // namespace

Status ReadHuggingFaceConfig(const std::string& json_text, const std::string& source, GenerationDefaults& defaults) {
  TS_ASSIGN_OR_RETURN(json j, ParseJson(json_text, source));
  // Multimodal configs keep the language model's fields under text_config; top-level ones win.
  if (j.contains("text_config") && j["text_config"].is_object()) {
    TS_RETURN_IF_ERROR(ReadGenerationFields(j["text_config"], source, defaults));
  }
  return ReadGenerationFields(j, source, defaults);
}

Status ReadGenAiConfig(const std::string& json_text, const std::string& source, std::string& decoder_file,
                       DecoderNames& names, GenerationDefaults& defaults, bool& shared_kv_buffer) {
  TS_ASSIGN_OR_RETURN(json j, ParseJson(json_text, source));
  if (!j.contains("model") || !j["model"].is_object()) return InvalidArgument("'" + source + "' has no \"model\" object");
  const json& model = j["model"];
  TS_RETURN_IF_ERROR(ReadGenerationFields(model, source, defaults));
  const json decoder = model.value("decoder", json::object());
  if (!decoder.is_object() || !decoder.contains("filename") || !decoder["filename"].is_string()) {
    return InvalidArgument("'" + source + "' has no model.decoder.filename");
  }
  decoder_file = decoder["filename"].get<std::string>();
  if (decoder_file.empty() || decoder_file.find("..") != std::string::npos || decoder_file[0] == '/') {
    return InvalidArgument("'" + source + "': model.decoder.filename '" + decoder_file + "' must be a file in its folder");
  }
  // One context-length buffer for past and present, written in place by GroupQueryAttention.
  shared_kv_buffer = j.contains("search") && j["search"].is_object() && j["search"].value("past_present_share_buffer", false);
  auto str = [](const json& obj, const char* key) {
    return obj.is_object() && obj.contains(key) && obj[key].is_string() ? obj[key].get<std::string>() : std::string();
  };
  const json inputs = decoder.value("inputs", json::object());
  const json outputs = decoder.value("outputs", json::object());
  names.input_ids = str(inputs, "input_ids");
  names.attention_mask = str(inputs, "attention_mask");
  names.position_ids = str(inputs, "position_ids");
  names.logits = str(outputs, "logits");
  for (auto [past, present] : {std::pair{"past_key_names", "present_key_names"},
                               std::pair{"past_value_names", "present_value_names"}}) {
    std::string p = str(inputs, past), q = str(outputs, present);
    if (p.empty() != q.empty()) {
      return InvalidArgument("'" + source + "' gives " + (p.empty() ? present : past) + " without " +
                             (p.empty() ? past : present));
    }
    if (p.empty()) continue;
    names.cache.past.push_back(p);
    names.cache.present.push_back(q);
  }
  return Status::Ok();
}

StatusOr<DecoderFiles> LocateDecoderFiles(const std::string& model_or_folder, DecoderForm form) {
  DecoderFiles files;
  std::error_code ec;
  fs::path given(model_or_folder);
  if (!fs::exists(given, ec)) return NotFound("no model at '" + model_or_folder + "'");
  fs::path folder = fs::is_directory(given, ec) ? given : given.parent_path();
  if (folder.empty()) folder = ".";
  files.folder = folder.string();

  std::string genai = FirstPresent(folder, {"genai_config.json"});
  if (form == DecoderForm::kGenAi && genai.empty()) {
    return NotFound("--decoder-form genai needs genai_config.json in '" + folder.string() + "'");
  }
  if (form != DecoderForm::kOptimum && !genai.empty()) {
    TS_ASSIGN_OR_RETURN(std::string text, ReadText(genai));
    std::string decoder_file;
    TS_RETURN_IF_ERROR(ReadGenAiConfig(text, genai, decoder_file, files.names, files.defaults, files.shared_kv_buffer));
    files.form = DecoderForm::kGenAi;
    files.model_path = fs::is_directory(given, ec) ? (folder / decoder_file).string() : given.string();
    return files;
  }
  files.form = DecoderForm::kOptimum;
  if (fs::is_directory(given, ec)) {
    const std::vector<std::string> kNames = {"decoder_model_merged.onnx", "model.onnx", "decoder_with_past_model.onnx"};
    files.model_path = FirstPresent(folder, kNames);
    if (files.model_path.empty() && fs::is_directory(folder / "onnx", ec)) {
      folder = folder / "onnx";
      files.model_path = FirstPresent(folder, kNames);
      files.folder = folder.string();
    }
    if (files.model_path.empty()) {
      return NotFound("no decoder in '" + model_or_folder +
                      "' (looked for decoder_model_merged.onnx, model.onnx, decoder_with_past_model.onnx, and onnx/)");
    }
  } else {
    files.model_path = given.string();
  }
  TS_RETURN_IF_ERROR(ReadConfigsNear(folder, files.defaults));
  return files;
}

}  // namespace tessera::generate
