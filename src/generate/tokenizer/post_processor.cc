#include "generate/tokenizer/post_processor.h"

namespace tessera::generate {
namespace {

// ByteLevel's post-processing only trims offsets, which ids do not carry.
class KeepIds : public PostProcessor {
 public:
  std::vector<int32_t> Process(std::vector<int32_t> ids, bool) const override { return ids; }
};

// The ids of the template "single": special tokens and the sequence "A", in order.
class TemplateProcessing : public PostProcessor {
 public:
  struct Item {
    bool is_sequence = false;
    std::vector<int32_t> special_ids;
  };
  explicit TemplateProcessing(std::vector<Item> single) : single_(std::move(single)) {}
  std::vector<int32_t> Process(std::vector<int32_t> ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return ids;
    std::vector<int32_t> out;
    for (const Item& item : single_) {
      if (item.is_sequence) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), item.special_ids.begin(), item.special_ids.end());
    }
    return out;
  }

 private:
  std::vector<Item> single_;
};

// BertProcessing and RobertaProcessing on one sequence: cls, the ids, sep.
class ClsSep : public PostProcessor {
 public:
  ClsSep(int32_t cls, int32_t sep) : cls_(cls), sep_(sep) {}
  std::vector<int32_t> Process(std::vector<int32_t> ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return ids;
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
    return ids;
  }

 private:
  int32_t cls_, sep_;
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  std::vector<int32_t> Process(std::vector<int32_t> ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) ids = step->Process(std::move(ids), add_special_tokens);
    return ids;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// A [token, id] pair as BertProcessing writes "cls" and "sep".
StatusOr<int32_t> TokenIdPair(const Json& config, const std::string& key, const std::string& where) {
  TS_ASSIGN_OR_RETURN(const Json* pair, JsonMember(config, key, where));
  if (!pair->is_array() || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_number_integer() ||
      (*pair)[1].get<int64_t>() < 0 || (*pair)[1].get<int64_t>() > INT32_MAX) {
    return JsonFieldError(JsonChild(where, key), "expected [token, non-negative id]");
  }
  return (*pair)[1].get<int32_t>();
}

// The ids a template's special token stands for: its "special_tokens" entry, else the token itself.
StatusOr<std::vector<int32_t>> SpecialTokenIds(const Json& config, const std::string& name,
                                               const Vocabulary& vocabulary, const std::string& where) {
  const std::string map_where = JsonChild(where, "special_tokens");
  auto map = config.find("special_tokens");
  if (map != config.end() && map->is_object() && map->contains(name)) {
    const std::string entry_where = JsonChild(map_where, name);
    TS_ASSIGN_OR_RETURN(const Json* ids_json, JsonMember((*map)[name], "ids", entry_where));
    if (!ids_json->is_array()) return JsonFieldError(JsonChild(entry_where, "ids"), "expected an array of ids");
    std::vector<int32_t> ids;
    for (const Json& id : *ids_json) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        return JsonFieldError(JsonChild(entry_where, "ids"), "expected non-negative 32-bit ids");
      }
      ids.push_back(id.get<int32_t>());
    }
    return ids;
  }
  if (auto id = vocabulary.Find(name)) return std::vector<int32_t>{*id};
  return JsonFieldError(map_where, "names no ids for the template's special token \"" + name + "\"");
}

StatusOr<std::unique_ptr<PostProcessor>> MakeTemplate(const Json& config, const Vocabulary& vocabulary,
                                                      const std::string& where) {
  TS_ASSIGN_OR_RETURN(const Json* single, JsonMember(config, "single", where));
  const std::string single_where = JsonChild(where, "single");
  if (!single->is_array()) return JsonFieldError(single_where, "expected an array");
  std::vector<TemplateProcessing::Item> items;
  for (size_t i = 0; i < single->size(); ++i) {
    const Json& piece = (*single)[i];
    const std::string piece_where = JsonChild(single_where, i);
    TemplateProcessing::Item item;
    if (piece.is_object() && piece.contains("Sequence")) {
      item.is_sequence = true;
    } else if (piece.is_object() && piece.contains("SpecialToken")) {
      TS_ASSIGN_OR_RETURN(std::string name,
                          JsonString(piece["SpecialToken"], "id", JsonChild(piece_where, "SpecialToken")));
      TS_ASSIGN_OR_RETURN(item.special_ids, SpecialTokenIds(config, name, vocabulary, where));
    } else {
      return JsonFieldError(piece_where, "expected {\"Sequence\": …} or {\"SpecialToken\": …}");
    }
    items.push_back(std::move(item));
  }
  return std::unique_ptr<PostProcessor>(new TemplateProcessing(std::move(items)));
}

}  // namespace

StatusOr<std::unique_ptr<PostProcessor>> MakePostProcessor(const Json& config, const Vocabulary& vocabulary,
                                                           const std::string& where) {
  if (config.is_null()) return std::unique_ptr<PostProcessor>();
  TS_ASSIGN_OR_RETURN(std::string type, JsonString(config, "type", where));
  if (type == "TemplateProcessing") return MakeTemplate(config, vocabulary, where);
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new KeepIds());
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    TS_ASSIGN_OR_RETURN(int32_t cls, TokenIdPair(config, "cls", where));
    TS_ASSIGN_OR_RETURN(int32_t sep, TokenIdPair(config, "sep", where));
    return std::unique_ptr<PostProcessor>(new ClsSep(cls, sep));
  }
  if (type == "Sequence") {
    TS_ASSIGN_OR_RETURN(const Json* list, JsonMember(config, "processors", where));
    const std::string list_where = JsonChild(where, "processors");
    if (!list->is_array()) return JsonFieldError(list_where, "expected an array");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (size_t i = 0; i < list->size(); ++i) {
      TS_ASSIGN_OR_RETURN(auto step, MakePostProcessor((*list)[i], vocabulary, JsonChild(list_where, i)));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<PostProcessor>(new SequenceProcessor(std::move(steps)));
  }
  return Unimplemented(where + ".type '" + type + "' is not supported (supported: TemplateProcessing, ByteLevel, "
                       "BertProcessing, RobertaProcessing, Sequence)");
}

}  // namespace tessera::generate
