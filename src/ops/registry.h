// KernelRegistry: which kernel runs a node, keyed by op type, domain, opset range and backend.
//
// The op list (op_list.cc) is the single source of truth for what Tessera supports: every kernel
// family registers its ops there. A backend (cpu today, gpu later) registers under its own name; the
// session asks for its preferred backends in order and falls back to "cpu".
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ops/kernel.h"

namespace tessera {

constexpr int kLatestOpset = 1000;  // "no upper bound" for an opset range

struct KernelDef {
  std::string op_type;
  std::string domain;   // "" is the default ONNX domain
  int since_opset = 1;  // inclusive range of the domain's opset this kernel implements
  int until_opset = kLatestOpset;
  std::string backend = "cpu";
  std::vector<DType> dtypes;  // dtypes of the op's main type constraint; empty = any the kernel checks
  KernelFactory factory;
};

class KernelRegistry {
 public:
  void Register(KernelDef def);
  // Shorthand for the common case: default domain, cpu backend.
  void Register(const std::string& op_type, int since, int until, KernelFactory factory);

  // The kernel for `op_type` in `domain` at `opset` on `backend`, or nullptr.
  const KernelDef* Find(const std::string& op_type, const std::string& domain, int opset,
                        const std::string& backend = "cpu") const;
  // Every registered def (for `tessera ops` and the docs).
  std::vector<const KernelDef*> All() const;

  // The registry with every kernel of the op list.
  static const KernelRegistry& Global();

 private:
  std::unordered_map<std::string, std::vector<KernelDef>> defs_;  // key: domain + ":" + op_type
};

}  // namespace tessera
