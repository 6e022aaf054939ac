// TfIdfVectorizer (opset 9+): counts the pool's n-grams in each row of an int32/int64/string tensor.
//
// The pool is stored as a trie built once per node, so counting walks each candidate n-gram from its
// start and stops at the first item with no continuation. Counting follows ONNX Runtime (the de-facto
// reference, also ported into the ONNX reference implementation): for each skip distance 0..max_skip
// every start position yields n-grams of lengths min..max with that fixed gap, 1-grams are counted on
// the first pass only, and counts and `weights` are indexed by output coordinate (ngram_indexes value).
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/cpu/text/text_kernels.h"

namespace tessera {
namespace {

enum class Weighting { kTf, kIdf, kTfIdf };

// A trie over n-grams of items of type K (int64_t or std::string); node 0 is the root.
template <typename K>
class NgramTrie {
 public:
  NgramTrie() : children_(1), coordinate_(1, -1) {}

  void Insert(const K* items, int64_t length, int64_t coordinate) {
    size_t node = 0;
    for (int64_t i = 0; i < length; ++i) {
      auto [it, inserted] = children_[node].try_emplace(items[i], children_.size());
      if (inserted) {
        children_.emplace_back();
        coordinate_.push_back(-1);
      }
      node = it->second;
    }
    coordinate_[node] = coordinate;
  }

  // Child of `node` along `item`, or 0 (the root is never a child).
  size_t Child(size_t node, const K& item) const {
    auto it = children_[node].find(item);
    return it == children_[node].end() ? 0 : it->second;
  }
  // Output coordinate of the n-gram ending at `node`, or -1.
  int64_t Coordinate(size_t node) const { return coordinate_[node]; }
  bool empty() const { return children_[0].empty(); }

 private:
  std::vector<std::unordered_map<K, size_t>> children_;
  std::vector<int64_t> coordinate_;
};

struct TfIdfConfig {
  Weighting weighting = Weighting::kTf;
  int64_t min_gram = 1, max_gram = 1, max_skip = 0;
  int64_t output_size = 0;
  std::vector<float> weights;  // by output coordinate; empty means all ones
};

class TfIdfKernel : public Kernel {
 public:
  TfIdfKernel(TfIdfConfig config, NgramTrie<int64_t> int_pool, NgramTrie<std::string> string_pool, bool strings)
      : config_(std::move(config)),
        int_pool_(std::move(int_pool)),
        string_pool_(std::move(string_pool)),
        strings_(strings) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 1 && x.rank() != 2) {
      return KernelContext::Error("input must be [C] or [N, C], got shape " + ShapeToString(x.shape()));
    }
    const bool string_input = x.dtype() == DType::kString;
    if (string_input != strings_ || (!string_input && x.dtype() != DType::kInt32 && x.dtype() != DType::kInt64)) {
      return KernelContext::Error(
          std::string("input dtype ") + DTypeName(x.dtype()) + " does not match the pool (" +
          (strings_ ? "pool_strings needs string input" : "pool_int64s needs int32 or int64 input") + ")");
    }
    const int64_t rows = x.rank() == 1 ? 1 : x.dim(0);
    const int64_t columns = x.dim(x.rank() - 1);
    const Shape out_shape = x.rank() == 1 ? Shape{config_.output_size} : Shape{rows, config_.output_size};
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, out_shape));
    float* out = y->data<float>();
    auto run = [&](auto load, const auto& trie) {
      ctx.pool().ParallelFor(rows, 1, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) CountRow(trie, load, r * columns, columns, out + r * config_.output_size);
      });
    };
    if (string_input) {
      const std::string* p = x.data<std::string>();
      run([p](int64_t i) -> const std::string& { return p[i]; }, string_pool_);
    } else if (x.dtype() == DType::kInt32) {
      const int32_t* p = x.data<int32_t>();
      run([p](int64_t i) { return static_cast<int64_t>(p[i]); }, int_pool_);
    } else {
      const int64_t* p = x.data<int64_t>();
      run([p](int64_t i) { return p[i]; }, int_pool_);
    }
    return Status::Ok();
  }

 private:
  // Counts the n-grams of items [first, first + count) into `out` (zeroed), then applies the weighting.
  template <typename Trie, typename Load>
  void CountRow(const Trie& trie, const Load& load, int64_t first, int64_t count, float* out) const {
    int64_t start_gram = config_.min_gram;
    for (int64_t skip = 0; skip <= config_.max_skip && !trie.empty(); ++skip) {
      const int64_t distance = skip + 1;
      for (int64_t start = 0; start + distance * (start_gram - 1) < count; ++start) {
        size_t node = 0;
        for (int64_t n = 1, item = start; n <= config_.max_gram && item < count; ++n, item += distance) {
          node = trie.Child(node, load(first + item));
          if (node == 0) break;
          const int64_t coordinate = trie.Coordinate(node);
          if (n >= start_gram && coordinate >= 0) out[coordinate] += 1.0f;
        }
      }
      if (start_gram == 1) {  // 1-grams do not depend on the skip: count them on the first pass only
        start_gram = 2;
        if (start_gram > config_.max_gram) break;
      }
    }
    for (int64_t i = 0; i < config_.output_size; ++i) {
      const float w = config_.weights.empty() ? 1.0f : config_.weights[static_cast<size_t>(i)];
      if (config_.weighting == Weighting::kIdf) {
        out[i] = out[i] > 0 ? w : 0.0f;
      } else if (config_.weighting == Weighting::kTfIdf) {
        out[i] *= w;
      }
    }
  }

  TfIdfConfig config_;
  NgramTrie<int64_t> int_pool_;
  NgramTrie<std::string> string_pool_;
  bool strings_;
};

// Splits `pool` into n-grams by `ngram_counts` (start of each length's run) and inserts n-gram i at
// output coordinate ngram_indexes[i].
template <typename K>
Status BuildPool(const std::vector<K>& pool, const std::vector<int64_t>& starts, const std::vector<int64_t>& indexes,
                 NgramTrie<K>& trie) {
  const int64_t size = static_cast<int64_t>(pool.size());
  size_t next = 0;
  for (size_t level = 0; level < starts.size(); ++level) {
    const int64_t gram = static_cast<int64_t>(level) + 1;
    const int64_t begin = starts[level], end = level + 1 < starts.size() ? starts[level + 1] : size;
    if (begin < 0 || begin > end || end > size || (end - begin) % gram != 0) {
      return KernelContext::Error("attribute 'ngram_counts' entry " + std::to_string(level) + " (" +
                                  std::to_string(begin) + ") does not split the pool of " + std::to_string(size) +
                                  " items into " + std::to_string(gram) + "-grams");
    }
    for (int64_t i = begin; i < end; i += gram, ++next) {
      if (next >= indexes.size()) {
        return KernelContext::Error("attribute 'ngram_indexes' has " + std::to_string(indexes.size()) +
                                    " entries, fewer than the pool's n-grams");
      }
      trie.Insert(pool.data() + i, gram, indexes[next]);
    }
  }
  if (next != indexes.size()) {
    return KernelContext::Error("attribute 'ngram_indexes' has " + std::to_string(indexes.size()) +
                                " entries but the pool holds " + std::to_string(next) + " n-grams");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Kernel>> MakeTfIdf(const KernelInit& init) {
  const Node& node = init.node;
  TfIdfConfig c;
  const std::string mode = node.GetString("mode", "");
  if (mode == "TF") {
    c.weighting = Weighting::kTf;
  } else if (mode == "IDF") {
    c.weighting = Weighting::kIdf;
  } else if (mode == "TFIDF") {
    c.weighting = Weighting::kTfIdf;
  } else {
    return KernelContext::Error("attribute 'mode' must be TF, IDF or TFIDF, got '" + mode + "'");
  }
  c.min_gram = node.GetInt("min_gram_length", 0);
  c.max_gram = node.GetInt("max_gram_length", 0);
  c.max_skip = node.GetInt("max_skip_count", 0);
  if (c.min_gram < 1 || c.max_gram < c.min_gram || c.max_skip < 0) {
    return KernelContext::Error("need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0, got " +
                                std::to_string(c.min_gram) + ", " + std::to_string(c.max_gram) + ", " +
                                std::to_string(c.max_skip));
  }
  const std::vector<int64_t> starts = node.GetInts("ngram_counts");
  const std::vector<int64_t> indexes = node.GetInts("ngram_indexes");
  for (int64_t index : indexes) {
    if (index < 0) {
      return KernelContext::Error("attribute 'ngram_indexes' holds negative coordinate " + std::to_string(index));
    }
    c.output_size = std::max(c.output_size, index + 1);
  }
  c.weights = node.GetFloats("weights");
  if (!c.weights.empty() && static_cast<int64_t>(c.weights.size()) < c.output_size) {
    return KernelContext::Error("attribute 'weights' has " + std::to_string(c.weights.size()) + " entries for " +
                                std::to_string(c.output_size) + " output coordinates");
  }
  const Attribute* strings = node.FindAttribute("pool_strings");
  const Attribute* ints = node.FindAttribute("pool_int64s");
  if ((strings != nullptr) == (ints != nullptr)) {
    return KernelContext::Error("exactly one of attributes 'pool_strings' and 'pool_int64s' must be given");
  }
  NgramTrie<int64_t> int_pool;
  NgramTrie<std::string> string_pool;
  if (strings) {
    TS_RETURN_IF_ERROR(BuildPool(strings->strings, starts, indexes, string_pool));
  } else {
    TS_RETURN_IF_ERROR(BuildPool(ints->ints, starts, indexes, int_pool));
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<TfIdfKernel>(std::move(c), std::move(int_pool), std::move(string_pool), strings != nullptr));
}

}  // namespace

void RegisterTfIdfKernels(KernelRegistry& registry) {
  registry.Register("TfIdfVectorizer", 9, kLatestOpset, MakeTfIdf);
}

}  // namespace tessera
