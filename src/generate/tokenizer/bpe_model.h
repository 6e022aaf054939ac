// Byte-pair encoding as Hugging Face's BPE model runs it: start from the word's characters, then apply
// the lowest-ranked merge present, leftmost first, until none applies. A min-heap over adjacent pairs and
// a linked list of symbols make a word of n characters cost O(n log n); results for short words are cached.
#pragma once

#include <mutex>
#include <unordered_map>

#include "generate/tokenizer/tokenizer_model.h"

namespace tessera::generate {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;  // added to every symbol but a word's first
  std::string end_of_word_suffix;         // added to a word's last symbol
  bool fuse_unk = false;                  // consecutive unknown symbols become one unk id
  bool byte_fallback = false;             // unknown characters become <0xNN> tokens when those exist
  bool ignore_merges = false;             // a word that is itself in the vocabulary is one token
};

class BpeModel : public TokenizerModel {
 public:
  // `merges` are pairs of token strings in rank order. Fails, naming the merge, when a merge's parts or
  // result are not in the vocabulary.
  static StatusOr<std::unique_ptr<BpeModel>> Create(Vocabulary vocabulary,
                                                    const std::vector<std::pair<std::string, std::string>>& merges,
                                                    BpeOptions options, const std::string& where);

  void Encode(std::string_view word, std::vector<int32_t>& ids) const override;
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }

 private:
  BpeModel() = default;
  // The symbols of `word` before any merge (characters, byte fallbacks, unk ids).
  void InitialSymbols(std::string_view word, std::vector<int32_t>& symbols) const;
  void Merge(std::vector<int32_t>& symbols) const;

  struct MergeResult {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

  Vocabulary vocabulary_;
  std::unordered_map<uint64_t, MergeResult> merges_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  int32_t byte_ids_[256];  // id of <0xNN>, or -1

  static constexpr size_t kMaxCachedWordBytes = 256;
  static constexpr size_t kMaxCacheEntries = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

StatusOr<std::unique_ptr<TokenizerModel>> MakeBpeModel(const Json& config, const std::string& where);

}  // namespace tessera::generate
