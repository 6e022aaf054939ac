#include "generate/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return NotFound(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot be opened");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<Json> ParseJson(std::string_view text, const std::string& name) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return InvalidArgument(name + ": not valid JSON: " + e.what());
  }
}

// Component builders recurse into Sequence members; real files nest a few levels, and a limit keeps a
// hostile file from exhausting the stack.
constexpr size_t kMaxJsonDepth = 64;

bool NestsDeeperThan(const Json& root, size_t limit) {
  std::vector<std::pair<const Json*, size_t>> pending{{&root, 1}};
  while (!pending.empty()) {
    auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    if (depth > limit) return true;
    for (const Json& child : *value) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

// A special token of tokenizer_config.json: a string, or an AddedToken object with "content".
StatusOr<std::optional<std::string>> ConfigTokenText(const Json& config, const std::string& key,
                                                     const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object()) {
    TS_ASSIGN_OR_RETURN(std::string content, JsonString(*it, "content", JsonChild(where, key)));
    return std::optional<std::string>(content);
  }
  return JsonFieldError(JsonChild(where, key), "expected a string or an object with \"content\"");
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& json_path, const std::string& config_path) {
  TS_ASSIGN_OR_RETURN(std::string json_text, ReadWholeFile(json_path));
  std::string config_text;
  if (!config_path.empty()) {
    TS_ASSIGN_OR_RETURN(config_text, ReadWholeFile(config_path));
  }
  return FromJson(json_text, config_text, json_path, config_path.empty() ? "tokenizer_config.json" : config_path);
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view json_text, std::string_view config_text,
                                                         const std::string& name, const std::string& config_name) {
  TS_ASSIGN_OR_RETURN(Json tokenizer_json, ParseJson(json_text, name));
  Json config_json = Json::object();
  if (!config_text.empty()) {
    TS_ASSIGN_OR_RETURN(config_json, ParseJson(config_text, config_name));
  }
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  TS_RETURN_IF_ERROR(tokenizer->Configure(tokenizer_json, config_json, name, config_name));
  return tokenizer;
}

Status Tokenizer::Configure(const Json& file, const Json& config, const std::string& name,
                            const std::string& config_name) {
  if (!file.is_object()) return InvalidArgument(name + ": expected a JSON object");
  if (NestsDeeperThan(file, kMaxJsonDepth)) {
    return InvalidArgument(name + ": nests more than " + std::to_string(kMaxJsonDepth) + " levels deep");
  }
  const auto field = [&](const char* key) -> const Json& {
    static const Json kNull;
    auto it = file.find(key);
    return it == file.end() ? kNull : *it;
  };
  if (!file.contains("model")) return InvalidArgument(name + ": model is missing");
  TS_ASSIGN_OR_RETURN(model_, MakeTokenizerModel(file["model"], name + ": model"));
  TS_ASSIGN_OR_RETURN(normalizer_, MakeNormalizer(field("normalizer"), name + ": normalizer"));
  TS_ASSIGN_OR_RETURN(pre_tokenizer_, MakePreTokenizer(field("pre_tokenizer"), name + ": pre_tokenizer"));
  TS_ASSIGN_OR_RETURN(added_tokens_, ParseAddedTokens(field("added_tokens"), name + ": added_tokens"));
  const Vocabulary with_added = IndexIds();
  BuildAddedTokenSplitters();
  TS_ASSIGN_OR_RETURN(post_processor_,
                      MakePostProcessor(field("post_processor"), with_added, name + ": post_processor"));
  TS_ASSIGN_OR_RETURN(decoder_, MakeDecoder(field("decoder"), &added_contents_, name + ": decoder"));
  return ReadConfig(config, with_added, name, config_name);
}

Vocabulary Tokenizer::IndexIds() {
  const Vocabulary& vocabulary = model_->vocabulary();
  id_to_token_ = vocabulary.id_to_token;
  id_known_.assign(id_to_token_.size(), false);
  for (const auto& [token, id] : vocabulary.token_to_id) id_known_[static_cast<size_t>(id)] = true;
  Vocabulary with_added = vocabulary;
  for (const AddedToken& token : added_tokens_) {  // an added token takes its id over the model's
    if (static_cast<size_t>(token.id) >= id_to_token_.size()) {
      id_to_token_.resize(static_cast<size_t>(token.id) + 1);
      id_known_.resize(static_cast<size_t>(token.id) + 1, false);
    }
    id_to_token_[static_cast<size_t>(token.id)] = token.content;
    id_known_[static_cast<size_t>(token.id)] = true;
    with_added.Set(token.content, token.id);
  }
  return with_added;
}

void Tokenizer::BuildAddedTokenSplitters() {
  // Tokens marked normalized are looked for in the normalized text (when there is a normalizer), under
  // their normalized spelling.
  std::vector<const AddedToken*> raw;
  normalized_tokens_.reserve(added_tokens_.size());  // no reallocation: the splitter points into it
  for (const AddedToken& token : added_tokens_) {
    added_contents_.insert(token.content);
    if (token.special) special_contents_.insert(token.content);
    added_by_text_.emplace(token.content, &token);
    if (token.normalized && normalizer_) {
      AddedToken normalized = token;
      normalized.content = normalizer_->Normalize(token.content);
      if (!normalized.content.empty()) normalized_tokens_.push_back(std::move(normalized));
    } else {
      raw.push_back(&token);
    }
  }
  std::vector<const AddedToken*> normalized;
  for (const AddedToken& token : normalized_tokens_) {
    normalized.push_back(&token);
    added_by_text_.emplace(token.content, &token);
  }
  raw_splitter_ = std::make_unique<AddedTokenSplitter>(raw);
  normalized_splitter_ = std::make_unique<AddedTokenSplitter>(normalized);
}

Status Tokenizer::ReadConfig(const Json& config, const Vocabulary& with_added, const std::string& name,
                             const std::string& config_name) {
  if (!config.is_object()) return InvalidArgument(config_name + ": expected a JSON object");
  TS_ASSIGN_OR_RETURN(clean_up_tokenization_spaces_,
                      JsonBoolOr(config, "clean_up_tokenization_spaces", config_name, false));
  // add_bos_token / add_eos_token name a token that must exist.
  for (const auto& [flag, key, target] : {std::tuple{"add_bos_token", "bos_token", &config_bos_id_},
                                           std::tuple{"add_eos_token", "eos_token", &config_eos_id_}}) {
    TS_ASSIGN_OR_RETURN(bool add, JsonBoolOr(config, flag, config_name, false));
    if (!add) continue;
    TS_ASSIGN_OR_RETURN(std::optional<std::string> text, ConfigTokenText(config, key, config_name));
    if (!text) return JsonFieldError(JsonChild(config_name, key), std::string("missing, but ") + flag + " is true");
    auto id = with_added.Find(*text);
    if (!id) return JsonFieldError(JsonChild(config_name, key), "'" + *text + "' is not a token of " + name);
    *target = *id;
  }
  // Decode(skip_special_tokens) skips these too, as tokenizers.js does.
  auto extra = config.find("additional_special_tokens");
  if (extra != config.end() && extra->is_array()) {
    for (const Json& token : *extra) {
      if (token.is_string()) special_contents_.insert(token.get<std::string>());
    }
  }
  return Status::Ok();
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  auto it = added_by_text_.find(std::string(token));
  if (it != added_by_text_.end()) return it->second->id;
  return model_->vocabulary().Find(token);
}

void Tokenizer::EncodeWords(const std::string& text, bool first_section, std::vector<int32_t>& ids) const {
  if (!pre_tokenizer_) {
    model_->Encode(text, ids);
    return;
  }
  std::vector<std::string> words;
  pre_tokenizer_->PreTokenize(text, first_section, words);
  for (const std::string& word : words) model_->Encode(word, ids);
}

void Tokenizer::EncodeSection(const std::string& text, bool first_section, std::vector<int32_t>& ids) const {
  std::string normalized = normalizer_ ? normalizer_->Normalize(text) : text;
  if (normalized.empty()) return;
  for (const TextSection& piece : normalized_splitter_->Split(normalized)) {
    if (piece.text.empty()) continue;
    auto added = added_by_text_.find(piece.text);
    if (added != added_by_text_.end()) {
      ids.push_back(added->second->id);
      continue;
    }
    EncodeWords(piece.text, first_section, ids);
  }
}

std::vector<int32_t> Tokenizer::Encode(std::string_view raw_text, bool add_special_tokens) const {
  const std::string text = SanitizeUtf8(raw_text);
  std::vector<int32_t> ids;
  const std::vector<TextSection> sections = raw_splitter_->Split(text);
  for (size_t i = 0; i < sections.size(); ++i) {
    const TextSection& section = sections[i];
    if (section.text.empty()) continue;
    // A section that reads as an added token is one, as tokenizers.js decides (by its text).
    auto added = added_by_text_.find(section.text);
    if (added != added_by_text_.end()) {
      ids.push_back(added->second->id);
      continue;
    }
    EncodeSection(section.text, i == 0, ids);
  }
  if (post_processor_) ids = post_processor_->Process(std::move(ids), add_special_tokens);
  if (add_special_tokens) {
    if (config_bos_id_ && (ids.empty() || ids.front() != *config_bos_id_)) ids.insert(ids.begin(), *config_bos_id_);
    if (config_eos_id_ && (ids.empty() || ids.back() != *config_eos_id_)) ids.push_back(*config_eos_id_);
  }
  return ids;
}

StatusOr<std::string> Tokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special_tokens,
                                        std::optional<bool> clean_up_spaces) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !id_known_[static_cast<size_t>(id)]) {
      return InvalidArgument("token id " + std::to_string(id) + " (position " + std::to_string(i) +
                             ") is not in the tokenizer's vocabulary of " + std::to_string(id_to_token_.size()) +
                             " ids");
    }
    const std::string& token = id_to_token_[static_cast<size_t>(id)];
    if (skip_special_tokens && special_contents_.count(token) > 0) continue;
    tokens.push_back(token);
  }
  std::string text;
  if (decoder_) {
    for (const std::string& piece : decoder_->DecodeChain(std::move(tokens))) text += piece;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i > 0 ? " " : "") + tokens[i];
  }
  if (clean_up_spaces.value_or(clean_up_tokenization_spaces_)) text = CleanUpTokenizationSpaces(std::move(text));
  return text;
}

}  // namespace tessera::generate
