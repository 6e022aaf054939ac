// StringNormalizer (opset 10+): drops stop words and changes the case of a [C] or [1, C] string tensor.
//
// Case mapping is locale-independent: UTF-8 is decoded and the one-to-one case pairs of the Latin
// (ASCII, Latin-1, Latin Extended-A), Greek and Cyrillic blocks are mapped, which covers what the
// `locale` attribute selects in practice without depending on which C locales the host installed.
// Characters outside those blocks, and those whose case change is not one character (German sharp s),
// are kept as they are. Invalid UTF-8 is an error, as in ONNX Runtime.
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/cpu/text/text_kernels.h"

namespace tessera {
namespace {

enum class CaseChange { kNone, kLower, kUpper };

// The upper-case partner of a lower-case code point, or the code point itself.
char32_t ToUpper(char32_t c) {
  if (c >= U'a' && c <= U'z') return c - 0x20;
  if (c < 0x80) return c;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 0x20;
  if (c == 0xFF) return 0x178;
  // Latin Extended-A: pairs with the upper case on the even code point, except in two runs.
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c & ~char32_t{1};
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 0x20;
  if (c == 0x3C2) return 0x3A3;  // final sigma
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) return c & ~char32_t{1};
  return c;
}

// The lower-case partner of an upper-case code point, or the code point itself.
char32_t ToLower(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 0x20;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0x178) return 0xFF;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) return c | 1;
  return c;
}

// Decodes `s` as UTF-8, maps every code point and re-encodes; nullopt when `s` is not valid UTF-8.
std::optional<std::string> ChangeCase(const std::string& s, CaseChange change) {
  if (change == CaseChange::kNone) return s;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char lead = static_cast<unsigned char>(s[i]);
    const int length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + static_cast<size_t>(length) > s.size()) return std::nullopt;
    char32_t c = length == 1 ? lead : length == 2 ? (lead & 0x1F) : length == 3 ? (lead & 0x0F) : (lead & 0x07);
    for (int k = 1; k < length; ++k) {
      const unsigned char cont = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cont >> 6) != 0x2) return std::nullopt;
      c = (c << 6) | (cont & 0x3F);
    }
    i += static_cast<size_t>(length);
    const char32_t m = change == CaseChange::kUpper ? ToUpper(c) : ToLower(c);
    if (m < 0x80) {
      out += static_cast<char>(m);
    } else if (m < 0x800) {
      out += static_cast<char>(0xC0 | (m >> 6));
      out += static_cast<char>(0x80 | (m & 0x3F));
    } else if (m < 0x10000) {
      out += static_cast<char>(0xE0 | (m >> 12));
      out += static_cast<char>(0x80 | ((m >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (m & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (m >> 18));
      out += static_cast<char>(0x80 | ((m >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((m >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (m & 0x3F));
    }
  }
  return out;
}

class StringNormalizerKernel : public Kernel {
 public:
  StringNormalizerKernel(CaseChange change, bool case_sensitive, std::unordered_set<std::string> stopwords)
      : change_(change), case_sensitive_(case_sensitive), stopwords_(std::move(stopwords)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kString) {
      return KernelContext::Error(std::string("input must be string, got ") + DTypeName(x.dtype()));
    }
    if (!(x.rank() == 1 || (x.rank() == 2 && x.dim(0) == 1))) {
      return KernelContext::Error("input must be [C] or [1, C], got shape " + ShapeToString(x.shape()));
    }
    const std::string* in = x.data<std::string>();
    std::vector<std::string> kept;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      if (!stopwords_.empty()) {
        std::optional<std::string> key = case_sensitive_ ? in[i] : ChangeCase(in[i], CaseChange::kLower);
        if (!key) return KernelContext::Error("input element " + std::to_string(i) + " is not valid UTF-8");
        if (stopwords_.count(*key)) continue;
      }
      std::optional<std::string> out = ChangeCase(in[i], change_);
      if (!out) return KernelContext::Error("input element " + std::to_string(i) + " is not valid UTF-8");
      kept.push_back(std::move(*out));
    }
    // Everything filtered out: the output is one empty string, as in the ONNX reference and Runtime.
    if (kept.empty()) kept.emplace_back();
    const int64_t count = static_cast<int64_t>(kept.size());
    TS_ASSIGN_OR_RETURN(Tensor * y,
                        ctx.AllocateOutput(0, DType::kString, x.rank() == 1 ? Shape{count} : Shape{1, count}));
    std::string* out = y->data<std::string>();
    for (int64_t i = 0; i < count; ++i) out[i] = std::move(kept[static_cast<size_t>(i)]);
    return Status::Ok();
  }

 private:
  CaseChange change_;
  bool case_sensitive_;
  std::unordered_set<std::string> stopwords_;  // lower-cased when matching ignores case
};

StatusOr<std::unique_ptr<Kernel>> MakeStringNormalizer(const KernelInit& init) {
  const std::string action = init.node.GetString("case_change_action", "NONE");
  CaseChange change;
  if (action == "NONE") {
    change = CaseChange::kNone;
  } else if (action == "LOWER") {
    change = CaseChange::kLower;
  } else if (action == "UPPER") {
    change = CaseChange::kUpper;
  } else {
    return KernelContext::Error("attribute 'case_change_action' must be NONE, LOWER or UPPER, got '" + action + "'");
  }
  const bool case_sensitive = init.node.GetInt("is_case_sensitive", 0) != 0;
  std::unordered_set<std::string> stopwords;
  if (const Attribute* a = init.node.FindAttribute("stopwords")) {
    for (const std::string& word : a->strings) {
      std::optional<std::string> key = case_sensitive ? word : ChangeCase(word, CaseChange::kLower);
      if (!key) return KernelContext::Error("stop word '" + word + "' is not valid UTF-8");
      stopwords.insert(std::move(*key));
    }
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<StringNormalizerKernel>(change, case_sensitive, std::move(stopwords)));
}

}  // namespace

void RegisterStringNormalizerKernels(KernelRegistry& registry) {
  registry.Register("StringNormalizer", 10, kLatestOpset, MakeStringNormalizer);
}

}  // namespace tessera
