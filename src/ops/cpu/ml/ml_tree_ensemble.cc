// Tree ensembles (ai.onnx.ml): TreeEnsembleRegressor and TreeEnsembleClassifier (versions 1 and 3; 3
// adds the *_as_tensor forms of the float attributes) and TreeEnsemble (version 5, nodes and leaves in
// separate arrays, modes as a tensor, set membership).
//
// Each row walks every tree from its root: at a branch node, the row's feature is compared with the
// node's value by the node's mode (LEQ, LT, GTE, GT, EQ, NEQ; MEMBER for version 5), a NaN feature
// taking the true branch where the node says missing values track true; at a leaf, the leaf's weights
// are added to their targets (classes). Targets are then aggregated (SUM, AVERAGE over trees, MIN, MAX),
// offset by base_values and post-transformed. The classifier's label is the class of the best score;
// with two class labels and weights for class 0 only (the binary form of gradient-boosting exporters)
// the score s decides between them (> 0, or > 0.5 when every weight is positive) and the two score
// columns are, as ONNX Runtime writes them, [1 - p, p] with p the transformed s for positive weights,
// and [-s, s] (or [logistic(-s), logistic(s)]) otherwise.
//
// TreeEnsemble-5 codes post_transform as the spec lists it (0 NONE, 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO,
// 4 PROBIT). ONNX Runtime 1.31 reads 1 and 2 the other way round (its internal enum's order), so the two
// disagree on those codes; the cross-check cases keep to the others.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"
#include "core/half.h"

namespace tessera {
namespace {

enum class Mode { kLeq, kLt, kGte, kGt, kEq, kNeq, kMember, kLeaf };
enum class Aggregate { kSum, kAverage, kMin, kMax };

struct TreeNode {
  Mode mode = Mode::kLeaf;
  int64_t feature = 0;
  double value = 0;
  bool missing_true = false;
  int64_t true_next = -1, false_next = -1;  // node indices, or leaf indices when *_leaf
  bool true_leaf = false, false_leaf = false;
  std::vector<double> members;              // kMember
  std::vector<std::pair<int64_t, double>> weights;  // (target, weight) of a leaf
};

struct Forest {
  std::vector<TreeNode> nodes;
  std::vector<int64_t> roots;
  std::vector<TreeNode> leaves;  // version 5: leaves apart from the nodes
  int64_t targets = 1;
  Aggregate aggregate = Aggregate::kSum;
  std::vector<float> base;
  int64_t max_feature = -1;
};

bool Goes(const TreeNode& n, double x) {
  if (std::isnan(x) && n.missing_true) return true;
  switch (n.mode) {
    case Mode::kLeq: return x <= n.value;
    case Mode::kLt: return x < n.value;
    case Mode::kGte: return x >= n.value;
    case Mode::kGt: return x > n.value;
    case Mode::kEq: return x == n.value;
    case Mode::kNeq: return x != n.value;
    case Mode::kMember: return std::find(n.members.begin(), n.members.end(), x) != n.members.end();
    case Mode::kLeaf: return false;
  }
  return false;
}

// The leaf a row ends in, starting at node `at`.
const TreeNode& Walk(const Forest& f, int64_t at, const float* row) {
  const TreeNode* n = &f.nodes[static_cast<size_t>(at)];
  while (n->mode != Mode::kLeaf) {
    const bool t = Goes(*n, row[n->feature]);
    const int64_t next = t ? n->true_next : n->false_next;
    if (t ? n->true_leaf : n->false_leaf) return f.leaves[static_cast<size_t>(next)];
    n = &f.nodes[static_cast<size_t>(next)];
  }
  return *n;
}

// scores[r * targets + t] after aggregation and base values, before the post transform.
std::vector<float> Score(const Forest& f, const MlRows& x) {
  std::vector<float> scores(static_cast<size_t>(x.rows * f.targets));
  std::vector<double> acc(static_cast<size_t>(f.targets));
  std::vector<char> hit(static_cast<size_t>(f.targets));
  for (int64_t r = 0; r < x.rows; ++r) {
    const float* row = x.values.data() + r * x.cols;
    std::fill(acc.begin(), acc.end(), 0.0);
    std::fill(hit.begin(), hit.end(), 0);
    for (int64_t root : f.roots) {
      for (const auto& [target, w] : Walk(f, root, row).weights) {
        double& a = acc[static_cast<size_t>(target)];
        const bool first = !hit[static_cast<size_t>(target)];
        hit[static_cast<size_t>(target)] = 1;
        switch (f.aggregate) {
          case Aggregate::kSum:
          case Aggregate::kAverage: a += w; break;
          case Aggregate::kMin: a = first ? w : std::min(a, w); break;
          case Aggregate::kMax: a = first ? w : std::max(a, w); break;
        }
      }
    }
    for (int64_t t = 0; t < f.targets; ++t) {
      double v = acc[static_cast<size_t>(t)];
      if (f.aggregate == Aggregate::kAverage && !f.roots.empty()) v /= static_cast<double>(f.roots.size());
      if (!f.base.empty()) v += f.base[static_cast<size_t>(t)];
      scores[static_cast<size_t>(r * f.targets + t)] = static_cast<float>(v);
    }
  }
  return scores;
}

// A float attribute given as a list or, from version 3, as `<name>_as_tensor`.
std::vector<double> Doubles(const Node& node, const std::string& name) {
  std::vector<double> out;
  if (const Attribute* a = node.FindAttribute(name + "_as_tensor")) {
    const Tensor& t = a->t;
    for (int64_t i = 0; i < t.element_count(); ++i) {
      out.push_back(t.dtype() == DType::kFloat64 ? t.data<double>()[i] : t.data<float>()[i]);
    }
    return out;
  }
  for (float v : node.GetFloats(name)) out.push_back(v);
  return out;
}

StatusOr<Mode> ParseMode(const std::string& m) {
  if (m == "BRANCH_LEQ") return Mode::kLeq;
  if (m == "BRANCH_LT") return Mode::kLt;
  if (m == "BRANCH_GTE") return Mode::kGte;
  if (m == "BRANCH_GT") return Mode::kGt;
  if (m == "BRANCH_EQ") return Mode::kEq;
  if (m == "BRANCH_NEQ") return Mode::kNeq;
  if (m == "LEAF") return Mode::kLeaf;
  return KernelContext::Error("attribute 'nodes_modes' has the unknown mode \"" + m + "\"");
}

// Versions 1 and 3: nodes keyed by (tree id, node id); leaf weights from `prefix`_{treeids,nodeids,ids,weights}.
StatusOr<Forest> BuildForest(const Node& node, const std::string& prefix) {
  Forest f;
  const auto tree_ids = node.GetInts("nodes_treeids"), node_ids = node.GetInts("nodes_nodeids");
  const auto features = node.GetInts("nodes_featureids"), trues = node.GetInts("nodes_truenodeids");
  const auto falses = node.GetInts("nodes_falsenodeids"), missing = node.GetInts("nodes_missing_value_tracks_true");
  const auto values = Doubles(node, "nodes_values");
  std::vector<std::string> modes;
  if (const Attribute* a = node.FindAttribute("nodes_modes")) modes = a->strings;
  const size_t n = tree_ids.size();
  if (n == 0 || node_ids.size() != n || features.size() != n || modes.size() != n || trues.size() != n ||
      falses.size() != n || (values.size() != n) || (!missing.empty() && missing.size() != n)) {
    return KernelContext::Error("the nodes_* attributes must all hold one value per node (" + std::to_string(n) + ")");
  }
  std::map<std::pair<int64_t, int64_t>, int64_t> index;
  std::map<int64_t, int64_t> first_of_tree;
  for (size_t i = 0; i < n; ++i) {
    if (!index.emplace(std::make_pair(tree_ids[i], node_ids[i]), static_cast<int64_t>(i)).second) {
      return KernelContext::Error("node " + std::to_string(node_ids[i]) + " of tree " + std::to_string(tree_ids[i]) +
                                  " appears twice");
    }
    if (first_of_tree.emplace(tree_ids[i], static_cast<int64_t>(i)).second) {
      f.roots.push_back(static_cast<int64_t>(i));  // a tree's first node is its root
    }
  }
  f.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    TreeNode& t = f.nodes[i];
    TS_ASSIGN_OR_RETURN(t.mode, ParseMode(modes[i]));
    t.feature = features[i];
    t.value = values[i];
    t.missing_true = !missing.empty() && missing[i] != 0;
    if (t.mode == Mode::kLeaf) continue;
    if (t.feature < 0) return KernelContext::Error("node " + std::to_string(i) + " has a negative feature id");
    f.max_feature = std::max(f.max_feature, t.feature);
    for (auto [child, slot] : {std::make_pair(trues[i], &t.true_next), std::make_pair(falses[i], &t.false_next)}) {
      auto it = index.find({tree_ids[i], child});
      if (it == index.end() || it->second == static_cast<int64_t>(i)) {
        return KernelContext::Error("node " + std::to_string(node_ids[i]) + " of tree " + std::to_string(tree_ids[i]) +
                                    " points to a missing child " + std::to_string(child));
      }
      *slot = it->second;
    }
  }
  // A walk visits each node at most once if children come later in the node order, which every exporter
  // writes; a cycle would otherwise loop forever on a hostile model.
  for (size_t i = 0; i < n; ++i) {
    const TreeNode& t = f.nodes[i];
    if (t.mode != Mode::kLeaf && (t.true_next <= static_cast<int64_t>(i) || t.false_next <= static_cast<int64_t>(i))) {
      return KernelContext::Error("node " + std::to_string(node_ids[i]) + " of tree " + std::to_string(tree_ids[i]) +
                                  " has a child that does not follow it (a cycle is possible)");
    }
  }
  const auto w_trees = node.GetInts(prefix + "_treeids"), w_nodes = node.GetInts(prefix + "_nodeids");
  const auto w_ids = node.GetInts(prefix + "_ids");
  const auto weights = Doubles(node, prefix + "_weights");
  if (w_nodes.size() != w_trees.size() || w_ids.size() != w_trees.size() || weights.size() != w_trees.size()) {
    return KernelContext::Error("the " + prefix + "_* attributes must all hold one value per weight");
  }
  for (size_t k = 0; k < w_trees.size(); ++k) {
    auto it = index.find({w_trees[k], w_nodes[k]});
    if (it == index.end()) {
      return KernelContext::Error(prefix + " weight " + std::to_string(k) + " names a missing node");
    }
    if (w_ids[k] < 0) return KernelContext::Error(prefix + "_ids has a negative id");
    f.nodes[static_cast<size_t>(it->second)].weights.emplace_back(w_ids[k], weights[k]);
  }
  for (double b : Doubles(node, "base_values")) f.base.push_back(static_cast<float>(b));
  return f;
}

Status CheckFeatures(const Forest& f, const MlRows& x) {
  if (f.max_feature >= x.cols) {
    return KernelContext::Error("the trees read feature " + std::to_string(f.max_feature) + " but input 'X' has " +
                                std::to_string(x.cols));
  }
  return Status::Ok();
}

class RegressorKernel : public Kernel {
 public:
  // `output_like_input`: TreeEnsemble-5 writes the input's float type; the older regressor always float.
  RegressorKernel(Forest forest, PostTransform transform, bool output_like_input)
      : forest_(std::move(forest)), transform_(transform), output_like_input_(output_like_input) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& input = ctx.input(0);
    MlRows x;
    if (input.dtype() == DType::kFloat16) {
      if (input.rank() != 2) {
        return KernelContext::Error("input 'X' must be [N, F], got " + ShapeToString(input.shape()));
      }
      x.rows = input.dim(0);
      x.cols = input.dim(1);
      for (int64_t i = 0; i < input.element_count(); ++i) x.values.push_back(HalfToFloat(input.data<uint16_t>()[i]));
    } else {
      TS_ASSIGN_OR_RETURN(x, ReadMlRows(input, "X"));
    }
    TS_RETURN_IF_ERROR(CheckFeatures(forest_, x));
    std::vector<float> scores = Score(forest_, x);
    for (int64_t r = 0; r < x.rows; ++r) {
      ApplyPostTransform(transform_, scores.data() + r * forest_.targets, forest_.targets);
    }
    const DType out = output_like_input_ && (input.dtype() == DType::kFloat64 || input.dtype() == DType::kFloat16)
                          ? input.dtype()
                          : DType::kFloat32;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, out, {x.rows, forest_.targets}));
    for (size_t i = 0; i < scores.size(); ++i) {
      if (out == DType::kFloat64) y->data<double>()[i] = scores[i];
      else if (out == DType::kFloat16) y->data<uint16_t>()[i] = FloatToHalf(scores[i]);
      else y->data<float>()[i] = scores[i];
    }
    return Status::Ok();
  }

 private:
  Forest forest_;
  PostTransform transform_;
  bool output_like_input_;
};

class ClassifierKernel : public Kernel {
 public:
  ClassifierKernel(Forest forest, PostTransform transform, std::vector<int64_t> int_labels,
                   std::vector<std::string> string_labels, bool binary, bool class1_only, bool positive_weights)
      : forest_(std::move(forest)),
        transform_(transform),
        int_labels_(std::move(int_labels)),
        string_labels_(std::move(string_labels)),
        binary_(binary),
        class1_only_(class1_only),
        positive_weights_(positive_weights) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(MlRows x, ReadMlRows(ctx.input(0), "X"));
    TS_RETURN_IF_ERROR(CheckFeatures(forest_, x));
    const std::vector<float> scores = Score(forest_, x);
    const bool strings = !string_labels_.empty();
    const int64_t classes =
        strings ? static_cast<int64_t>(string_labels_.size()) : static_cast<int64_t>(int_labels_.size());
    TS_ASSIGN_OR_RETURN(Tensor * label, ctx.AllocateOutput(0, strings ? DType::kString : DType::kInt64, {x.rows}));
    TS_ASSIGN_OR_RETURN(Tensor * z, ctx.AllocateOutput(1, DType::kFloat32, {x.rows, classes}));
    float* out = z->data<float>();
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* s = scores.data() + r * forest_.targets;
      float* o = out + r * classes;
      int64_t best = 0;
      if (binary_) {
        const float v = s[0];
        best = v > (positive_weights_ ? 0.5f : 0.0f) ? 1 : 0;
        if (positive_weights_) {
          float p = v;
          ApplyPostTransform(transform_, &p, 1);
          o[0] = 1.0f - p;
          o[1] = p;
        } else if (transform_ == PostTransform::kLogistic) {
          o[0] = Logistic(-v);
          o[1] = Logistic(v);
        } else {
          o[0] = -v;
          o[1] = v;
        }
        if (transform_ == PostTransform::kProbit) {
          o[1] = Probit(v);
          o[0] = -o[1];
        }
      } else {
        for (int64_t c = 0; c < classes; ++c) o[c] = c < forest_.targets ? s[c] : 0.0f;
        if (class1_only_) {
          best = o[1] > (positive_weights_ ? 0.5f : 0.0f) ? 1 : 0;  // the binary rule on class 1's score
        } else {
          for (int64_t c = 1; c < classes; ++c) {
            if (o[c] > o[best]) best = c;
          }
        }
        ApplyPostTransform(transform_, o, classes);
      }
      if (strings) {
        label->data<std::string>()[r] = string_labels_[static_cast<size_t>(best)];
      } else {
        label->data<int64_t>()[r] = int_labels_[static_cast<size_t>(best)];
      }
    }
    return Status::Ok();
  }

 private:
  Forest forest_;
  PostTransform transform_;
  std::vector<int64_t> int_labels_;
  std::vector<std::string> string_labels_;
  bool binary_, class1_only_, positive_weights_;
};

StatusOr<Aggregate> ParseAggregate(const std::string& a) {
  if (a == "SUM") return Aggregate::kSum;
  if (a == "AVERAGE") return Aggregate::kAverage;
  if (a == "MIN") return Aggregate::kMin;
  if (a == "MAX") return Aggregate::kMax;
  return KernelContext::Error("attribute 'aggregate_function' must be SUM, AVERAGE, MIN or MAX, got \"" + a + "\"");
}

StatusOr<std::unique_ptr<Kernel>> CreateRegressor(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(Forest f, BuildForest(init.node, "target"));
  f.targets = init.node.GetInt("n_targets", 1);
  TS_ASSIGN_OR_RETURN(f.aggregate, ParseAggregate(init.node.GetString("aggregate_function", "SUM")));
  if (f.targets <= 0) return KernelContext::Error("attribute 'n_targets' must be positive");
  for (const TreeNode& n : f.nodes) {
    for (const auto& w : n.weights) {
      if (w.first >= f.targets) return KernelContext::Error("target_ids has an id beyond n_targets");
    }
  }
  if (!f.base.empty() && static_cast<int64_t>(f.base.size()) != f.targets) {
    return KernelContext::Error("attribute 'base_values' must hold n_targets values");
  }
  TS_ASSIGN_OR_RETURN(PostTransform t, ParsePostTransform(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<RegressorKernel>(std::move(f), t, false));
}

StatusOr<std::unique_ptr<Kernel>> CreateClassifier(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(Forest f, BuildForest(init.node, "class"));
  std::vector<int64_t> int_labels = init.node.GetInts("classlabels_int64s");
  std::vector<std::string> string_labels;
  if (const Attribute* a = init.node.FindAttribute("classlabels_strings")) string_labels = a->strings;
  const int64_t classes = !string_labels.empty() ? static_cast<int64_t>(string_labels.size())
                                                 : static_cast<int64_t>(int_labels.size());
  if (classes == 0) return KernelContext::Error("attribute 'classlabels_int64s' or 'classlabels_strings' is required");
  int64_t max_id = 0;
  bool one_id = true, positive = true;
  int64_t first_id = -1;
  for (const TreeNode& n : f.nodes) {
    for (const auto& [id, w] : n.weights) {
      if (id >= classes) return KernelContext::Error("class_ids has an id beyond the class labels");
      max_id = std::max(max_id, id);
      if (first_id < 0) first_id = id;
      one_id &= id == first_id;
      positive &= w >= 0;
    }
  }
  // Weights for class 0 alone are the binary form; weights for class 1 alone score as two plain classes
  // (class 0 stays at its base value) but take their label by the binary rule, as ONNX Runtime reads them.
  const bool binary = classes == 2 && one_id && first_id <= 0;
  f.targets = binary ? 1 : classes;
  if (!f.base.empty() && static_cast<int64_t>(f.base.size()) != f.targets) {
    if (binary && f.base.size() == 2) {
      f.base = {f.base[1]};
    } else {
      return KernelContext::Error("attribute 'base_values' must hold one value per class");
    }
  }
  TS_ASSIGN_OR_RETURN(PostTransform t, ParsePostTransform(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<ClassifierKernel>(std::move(f), t, std::move(int_labels),
                                                                    std::move(string_labels), binary,
                                                                    classes == 2 && one_id && first_id == 1, positive));
}

// Version 5 (TreeEnsemble): integer-coded modes, aggregate and transform; nodes and leaves apart.
StatusOr<std::unique_ptr<Kernel>> CreateTreeEnsemble(const KernelInit& init) {
  const Node& node = init.node;
  Forest f;
  f.targets = node.GetInt("n_targets", 1);
  if (f.targets <= 0) return KernelContext::Error("attribute 'n_targets' must be positive");
  const int64_t agg = node.GetInt("aggregate_function", 1);
  const Aggregate aggs[] = {Aggregate::kAverage, Aggregate::kSum, Aggregate::kMin, Aggregate::kMax};
  if (agg < 0 || agg > 3) return KernelContext::Error("attribute 'aggregate_function' must be 0 to 3");
  f.aggregate = aggs[agg];
  const int64_t transform = node.GetInt("post_transform", 0);
  const PostTransform transforms[] = {PostTransform::kNone, PostTransform::kSoftmax, PostTransform::kLogistic,
                                      PostTransform::kSoftmaxZero, PostTransform::kProbit};
  if (transform < 0 || transform > 4) return KernelContext::Error("attribute 'post_transform' must be 0 to 4");
  const auto features = node.GetInts("nodes_featureids"), trues = node.GetInts("nodes_truenodeids");
  const auto falses = node.GetInts("nodes_falsenodeids"), true_leafs = node.GetInts("nodes_trueleafs");
  const auto false_leafs = node.GetInts("nodes_falseleafs"), missing = node.GetInts("nodes_missing_value_tracks_true");
  const auto leaf_targets = node.GetInts("leaf_targetids");
  f.roots = node.GetInts("tree_roots");
  std::vector<double> splits, leaf_weights, members;
  auto tensor_values = [&](const char* name, std::vector<double>& out) {
    if (const Attribute* a = node.FindAttribute(name)) {
      const Tensor& t = a->t;
      for (int64_t i = 0; i < t.element_count(); ++i) {
        out.push_back(t.dtype() == DType::kFloat64 ? t.data<double>()[i]
                      : t.dtype() == DType::kFloat16 ? HalfToFloat(t.data<uint16_t>()[i]) : t.data<float>()[i]);
      }
    }
  };
  tensor_values("nodes_splits", splits);
  tensor_values("leaf_weights", leaf_weights);
  tensor_values("membership_values", members);
  std::vector<int64_t> modes;
  if (const Attribute* a = node.FindAttribute("nodes_modes")) {
    for (int64_t i = 0; i < a->t.element_count(); ++i) modes.push_back(a->t.data<uint8_t>()[i]);
  }
  const size_t n = features.size();
  if (n == 0 || trues.size() != n || falses.size() != n || true_leafs.size() != n || false_leafs.size() != n ||
      splits.size() != n || modes.size() != n || (!missing.empty() && missing.size() != n)) {
    return KernelContext::Error("the nodes_* attributes must all hold one value per node (" + std::to_string(n) + ")");
  }
  if (leaf_targets.size() != leaf_weights.size()) {
    return KernelContext::Error("attributes 'leaf_targetids' and 'leaf_weights' differ in length");
  }
  f.leaves.resize(leaf_targets.size());
  for (size_t k = 0; k < leaf_targets.size(); ++k) {
    if (leaf_targets[k] < 0 || leaf_targets[k] >= f.targets) {
      return KernelContext::Error("leaf_targetids has an id outside [0, n_targets)");
    }
    f.leaves[k].weights.emplace_back(leaf_targets[k], leaf_weights[k]);
  }
  const Mode mode_of[] = {Mode::kLeq, Mode::kLt, Mode::kGte, Mode::kGt, Mode::kEq, Mode::kNeq, Mode::kMember};
  size_t member_at = 0;
  f.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    TreeNode& t = f.nodes[i];
    if (modes[i] < 0 || modes[i] > 6) return KernelContext::Error("nodes_modes has a mode outside 0 to 6");
    t.mode = mode_of[modes[i]];
    t.feature = features[i];
    t.value = splits[i];
    t.missing_true = !missing.empty() && missing[i] != 0;
    t.true_next = trues[i];
    t.false_next = falses[i];
    t.true_leaf = true_leafs[i] != 0;
    t.false_leaf = false_leafs[i] != 0;
    if (t.feature < 0) return KernelContext::Error("node " + std::to_string(i) + " has a negative feature id");
    f.max_feature = std::max(f.max_feature, t.feature);
    if (t.mode == Mode::kMember) {
      // membership_values holds each member node's set in node order, the sets separated by NaN.
      while (member_at < members.size() && !std::isnan(members[member_at])) t.members.push_back(members[member_at++]);
      ++member_at;
    }
    for (auto [next, leaf] : {std::make_pair(t.true_next, t.true_leaf), std::make_pair(t.false_next, t.false_leaf)}) {
      const size_t limit = leaf ? f.leaves.size() : n;
      if (next < 0 || static_cast<size_t>(next) >= limit || (!leaf && next <= static_cast<int64_t>(i))) {
        return KernelContext::Error("node " + std::to_string(i) + " points to " + (leaf ? "leaf " : "node ") +
                                    std::to_string(next) + ", which does not exist or does not follow it");
      }
    }
  }
  for (int64_t root : f.roots) {
    if (root < 0 || static_cast<size_t>(root) >= n) return KernelContext::Error("tree_roots names a missing node");
  }
  return std::unique_ptr<Kernel>(std::make_unique<RegressorKernel>(std::move(f), transforms[transform], true));
}

}  // namespace

void RegisterMlTreeKernels(KernelRegistry& registry) {
  RegisterMl(registry, "TreeEnsembleRegressor", 1, CreateRegressor);
  RegisterMl(registry, "TreeEnsembleClassifier", 1, CreateClassifier);
  RegisterMl(registry, "TreeEnsemble", 5, CreateTreeEnsemble);
}

}  // namespace tessera
