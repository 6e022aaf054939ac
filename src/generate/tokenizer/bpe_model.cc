#include "generate/tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "generate/tokenizer/utf8.h"

namespace tessera::generate {

StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(Vocabulary vocabulary,
                                                     const std::vector<std::pair<std::string, std::string>>& merges,
                                                     BpeOptions options, const std::string& where) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->vocabulary_ = std::move(vocabulary);
  model->options_ = std::move(options);
  if (model->options_.unk_token) model->unk_id_ = model->vocabulary_.Find(*model->options_.unk_token);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    model->byte_ids_[b] = model->vocabulary_.Find(name).value_or(-1);
  }
  model->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto left_id = model->vocabulary_.Find(left), right_id = model->vocabulary_.Find(right);
    auto merged_id = model->vocabulary_.Find(left + right);
    if (!left_id || !right_id || !merged_id) {
      return JsonFieldError(JsonChild(JsonChild(where, "merges"), rank),
                            "merge \"" + left + " " + right + "\" uses a token missing from model.vocab");
    }
    // A repeated pair keeps its first (lowest) rank, as the Rust crate does.
    model->merges_.emplace(PairKey(*left_id, *right_id),
                           MergeResult{static_cast<int32_t>(rank), *merged_id});
  }
  return model;
}

void BpeModel::InitialSymbols(std::string_view word, std::vector<int32_t>& symbols) const {
  bool previous_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    const size_t begin = pos;
    NextCodePoint(word, pos);
    std::string symbol;
    if (begin > 0) symbol += options_.continuing_subword_prefix;
    symbol.append(word.substr(begin, pos - begin));
    if (pos == word.size()) symbol += options_.end_of_word_suffix;
    if (auto id = vocabulary_.Find(symbol)) {
      symbols.push_back(*id);
      previous_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = true;
      for (size_t i = begin; i < pos; ++i) all_bytes &= byte_ids_[static_cast<unsigned char>(word[i])] >= 0;
      if (all_bytes) {
        for (size_t i = begin; i < pos; ++i) symbols.push_back(byte_ids_[static_cast<unsigned char>(word[i])]);
        previous_unk = false;
        continue;
      }
    }
    if (!unk_id_) continue;  // no unk token: the character is dropped, as Hugging Face does
    if (!(options_.fuse_unk && previous_unk)) symbols.push_back(*unk_id_);
    previous_unk = true;
  }
}

void BpeModel::Merge(std::vector<int32_t>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;

  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(PairKey(symbols[pos], symbols[next[pos]]));
    if (it != merges_.end()) heap.push({it->second.rank, pos, symbols[pos], symbols[next[pos]]});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);

  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    const int right = next[top.pos];
    // Stale entries: a side was merged away or changed since the pair was queued.
    if (!alive[top.pos] || right < 0 || symbols[top.pos] != top.left || symbols[right] != top.right) continue;
    symbols[top.pos] = merges_.at(PairKey(top.left, top.right)).merged_id;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    consider(prev[top.pos]);
    consider(top.pos);
  }
  size_t out = 0;
  for (int i = 0; i >= 0; i = next[i]) symbols[out++] = symbols[i];
  symbols.resize(out);
}

void BpeModel::Encode(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = vocabulary_.Find(word)) {
      ids.push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  InitialSymbols(word, symbols);
  Merge(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();  // bounded memory on adversarial input
    cache_.emplace(std::string(word), std::move(symbols));
  }
}

StatusOr<std::unique_ptr<TokenizerModel>> MakeBpeModel(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(Vocabulary vocabulary, ReadVocabularyObject(config, where));
  TS_ASSIGN_OR_RETURN(const Json* merges_json, JsonMember(config, "merges", where));
  const std::string merges_where = JsonChild(where, "merges");
  if (!merges_json->is_array()) return JsonFieldError(merges_where, "expected an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_json->size());
  for (size_t i = 0; i < merges_json->size(); ++i) {
    const Json& merge = (*merges_json)[i];
    if (merge.is_string()) {
      // The older form, "left right"; neither side can hold a space (byte-level and Metaspace spell it).
      const std::string text = merge.get<std::string>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == text.size()) {
        return JsonFieldError(JsonChild(merges_where, i), "expected \"left right\"");
      }
      merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      return JsonFieldError(JsonChild(merges_where, i), "expected \"left right\" or [left, right]");
    }
  }
  BpeOptions options;
  if (config.contains("unk_token") && !config["unk_token"].is_null()) {
    TS_ASSIGN_OR_RETURN(options.unk_token, JsonString(config, "unk_token", where));
  }
  TS_ASSIGN_OR_RETURN(options.continuing_subword_prefix,
                      JsonStringOr(config, "continuing_subword_prefix", where, ""));
  TS_ASSIGN_OR_RETURN(options.end_of_word_suffix, JsonStringOr(config, "end_of_word_suffix", where, ""));
  TS_ASSIGN_OR_RETURN(options.fuse_unk, JsonBoolOr(config, "fuse_unk", where, false));
  TS_ASSIGN_OR_RETURN(options.byte_fallback, JsonBoolOr(config, "byte_fallback", where, false));
  TS_ASSIGN_OR_RETURN(options.ignore_merges, JsonBoolOr(config, "ignore_merges", where, false));
  if (config.contains("dropout") && !config["dropout"].is_null() && config["dropout"] != 0.0) {
    // Dropout is a training-time randomisation; inference must be deterministic.
    return Unimplemented(JsonChild(where, "dropout") + ": BPE dropout is not supported at inference");
  }
  TS_ASSIGN_OR_RETURN(auto model, BpeModel::Create(std::move(vocabulary), merges, std::move(options), where));
  return std::unique_ptr<TokenizerModel>(std::move(model));
}

}  // namespace tessera::generate
