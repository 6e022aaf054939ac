// Renders chat-template cases for chat_template_exactness_test.py: reads a JSON file of cases
// [{"id", "template", "special_tokens", "messages", "tools", "variables", "add_generation_prompt"}] and writes
// [{"id", "text"} or {"id", "error"}] to stdout, in the same order.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "generate/chat_template/chat_template.h"

using nlohmann::ordered_json;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: chat_template_render_cases CASES.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  const ordered_json cases = ordered_json::parse(text.str(), nullptr, false);
  if (!cases.is_array()) {
    std::cerr << argv[1] << " is not a JSON array of cases\n";
    return 2;
  }
  ordered_json results = ordered_json::array();
  for (const ordered_json& c : cases) {
    ordered_json r = {{"id", c["id"]}};
    std::map<std::string, std::string> tokens;
    for (const auto& [name, token] : c["special_tokens"].items()) tokens[name] = token.get<std::string>();
    auto t =
        tessera::generate::ChatTemplate::Parse(c["template"].get<std::string>(), tokens, c["id"].get<std::string>());
    if (!t.ok()) {
      r["error"] = t.status().message();
    } else {
      tessera::generate::ChatInput input;
      input.messages = c["messages"];
      input.tools = c.value("tools", ordered_json());
      input.variables = c.value("variables", ordered_json());
      input.add_generation_prompt = c["add_generation_prompt"].get<bool>();
      auto rendered = (*t)->Render(input);
      if (rendered.ok()) {
        r["text"] = *rendered;
      } else {
        r["error"] = rendered.status().message();
      }
    }
    results.push_back(std::move(r));
  }
  std::cout << results.dump(1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
  return 0;
}
