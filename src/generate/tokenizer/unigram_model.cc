#include "generate/tokenizer/unigram_model.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "generate/tokenizer/utf8.h"

namespace tessera::generate {

StatusOr<std::unique_ptr<UnigramModel>> UnigramModel::Create(std::vector<std::pair<std::string, double>> pieces,
                                                             std::optional<int32_t> unk_id, bool byte_fallback,
                                                             const std::string& where) {
  if (pieces.empty()) return JsonFieldError(JsonChild(where, "vocab"), "is empty");
  if (unk_id && (*unk_id < 0 || static_cast<size_t>(*unk_id) >= pieces.size())) {
    return JsonFieldError(JsonChild(where, "unk_id"), "is outside model.vocab");
  }
  std::unique_ptr<UnigramModel> model(new UnigramModel());
  double min_score = std::numeric_limits<double>::infinity();
  for (size_t id = 0; id < pieces.size(); ++id) {
    // The first of two equal pieces keeps the string's id, as a trie built in order would.
    if (!model->vocabulary_.Find(pieces[id].first)) model->vocabulary_.token_to_id[pieces[id].first] = id;
    model->vocabulary_.id_to_token.push_back(pieces[id].first);
    model->scores_.push_back(pieces[id].second);
    min_score = std::min(min_score, pieces[id].second);
    model->max_piece_chars_ = std::max(model->max_piece_chars_, DecodeUtf8(pieces[id].first).size());
  }
  model->unk_id_ = unk_id;
  model->unk_score_ = min_score - 10.0;
  if (unk_id) model->scores_[*unk_id] = model->unk_score_;
  model->byte_fallback_ = byte_fallback;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    model->byte_ids_[b] = model->vocabulary_.Find(name).value_or(-1);
  }
  return model;
}

void UnigramModel::Encode(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  const std::vector<size_t> offsets = CodePointOffsets(word);
  const size_t n = offsets.size() - 1;
  // best[e]: the best path ending at character e, as (score, start of its last piece, piece id).
  struct Best {
    double score = -std::numeric_limits<double>::infinity();
    size_t start = 0;
    int32_t id = -1;
    bool reached = false;
  };
  std::vector<Best> best(n + 1);
  best[0].score = 0, best[0].reached = true;
  for (size_t begin = 0; begin < n; ++begin) {
    if (!best[begin].reached) continue;
    bool has_single = false;
    const size_t longest = std::min(max_piece_chars_, n - begin);
    for (size_t length = 1; length <= longest; ++length) {
      const size_t end = begin + length;
      auto id = vocabulary_.Find(word.substr(offsets[begin], offsets[end] - offsets[begin]));
      if (!id) continue;
      if (length == 1) has_single = true;
      const double score = best[begin].score + scores_[*id];
      // Strictly greater: of equal paths the one whose last piece starts first wins (tokenizers.js order).
      if (!best[end].reached || score > best[end].score) best[end] = {score, begin, *id, true};
    }
    if (!has_single) {
      const double score = best[begin].score + unk_score_;
      if (!best[begin + 1].reached || score > best[begin + 1].score) {
        best[begin + 1] = {score, begin, unk_id_.value_or(-1), true};
      }
    }
  }
  std::vector<std::pair<size_t, int32_t>> path;  // (start character, id), from the end
  for (size_t end = n; end > 0; end = best[end].start) path.emplace_back(best[end].start, best[end].id);
  std::reverse(path.begin(), path.end());
  bool previous_unk = false;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto [start, id] = path[i];
    const bool is_unk = id < 0 || (unk_id_ && id == *unk_id_);
    if (is_unk && byte_fallback_) {
      const size_t end = i + 1 < path.size() ? path[i + 1].first : n;
      bool all_bytes = true;
      for (size_t b = offsets[start]; b < offsets[end]; ++b) {
        all_bytes &= byte_ids_[static_cast<unsigned char>(word[b])] >= 0;
      }
      if (all_bytes) {
        for (size_t b = offsets[start]; b < offsets[end]; ++b) {
          ids.push_back(byte_ids_[static_cast<unsigned char>(word[b])]);
        }
        previous_unk = false;
        continue;
      }
    }
    if (is_unk) {
      if (id >= 0 && !previous_unk) ids.push_back(id);  // no unk id: the character is dropped
      previous_unk = true;
      continue;
    }
    ids.push_back(id);
    previous_unk = false;
  }
}

StatusOr<std::unique_ptr<TokenizerModel>> MakeUnigramModel(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(const Json* vocab_json, JsonMember(config, "vocab", where));
  const std::string vocab_where = JsonChild(where, "vocab");
  if (!vocab_json->is_array()) return JsonFieldError(vocab_where, "expected an array of [piece, score]");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(vocab_json->size());
  for (size_t i = 0; i < vocab_json->size(); ++i) {
    const Json& entry = (*vocab_json)[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number()) {
      return JsonFieldError(JsonChild(vocab_where, i), "expected [piece, score]");
    }
    pieces.emplace_back(entry[0].get<std::string>(), entry[1].get<double>());
  }
  std::optional<int32_t> unk_id;
  if (config.contains("unk_id") && !config["unk_id"].is_null()) {
    TS_ASSIGN_OR_RETURN(int64_t id, JsonIntOr(config, "unk_id", where, 0));
    if (id < 0 || id > INT32_MAX) return JsonFieldError(JsonChild(where, "unk_id"), "is outside model.vocab");
    unk_id = static_cast<int32_t>(id);
  }
  TS_ASSIGN_OR_RETURN(bool byte_fallback, JsonBoolOr(config, "byte_fallback", where, false));
  TS_ASSIGN_OR_RETURN(auto model, UnigramModel::Create(std::move(pieces), unk_id, byte_fallback, where));
  return std::unique_ptr<TokenizerModel>(std::move(model));
}

}  // namespace tessera::generate
