// The opset-20 string ops:
// - StringConcat(X, Y): elementwise X + Y with numpy broadcasting.
// - RegexFullMatch(X): whether each string matches `pattern` entirely. The spec names RE2's syntax;
//   Tessera compiles the pattern with PCRE2 (already linked for the tokenizers), which reads RE2's
//   common syntax alike, in UTF mode, with a match limit so that a pattern that backtracks
//   catastrophically fails the run with an error instead of hanging it. A pattern PCRE2 refuses is
//   refused when the session is built.
// - StringSplit(X): splits each string at `delimiter` (at most `maxsplit` times); Y [..., max count]
//   holds the pieces padded with "", Z the piece count per string. Without a delimiter (or with an
//   empty one) it splits at runs of whitespace and drops the empty pieces, as Python's str.split() does.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <string>
#include <vector>

#include "ops/cpu/text/text_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

Status RequireStrings(const Tensor& t, const char* what) {
  if (t.dtype() != DType::kString) {
    return KernelContext::Error(std::string("input '") + what + "' must be a string tensor, got " +
                                DTypeName(t.dtype()));
  }
  return Status::Ok();
}

Status StringConcat(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  TS_RETURN_IF_ERROR(RequireStrings(x, "X"));
  TS_RETURN_IF_ERROR(RequireStrings(y, "Y"));
  TS_ASSIGN_OR_RETURN(Shape shape, BroadcastShapes(x.shape(), y.shape()));
  TS_ASSIGN_OR_RETURN(Tensor * z, ctx.AllocateOutput(0, DType::kString, shape));
  const std::string* a = x.data<std::string>();
  const std::string* b = y.data<std::string>();
  std::string* out = z->data<std::string>();
  ForEachBroadcast2(shape, BroadcastStrides(x.shape(), shape), BroadcastStrides(y.shape(), shape),
                    [&](int64_t i, int64_t ia, int64_t ib) { out[i] = a[ia] + b[ib]; });
  return Status::Ok();
}

struct PcreCodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct PcreMatchContextFree {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
struct PcreMatchDataFree {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

class RegexFullMatchKernel : public Kernel {
 public:
  RegexFullMatchKernel(std::unique_ptr<pcre2_code, PcreCodeFree> code, std::string pattern)
      : code_(std::move(code)), pattern_(std::move(pattern)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    TS_RETURN_IF_ERROR(RequireStrings(x, "X"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kBool, x.shape()));
    std::unique_ptr<pcre2_match_context, PcreMatchContextFree> context(pcre2_match_context_create(nullptr));
    std::unique_ptr<pcre2_match_data, PcreMatchDataFree> data(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    if (!context || !data) return ResourceExhausted("RegexFullMatch: out of memory for the matcher");
    pcre2_set_match_limit(context.get(), kMatchLimit);
    pcre2_set_depth_limit(context.get(), kMatchLimit);
    const std::string* in = x.data<std::string>();
    uint8_t* out = y->data<uint8_t>();
    for (int64_t i = 0; i < x.element_count(); ++i) {
      const std::string& s = in[i];
      const int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0,
                                 PCRE2_ANCHORED | PCRE2_ENDANCHORED, data.get(), context.get());
      if (rc >= 0) {
        out[i] = 1;
      } else if (rc == PCRE2_ERROR_NOMATCH) {
        out[i] = 0;
      } else {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(rc, message, sizeof(message));
        return KernelContext::Error("matching 'pattern' \"" + pattern_ + "\" against element " + std::to_string(i) +
                                    " of 'X' failed: " + reinterpret_cast<const char*>(message));
      }
    }
    return Status::Ok();
  }

 private:
  static constexpr uint32_t kMatchLimit = 10'000'000;
  std::unique_ptr<pcre2_code, PcreCodeFree> code_;
  std::string pattern_;
};

StatusOr<std::unique_ptr<Kernel>> CreateRegexFullMatch(const KernelInit& init) {
  if (!init.node.HasAttribute("pattern")) return KernelContext::Error("attribute 'pattern' is required");
  const std::string pattern = init.node.GetString("pattern", "");
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  std::unique_ptr<pcre2_code, PcreCodeFree> code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                                                               pattern.size(), PCRE2_UTF, &error_code, &error_offset,
                                                               nullptr));
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return KernelContext::Error("attribute 'pattern' \"" + pattern + "\" is not a valid regular expression at offset " +
                                std::to_string(error_offset) + ": " + reinterpret_cast<const char*>(message));
  }
  return std::unique_ptr<Kernel>(std::make_unique<RegexFullMatchKernel>(std::move(code), pattern));
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string> SplitOne(const std::string& s, const std::string& delimiter, int64_t maxsplit) {
  std::vector<std::string> pieces;
  if (delimiter.empty()) {
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && IsSpace(s[i])) ++i;
      if (i == s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(pieces.size()) == maxsplit) {
        size_t end = s.size();
        while (end > i && IsSpace(s[end - 1])) --end;
        pieces.push_back(s.substr(i, end - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !IsSpace(s[j])) ++j;
      pieces.push_back(s.substr(i, j - i));
      i = j;
    }
    return pieces;
  }
  size_t start = 0;
  while (true) {
    const size_t at = (maxsplit >= 0 && static_cast<int64_t>(pieces.size()) == maxsplit) ? std::string::npos
                                                                                          : s.find(delimiter, start);
    if (at == std::string::npos) {
      pieces.push_back(s.substr(start));
      return pieces;
    }
    pieces.push_back(s.substr(start, at - start));
    start = at + delimiter.size();
  }
}

class StringSplitKernel : public Kernel {
 public:
  explicit StringSplitKernel(const Node& node)
      : delimiter_(node.GetString("delimiter", "")),
        maxsplit_(node.HasAttribute("maxsplit") ? node.GetInt("maxsplit", -1) : -1) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    TS_RETURN_IF_ERROR(RequireStrings(x, "X"));
    const std::string* in = x.data<std::string>();
    std::vector<std::vector<std::string>> split(static_cast<size_t>(x.element_count()));
    int64_t widest = 0;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      split[static_cast<size_t>(i)] = SplitOne(in[i], delimiter_, maxsplit_);
      widest = std::max<int64_t>(widest, static_cast<int64_t>(split[static_cast<size_t>(i)].size()));
    }
    Shape y_shape = x.shape();
    y_shape.push_back(widest);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kString, y_shape));
    TS_ASSIGN_OR_RETURN(Tensor * z, ctx.AllocateOutput(1, DType::kInt64, x.shape()));
    std::string* out = y->data<std::string>();
    int64_t* counts = z->data<int64_t>();
    for (int64_t i = 0; i < x.element_count(); ++i) {
      auto& pieces = split[static_cast<size_t>(i)];
      counts[i] = static_cast<int64_t>(pieces.size());
      for (size_t k = 0; k < pieces.size(); ++k) out[i * widest + static_cast<int64_t>(k)] = std::move(pieces[k]);
    }
    return Status::Ok();
  }

 private:
  std::string delimiter_;
  int64_t maxsplit_;  // -1: no limit
};

}  // namespace

void RegisterStringOpKernels(KernelRegistry& registry) {
  registry.Register("StringConcat", 20, kLatestOpset, MakeFunctionKernel(StringConcat));
  registry.Register("RegexFullMatch", 20, kLatestOpset, CreateRegexFullMatch);
  registry.Register("StringSplit", 20, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    if (init.node.HasAttribute("maxsplit") && init.node.GetInt("maxsplit", 0) < 0) {
      return KernelContext::Error("attribute 'maxsplit' must not be negative");
    }
    return std::unique_ptr<Kernel>(std::make_unique<StringSplitKernel>(init.node));
  });
}

}  // namespace tessera
