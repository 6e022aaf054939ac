#include "generate/tokenizer/decoder.h"

#include "generate/tokenizer/byte_level.h"
#include "generate/tokenizer/normalizer.h"
#include "generate/tokenizer/text_regex.h"
#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

class ByteLevelDecoder : public Decoder {
 public:
  explicit ByteLevelDecoder(const std::unordered_set<std::string>* added) : added_(added) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (!bytes.empty()) out.push_back(SanitizeUtf8(bytes));
      bytes.clear();
    };
    for (const std::string& token : tokens) {
      if (added_ != nullptr && added_->count(token) > 0) {
        flush();
        out.push_back(token);
        continue;
      }
      for (size_t pos = 0; pos < token.size();) {
        const size_t begin = pos;
        const char32_t cp = NextCodePoint(token, pos);
        // A character outside the byte table (a hand-written token) keeps its own UTF-8.
        if (auto byte = UnicodeToByte(cp)) bytes.push_back(static_cast<char>(*byte));
        else bytes.append(token, begin, pos - begin);
      }
    }
    flush();
    return out;
  }

 private:
  const std::unordered_set<std::string>* added_;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string replaced;
      const std::string& token = tokens[i];
      for (size_t pos = 0; pos < token.size();) {
        if (!replacement_.empty() && token.compare(pos, replacement_.size(), replacement_) == 0) {
          replaced.push_back(' ');
          pos += replacement_.size();
        } else {
          replaced.push_back(token[pos++]);
        }
      }
      if (i == 0 && strip_first_ && !replaced.empty() && replaced[0] == ' ') replaced.erase(0, 1);
      tokens[i] = std::move(replaced);
    }
    return tokens;
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

// <0xNN> tokens: runs of them become the text their bytes spell.
class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    for (std::string& token : tokens) {
      if (auto byte = ParseByteToken(token)) {
        bytes.push_back(static_cast<char>(*byte));
        continue;
      }
      if (!bytes.empty()) out.push_back(SanitizeUtf8(bytes));
      bytes.clear();
      out.push_back(std::move(token));
    }
    if (!bytes.empty()) out.push_back(SanitizeUtf8(bytes));
    return out;
  }

 private:
  static std::optional<unsigned char> ParseByteToken(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int high = hex(token[3]), low = hex(token[4]);
    if (high < 0 || low < 0) return std::nullopt;
    return static_cast<unsigned char>(high * 16 + low);
  }
};

class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    return {joined};
  }
};

// Removes up to `start` leading and `stop` trailing copies of the character `content` from every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) {
      if (content_.empty()) continue;
      size_t begin = 0;
      for (size_t i = 0; i < start_ && token.compare(begin, content_.size(), content_) == 0; ++i) {
        begin += content_.size();
      }
      size_t end = token.size();
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i) {
        end -= content_.size();
      }
      token = token.substr(begin, end - begin);
    }
    return tokens;
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::shared_ptr<const TextRegex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) {
      std::string out;
      size_t last = 0;
      for (auto [begin, end] : pattern_->FindAll(token)) {
        out.append(token, last, begin - last);
        out += content_;
        last = end;
      }
      out.append(token, last, std::string::npos);
      token = std::move(out);
    }
    return tokens;
  }

 private:
  std::shared_ptr<const TextRegex> pattern_;
  std::string content_;
};

// Joins word pieces: a token with the continuation prefix glues to the previous one, others get a space.
class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) {
        if (!prefix_.empty() && tokens[i].compare(0, prefix_.size(), prefix_) == 0) tokens[i].erase(0, prefix_.size());
        else tokens[i] = " " + tokens[i];
      }
      if (cleanup_) tokens[i] = CleanUpTokenizationSpaces(tokens[i]);
    }
    return tokens;
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// BPEDecoder: the end-of-word suffix becomes a space, except on the last token.
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    if (suffix_.empty()) return tokens;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string with = i + 1 == tokens.size() ? "" : " ";
      std::string out;
      for (size_t pos = 0; pos < tokens[i].size();) {
        if (tokens[i].compare(pos, suffix_.size(), suffix_) == 0) {
          out += with;
          pos += suffix_.size();
        } else {
          out.push_back(tokens[i][pos++]);
        }
      }
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (const auto& step : steps_) tokens = step->DecodeChain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

StatusOr<std::unique_ptr<Decoder>> MakeStrip(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(std::string content, JsonStringOr(config, "content", where, " "));
  if (DecodeUtf8(content).size() != 1) return JsonFieldError(JsonChild(where, "content"), "expected one character");
  TS_ASSIGN_OR_RETURN(int64_t start, JsonIntOr(config, "start", where, 0));
  TS_ASSIGN_OR_RETURN(int64_t stop, JsonIntOr(config, "stop", where, 0));
  if (start < 0 || stop < 0) return JsonFieldError(where, "start and stop must not be negative");
  return std::unique_ptr<Decoder>(new StripDecoder(content, static_cast<size_t>(start), static_cast<size_t>(stop)));
}

}  // namespace

std::string CleanUpTokenizationSpaces(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    const std::string_view f(from), t(to);
    std::string out;
    size_t last = 0;
    for (size_t at = text.find(f); at != std::string::npos; at = text.find(f, last)) {
      out.append(text, last, at - last);
      out.append(t);
      last = at + f.size();
    }
    out.append(text, last, std::string::npos);
    text = std::move(out);
  }
  return text;
}

StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const Json& config,
                                               const std::unordered_set<std::string>* added_contents,
                                               const std::string& where) {
  if (config.is_null()) return std::unique_ptr<Decoder>();
  TS_ASSIGN_OR_RETURN(std::string type, JsonString(config, "type", where));
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder(added_contents));
  if (type == "Metaspace") {
    TS_ASSIGN_OR_RETURN(std::string replacement, JsonStringOr(config, "replacement", where, "\u2581"));
    TS_ASSIGN_OR_RETURN(bool add_prefix_space, JsonBoolOr(config, "add_prefix_space", where, true));
    TS_ASSIGN_OR_RETURN(std::string scheme,
                        JsonStringOr(config, "prepend_scheme", where, add_prefix_space ? "always" : "never"));
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(replacement, scheme != "never"));
  }
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Strip") return MakeStrip(config, where);
  if (type == "Replace") {
    TS_ASSIGN_OR_RETURN(const Json* pattern_config, JsonMember(config, "pattern", where));
    TS_ASSIGN_OR_RETURN(auto pattern, MakePattern(*pattern_config, JsonChild(where, "pattern")));
    TS_ASSIGN_OR_RETURN(std::string content, JsonStringOr(config, "content", where, ""));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(pattern), std::move(content)));
  }
  if (type == "WordPiece") {
    TS_ASSIGN_OR_RETURN(std::string prefix, JsonStringOr(config, "prefix", where, "##"));
    TS_ASSIGN_OR_RETURN(bool cleanup, JsonBoolOr(config, "cleanup", where, true));
    return std::unique_ptr<Decoder>(new WordPieceDecoder(prefix, cleanup));
  }
  if (type == "BPEDecoder") {
    TS_ASSIGN_OR_RETURN(std::string suffix, JsonStringOr(config, "suffix", where, "</w>"));
    return std::unique_ptr<Decoder>(new BpeSuffixDecoder(suffix));
  }
  if (type == "Sequence") {
    TS_ASSIGN_OR_RETURN(const Json* list, JsonMember(config, "decoders", where));
    const std::string list_where = JsonChild(where, "decoders");
    if (!list->is_array()) return JsonFieldError(list_where, "expected an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (size_t i = 0; i < list->size(); ++i) {
      TS_ASSIGN_OR_RETURN(auto step, MakeDecoder((*list)[i], added_contents, JsonChild(list_where, i)));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(steps)));
  }
  return Unimplemented(where + ".type '" + type + "' is not supported (supported: ByteLevel, Metaspace, "
                       "ByteFallback, Fuse, Strip, Replace, WordPiece, BPEDecoder, Sequence)");
}

}  // namespace tessera::generate
