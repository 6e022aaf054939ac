// KernelRegistry: which kernel runs a node, keyed by op type, domain, opset range and backend.
//
// The op list (op_list.cc) is the single source of truth for what Tessera supports: every kernel
// family registers its ops there. A backend (cpu today, gpu later) registers under its own name; the
// session asks for its preferred backends in order and falls back to "cpu".
#pragma once

#include <functional>
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
  // Whether the kernel reads or writes values other than tensors (sequences, maps, none): only such
  // kernels are given them; a tensor kernel fed one is an error naming the node (kernel.h).
  bool takes_values = false;
};

// A float32 2-D convolution as a layout pass sees it, to ask which algorithm its kernel will run.
// `output_spatial` is the output's [H, W].
struct ConvAlgorithmQuery {
  std::vector<int64_t> kernel, stride, dilation;
  int64_t group = 1, in_channels = 0, out_channels = 0;
  std::vector<int64_t> output_spatial;
};

class KernelRegistry {
 public:
  void Register(KernelDef def);
  // Shorthand for the common case: default domain, cpu backend.
  void Register(const std::string& op_type, int since, int until, KernelFactory factory);
  // Same, for a kernel that takes values (KernelDef::takes_values).
  void RegisterValueKernel(const std::string& op_type, int since, int until, KernelFactory factory);

  // The kernel for `op_type` in `domain` at `opset` on `backend`, or nullptr.
  const KernelDef* Find(const std::string& op_type, const std::string& domain, int opset,
                        const std::string& backend = "cpu") const;
  // Every registered def (for `tessera ops` and the docs).
  std::vector<const KernelDef*> All() const;

  // Capability questions that graph passes ask of the kernels, answered by the family that registered the
  // answer, so that no pass includes a concrete kernel's header. Without an answer: false.
  void SetConvWinogradPredicate(std::function<bool(const ConvAlgorithmQuery&)> predicate);
  bool ConvRunsAsWinograd(const ConvAlgorithmQuery& query) const;

  // The registry with every kernel of the op list.
  static const KernelRegistry& Global();

 private:
  std::unordered_map<std::string, std::vector<KernelDef>> defs_;  // key: domain + ":" + op_type
  std::function<bool(const ConvAlgorithmQuery&)> conv_winograd_;
};

}  // namespace tessera
