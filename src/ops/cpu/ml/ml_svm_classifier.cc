// SVMClassifier (ai.onnx.ml): a support-vector classifier as libsvm trains it, with the output rules
// onnxruntime applies (the spec leaves them open, and skl2onnx models are written for ORT).
//
// With support vectors (vectors_per_class sums to V > 0) the model is libsvm's one-vs-one SVC: for each
// pair of classes i < j (K = C(C-1)/2 pairs, in that order) the decision value is
//   d_ij = sum_{m in i} coefficients[(j-1) V + m] K(x, sv_m) + sum_{m in j} coefficients[i V + m] K(x, sv_m)
//          + rho[pair]
// and votes for i when d_ij > 0, else for j. The label is the class with the most votes (the first on a
// tie). The scores are
// - with prob_a/prob_b (Platt scaling): each pair's probability 1 - logistic(d A + B), clipped to
//   [1e-7, 1 - 1e-7], coupled into C class probabilities by Wu, Lin and Weng's method (libsvm's
//   multiclass_probability); then post_transform over the C columns. The label still comes from the votes.
// - without, for C > 2: the K decision values, then post_transform.
// - without, for C == 2: two columns from d: [-d, d] with post_transform NONE, [1 - p, p] with p =
//   logistic(d) for LOGISTIC, [1 - d, d] for SOFTMAX and SOFTMAX_ZERO (d untransformed), [probit(d), 0]
//   for PROBIT (ORT leaves the second column unwritten); what ORT 1.31 gives.
// Without support vectors the model is liblinear's: scores_c = x . coefficients[c] + rho[0] for each of the
// C classes (ORT adds rho[0] to every class), the label is the best score's class, except with two classes
// and no probabilities: the second class when all coefficients are >= 0 and the best score >= 0.5, or when
// some are negative and the best score > 0. post_transform goes over the C scores.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"
#include "ops/cpu/ml/ml_svm_kernel.h"

namespace tessera {
namespace {

// The validated attributes: every size the kernel indexes by was checked against C, V and F.
struct SvmClassifierModel {
  SvmKernelFunction kernel = SvmKernelFunction::Linear();
  PostTransform transform = PostTransform::kNone;
  std::vector<int64_t> int_labels;
  std::vector<std::string> string_labels;
  int64_t classes = 0;   // C
  int64_t vectors = 0;   // V; 0 for the linear form
  int64_t features = 0;  // F
  std::vector<int64_t> vectors_per_class, first_vector;
  std::vector<float> coefficients, support_vectors, rho, prob_a, prob_b;
  bool coefficients_all_positive = true;
};

// libsvm's pairwise coupling: `r` is C x C with r[i][j] the probability of i over j; returns the C class
// probabilities. Float arithmetic and ORT's stopping rule, so that the iteration stops where ORT's does.
std::vector<float> CouplePairwiseProbabilities(int64_t c, const std::vector<float>& r) {
  std::vector<float> q(static_cast<size_t>(c * c), 0.0f), qp(static_cast<size_t>(c), 0.0f);
  std::vector<float> p(static_cast<size_t>(c), 1.0f / static_cast<float>(c));
  for (int64_t i = 0; i < c; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      if (j == i) continue;
      q[i * c + i] += r[j * c + i] * r[j * c + i];
      q[i * c + j] = j < i ? q[j * c + i] : -r[j * c + i] * r[i * c + j];
    }
  }
  const float eps = 0.005f / static_cast<float>(c);
  for (int iteration = 0; iteration < std::max<int64_t>(100, c); ++iteration) {
    float pqp = 0;
    for (int64_t i = 0; i < c; ++i) {
      qp[i] = 0;
      for (int64_t j = 0; j < c; ++j) qp[i] += q[i * c + j] * p[j];
      pqp += p[i] * qp[i];
    }
    float max_error = 0;
    for (int64_t i = 0; i < c; ++i) max_error = std::max(max_error, std::fabs(qp[i] - pqp));
    if (max_error < eps) break;
    for (int64_t i = 0; i < c; ++i) {
      const float diff = (-qp[i] + pqp) / q[i * c + i];
      p[i] += diff;
      pqp = (pqp + diff * (diff * q[i * c + i] + 2 * qp[i])) / (1 + diff) / (1 + diff);
      for (int64_t j = 0; j < c; ++j) {
        qp[j] = (qp[j] + diff * q[i * c + j]) / (1 + diff);
        p[j] /= (1 + diff);
      }
    }
  }
  return p;
}

class SvmClassifierKernel : public Kernel {
 public:
  explicit SvmClassifierKernel(SvmClassifierModel model) : m_(std::move(model)) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(MlRows x, ReadMlRows(ctx.input(0), "X"));
    if (x.cols != m_.features) {
      return KernelContext::Error("X has " + std::to_string(x.cols) + " features; the model's " +
                                  (m_.vectors > 0 ? "support vectors have " : "coefficients have ") +
                                  std::to_string(m_.features));
    }
    const bool strings = !m_.string_labels.empty();
    TS_ASSIGN_OR_RETURN(Tensor * label, ctx.AllocateOutput(0, strings ? DType::kString : DType::kInt64, {x.rows}));
    const int64_t columns = ScoreColumns();
    TS_ASSIGN_OR_RETURN(Tensor * z, ctx.AllocateOutput(1, DType::kFloat32, {x.rows, columns}));
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* row = x.values.data() + r * x.cols;
      float* scores = z->data<float>() + r * columns;
      const int64_t best = m_.vectors > 0 ? ScoreSvc(row, scores) : ScoreLinear(row, scores);
      if (strings) label->data<std::string>()[r] = m_.string_labels[static_cast<size_t>(best)];
      else label->data<int64_t>()[r] = m_.int_labels[static_cast<size_t>(best)];
    }
    return Status::Ok();
  }

 private:
  int64_t Pairs() const { return m_.classes * (m_.classes - 1) / 2; }
  bool HasProbabilities() const { return !m_.prob_a.empty(); }

  int64_t ScoreColumns() const {
    if (m_.vectors == 0 || HasProbabilities()) return m_.classes;
    return m_.classes > 2 ? Pairs() : 2;
  }

  // Writes the row's scores; returns the index of its label.
  int64_t ScoreLinear(const float* row, float* scores) const {
    const int64_t c = m_.classes, f = m_.features;
    for (int64_t k = 0; k < c; ++k) {
      double s = m_.rho[0];
      const float* w = m_.coefficients.data() + k * f;
      for (int64_t i = 0; i < f; ++i) s += static_cast<double>(row[i]) * w[i];
      scores[k] = static_cast<float>(s);
    }
    int64_t best = std::max_element(scores, scores + c) - scores;
    const float top = scores[best];
    if (c == 2 && !HasProbabilities()) {
      if ((m_.coefficients_all_positive && top >= 0.5f) || (!m_.coefficients_all_positive && top > 0)) best = 1;
    }
    if (c > 1) ApplyPostTransform(m_.transform, scores, c);
    else if (m_.transform == PostTransform::kProbit) scores[0] = Probit(scores[0]);
    return best;
  }

  int64_t ScoreSvc(const float* row, float* scores) const {
    const int64_t c = m_.classes, v = m_.vectors;
    std::vector<double> k(static_cast<size_t>(v));
    for (int64_t s = 0; s < v; ++s) k[s] = m_.kernel(row, m_.support_vectors.data() + s * m_.features, m_.features);
    std::vector<float> decisions(static_cast<size_t>(Pairs()));
    std::vector<int64_t> votes(static_cast<size_t>(c), 0);
    int64_t pair = 0;
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = i + 1; j < c; ++j, ++pair) {
        double d = m_.rho[pair];
        for (int64_t s = 0; s < m_.vectors_per_class[i]; ++s) {
          const int64_t at = m_.first_vector[i] + s;
          d += m_.coefficients[static_cast<size_t>((j - 1) * v + at)] * k[at];
        }
        for (int64_t s = 0; s < m_.vectors_per_class[j]; ++s) {
          const int64_t at = m_.first_vector[j] + s;
          d += m_.coefficients[static_cast<size_t>(i * v + at)] * k[at];
        }
        decisions[pair] = static_cast<float>(d);
        ++votes[d > 0 ? i : j];
      }
    }
    const int64_t best = std::max_element(votes.begin(), votes.end()) - votes.begin();
    if (HasProbabilities()) {
      WriteProbabilities(decisions, scores);
    } else if (c > 2) {
      std::copy(decisions.begin(), decisions.end(), scores);
      ApplyPostTransform(m_.transform, scores, Pairs());
    } else {
      WriteBinaryDecision(decisions[0], scores);
    }
    return best;
  }

  void WriteProbabilities(const std::vector<float>& decisions, float* scores) const {
    const int64_t c = m_.classes;
    std::vector<float> r(static_cast<size_t>(c * c), 0.0f);
    int64_t pair = 0;
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = i + 1; j < c; ++j, ++pair) {
        const float p = 1.0f - Logistic(decisions[pair] * m_.prob_a[pair] + m_.prob_b[pair]);
        const float clipped = std::min(std::max(p, 1.0e-7f), 1.0f - 1.0e-7f);
        r[i * c + j] = clipped;
        r[j * c + i] = 1.0f - clipped;
      }
    }
    const std::vector<float> p = CouplePairwiseProbabilities(c, r);
    std::copy(p.begin(), p.end(), scores);
    ApplyPostTransform(m_.transform, scores, c);
  }

  void WriteBinaryDecision(float d, float* scores) const {
    switch (m_.transform) {
      case PostTransform::kNone:
        scores[0] = -d;
        scores[1] = d;
        return;
      case PostTransform::kProbit:
        scores[0] = Probit(d);
        scores[1] = 0.0f;
        return;
      case PostTransform::kLogistic: d = Logistic(d); break;
      case PostTransform::kSoftmax:
      case PostTransform::kSoftmaxZero: break;
    }
    scores[0] = 1.0f - d;
    scores[1] = d;
  }

  SvmClassifierModel m_;
};

// Checks the attributes against each other (ORT's constructor checks, as errors instead of throws).
StatusOr<SvmClassifierModel> ReadSvmClassifier(const Node& node) {
  SvmClassifierModel m;
  TS_ASSIGN_OR_RETURN(m.kernel, SvmKernelFunction::FromNode(node));
  TS_ASSIGN_OR_RETURN(m.transform, ParsePostTransform(node));
  if (const Attribute* a = node.FindAttribute("classlabels_strings")) m.string_labels = a->strings;
  m.int_labels = node.GetInts("classlabels_ints");
  m.classes = static_cast<int64_t>(m.string_labels.empty() ? m.int_labels.size() : m.string_labels.size());
  if (m.classes == 0) return KernelContext::Error("one of 'classlabels_ints' and 'classlabels_strings' is required");
  m.coefficients = node.GetFloats("coefficients");
  m.support_vectors = node.GetFloats("support_vectors");
  m.rho = node.GetFloats("rho");
  m.prob_a = node.GetFloats("prob_a");
  m.prob_b = node.GetFloats("prob_b");
  m.vectors_per_class = node.GetInts("vectors_per_class");
  if (m.coefficients.empty()) return KernelContext::Error("attribute 'coefficients' is required");
  if (m.prob_a.size() != m.prob_b.size()) {
    return KernelContext::Error("attributes 'prob_a' and 'prob_b' have " + std::to_string(m.prob_a.size()) + " and " +
                                std::to_string(m.prob_b.size()) + " values");
  }
  for (int64_t n : m.vectors_per_class) {
    if (n < 0 || n > (int64_t{1} << 31)) {
      return KernelContext::Error("attribute 'vectors_per_class' has " + std::to_string(n));
    }
    m.first_vector.push_back(m.vectors);
    m.vectors += n;
  }
  m.coefficients_all_positive =
      std::all_of(m.coefficients.begin(), m.coefficients.end(), [](float w) { return w >= 0.0f; });
  const auto count = [](const std::vector<float>& v) { return static_cast<int64_t>(v.size()); };
  if (m.vectors == 0) {  // the linear form: one row of coefficients per class, the kernel ignored
    m.kernel = SvmKernelFunction::Linear();
    if (count(m.coefficients) % m.classes != 0 || m.rho.empty()) {
      return KernelContext::Error("the linear form needs " + std::to_string(m.classes) +
                                  " rows of 'coefficients' (got " + std::to_string(m.coefficients.size()) +
                                  " values) and one 'rho'");
    }
    m.features = count(m.coefficients) / m.classes;
    return m;
  }
  const int64_t pairs = m.classes * (m.classes - 1) / 2;
  if (m.classes < 2 || static_cast<int64_t>(m.vectors_per_class.size()) != m.classes) {
    return KernelContext::Error("attribute 'vectors_per_class' has " + std::to_string(m.vectors_per_class.size()) +
                                " values for " + std::to_string(m.classes) + " class labels (at least 2)");
  }
  if (count(m.support_vectors) == 0 || count(m.support_vectors) % m.vectors != 0) {
    return KernelContext::Error("attribute 'support_vectors' has " + std::to_string(m.support_vectors.size()) +
                                " values, not a multiple of the " + std::to_string(m.vectors) + " support vectors");
  }
  m.features = count(m.support_vectors) / m.vectors;
  if (count(m.coefficients) < (m.classes - 1) * m.vectors) {
    return KernelContext::Error("attribute 'coefficients' has " + std::to_string(m.coefficients.size()) +
                                " values; " + std::to_string(m.classes) + " classes and " + std::to_string(m.vectors) +
                                " support vectors need " + std::to_string((m.classes - 1) * m.vectors));
  }
  if (count(m.rho) < pairs || (!m.prob_a.empty() && count(m.prob_a) < pairs)) {
    return KernelContext::Error("attributes 'rho' and 'prob_a'/'prob_b' need one value per pair of classes (" +
                                std::to_string(pairs) + "); got " + std::to_string(m.rho.size()) + " and " +
                                std::to_string(m.prob_a.size()));
  }
  return m;
}

StatusOr<std::unique_ptr<Kernel>> CreateSvmClassifier(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(SvmClassifierModel model, ReadSvmClassifier(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<SvmClassifierKernel>(std::move(model)));
}

}  // namespace

void RegisterMlSvmClassifierKernel(KernelRegistry& registry) {
  RegisterMl(registry, "SVMClassifier", 1, CreateSvmClassifier);
}

}  // namespace tessera
