// KernelRegistry storage and lookup.
#include "ops/registry.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "ops/op_list.h"

namespace tessera {

void KernelRegistry::Register(KernelDef def) {
  std::string key = def.domain + ":" + def.op_type;
  // Two families claiming the same op and opset would make the op list ambiguous (the first silently
  // wins). The registrations are Tessera's own code, not user input, so this is a programmer error.
  for (const KernelDef& other : defs_[key]) {
    if (other.backend == def.backend && def.since_opset <= other.until_opset && other.since_opset <= def.until_opset) {
      std::fprintf(stderr, "tessera: kernel for %s (backend %s) registered twice for overlapping opsets %d-%d and %d-%d\n",
                   key.c_str(), def.backend.c_str(), other.since_opset, other.until_opset, def.since_opset,
                   def.until_opset);
      std::abort();
    }
  }
  defs_[key].push_back(std::move(def));
}

void KernelRegistry::Register(const std::string& op_type, int since, int until, KernelFactory factory) {
  KernelDef def;
  def.op_type = op_type;
  def.since_opset = since;
  def.until_opset = until;
  def.factory = std::move(factory);
  Register(std::move(def));
}

void KernelRegistry::RegisterValueKernel(const std::string& op_type, int since, int until, KernelFactory factory) {
  KernelDef def;
  def.op_type = op_type;
  def.since_opset = since;
  def.until_opset = until;
  def.factory = std::move(factory);
  def.takes_values = true;
  Register(std::move(def));
}

const KernelDef* KernelRegistry::Find(const std::string& op_type, const std::string& domain, int opset,
                                      const std::string& backend) const {
  auto it = defs_.find(domain + ":" + op_type);
  if (it == defs_.end()) return nullptr;
  for (const KernelDef& def : it->second) {
    if (def.backend == backend && opset >= def.since_opset && opset <= def.until_opset) return &def;
  }
  return nullptr;
}

std::vector<const KernelDef*> KernelRegistry::All() const {
  std::vector<const KernelDef*> all;
  for (const auto& [key, defs] : defs_) {
    for (const auto& def : defs) all.push_back(&def);
  }
  return all;
}

void KernelRegistry::SetConvWinogradPredicate(std::function<bool(const ConvAlgorithmQuery&)> predicate) {
  conv_winograd_ = std::move(predicate);
}

bool KernelRegistry::ConvRunsAsWinograd(const ConvAlgorithmQuery& query) const {
  return conv_winograd_ && conv_winograd_(query);
}

const KernelRegistry& KernelRegistry::Global() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    RegisterAllKernels(*r);
    return r;
  }();
  return *registry;
}

}  // namespace tessera
