// `tessera tokenize`: a model's tokenizer on lines of stdin, for scripts and the tokenizer parity test.
//
// Input: one text per line; a line starting with '"' is read as a JSON string (so texts may hold
// newlines and tabs). Output, one JSON object per line: {"ids": [...]}. With --decode each input line
// is a JSON array of ids instead and the output is {"text": "..."}. A bad line prints {"error": "..."}
// and the exit status is then 1; the other lines are still answered.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "generate/tokenizer/tokenizer.h"

namespace tessera::cli {
namespace {

constexpr const char* kTokenizeUsage =
    "usage: tessera tokenize FOLDER|tokenizer.json [--no-special-tokens] [--decode [--keep-special-tokens]] < lines";

StatusOr<std::unique_ptr<generate::Tokenizer>> LoadFrom(const std::string& where) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path path(where);
  const fs::path json = fs::is_directory(path, error) ? path / "tokenizer.json" : path;
  const fs::path config = json.parent_path() / "tokenizer_config.json";
  return generate::Tokenizer::Load(json.string(), fs::is_regular_file(config, error) ? config.string() : "");
}

std::string ErrorLine(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int TokenizeCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {}, {"no-special-tokens", "decode", "keep-special-tokens"});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1) return Fail(InvalidArgument(kTokenizeUsage), kExitUsage);
  auto tokenizer = LoadFrom(cl->positional()[0]);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  const bool decode = cl->Has("decode");
  int exit_code = kExitOk;
  std::string line;
  while (std::getline(std::cin, line)) {
    nlohmann::json out;
    if (decode) {
      const nlohmann::json ids = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      std::vector<int32_t> values;
      bool valid = ids.is_array();
      for (const auto& id : valid ? ids : nlohmann::json::array()) {
        valid &= id.is_number_integer() && id.get<int64_t>() >= INT32_MIN && id.get<int64_t>() <= INT32_MAX;
        if (valid) values.push_back(id.get<int32_t>());
      }
      auto text = valid ? (*tokenizer)->Decode(values, !cl->Has("keep-special-tokens"))
                        : StatusOr<std::string>(InvalidArgument("expected a JSON array of ids, got: " + line));
      if (!text.ok()) {
        std::cout << ErrorLine(text.status().message()) << "\n";
        exit_code = kExitFailure;
        continue;
      }
      out["text"] = *text;
    } else {
      std::string text = line;
      if (!line.empty() && line[0] == '"') {
        const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_string()) {
          std::cout << ErrorLine("expected a JSON string, got: " + line) << "\n";
          exit_code = kExitFailure;
          continue;
        }
        text = parsed.get<std::string>();
      }
      out["ids"] = (*tokenizer)->Encode(text, !cl->Has("no-special-tokens"));
    }
    // Decoded text may hold U+FFFD from a cut character but is valid UTF-8; replace guards the rest.
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return exit_code;
}

}  // namespace tessera::cli
