// ParseEinsum: the equation grammar, ellipsis expansion and the implicit output.
#include "ops/cpu/matmul/einsum_parse.h"

#include <algorithm>

#include "ops/kernel.h"

namespace tessera {
namespace {

constexpr int kEllipsisBase = 52;

int LetterLabel(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

// One term's letters as labels, with -1 standing for "..." (at most once).
StatusOr<std::vector<int>> ParseTerm(const std::string& term, const std::string& equation) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '.') {
      if (ellipsis || term.compare(i, 3, "...") != 0) {
        return KernelContext::Error("Einsum equation '" + equation + "' has a malformed or repeated ellipsis");
      }
      ellipsis = true;
      labels.push_back(-1);
      i += 2;
      continue;
    }
    const int label = LetterLabel(term[i]);
    if (label < 0) {
      return KernelContext::Error("Einsum equation '" + equation + "' has an invalid character '" +
                                  std::string(1, term[i]) + "'");
    }
    labels.push_back(label);
  }
  return labels;
}

}  // namespace

StatusOr<EinsumEquation> ParseEinsum(const std::string& raw, const std::vector<int64_t>& ranks) {
  std::string eq;
  for (char c : raw) {
    if (c != ' ') eq.push_back(c);
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ranks.size()) {
    return KernelContext::Error("Einsum equation '" + raw + "' has " + std::to_string(terms.size()) +
                                " operand terms but the node has " + std::to_string(ranks.size()) + " inputs");
  }
  EinsumEquation result;
  int64_t ellipsis_rank = 0;
  std::vector<std::vector<int>> parsed;
  for (size_t i = 0; i < terms.size(); ++i) {
    TS_ASSIGN_OR_RETURN(std::vector<int> labels, ParseTerm(terms[i], raw));
    const bool has_ellipsis = std::count(labels.begin(), labels.end(), -1) > 0;
    const int64_t letters = static_cast<int64_t>(labels.size()) - (has_ellipsis ? 1 : 0);
    if (has_ellipsis ? letters > ranks[i] : letters != ranks[i]) {
      return KernelContext::Error("Einsum term '" + terms[i] + "' of equation '" + raw + "' does not fit input " +
                                  std::to_string(i) + " of rank " + std::to_string(ranks[i]));
    }
    if (has_ellipsis) ellipsis_rank = std::max(ellipsis_rank, ranks[i] - letters);
    parsed.push_back(std::move(labels));
  }
  if (ellipsis_rank > kMaxEinsumLabels - kEllipsisBase) {
    return KernelContext::Error("Einsum equation '" + raw + "' has an ellipsis over too many dims (" +
                                std::to_string(ellipsis_rank) + ")");
  }
  std::vector<int> counts(kEllipsisBase, 0);
  for (size_t i = 0; i < parsed.size(); ++i) {
    std::vector<int> labels;
    for (int label : parsed[i]) {
      if (label >= 0) {
        labels.push_back(label);
        ++counts[static_cast<size_t>(label)];
        continue;
      }
      const int64_t dims = ranks[i] - static_cast<int64_t>(parsed[i].size() - 1);
      for (int64_t d = ellipsis_rank - dims; d < ellipsis_rank; ++d)
        labels.push_back(kEllipsisBase + static_cast<int>(d));
    }
    result.inputs.push_back(std::move(labels));
  }
  if (arrow == std::string::npos) {
    for (int64_t d = 0; d < ellipsis_rank; ++d) result.output.push_back(kEllipsisBase + static_cast<int>(d));
    // Labels 0..51 are already in ASCII order: uppercase before lowercase.
    for (int label = 0; label < kEllipsisBase; ++label) {
      if (counts[static_cast<size_t>(label)] == 1) result.output.push_back(label);
    }
    return result;
  }
  TS_ASSIGN_OR_RETURN(std::vector<int> out, ParseTerm(eq.substr(arrow + 2), raw));
  for (int label : out) {
    if (label < 0) {
      for (int64_t d = 0; d < ellipsis_rank; ++d) result.output.push_back(kEllipsisBase + static_cast<int>(d));
      continue;
    }
    if (counts[static_cast<size_t>(label)] == 0 || std::count(result.output.begin(), result.output.end(), label) > 0) {
      return KernelContext::Error("Einsum equation '" + raw +
                                  "' has an output label that is repeated or not in any input");
    }
    result.output.push_back(label);
  }
  return result;
}

}  // namespace tessera
