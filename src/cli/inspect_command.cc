// `tessera inspect`: what a model takes, gives, contains and costs.
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "graph/cost_model.h"
#include "model/onnx_loader.h"
#include "runtime/session_factory.h"

namespace tessera::cli {

namespace {

// "x: float32 [1,3]"; a sequence "xs: sequence of float32 [r,c]", a map "m: map int64 -> float32", optionals
// prefixed "optional".
std::string DescribeValue(const ValueInfo& v) {
  std::string s = v.name + ": " + (v.optional ? "optional " : "");
  const bool map_elements = v.map_key_dtype != DType::kUndefined;
  if (v.kind == Value::Kind::kSequence) s += "sequence of ";
  if (map_elements) return s + "map " + DTypeName(v.map_key_dtype) + " -> " + DTypeName(v.dtype);
  s += std::string(DTypeName(v.dtype)) + " ";
  if (!v.has_shape) return s + "[unknown shape]";
  s += "[";
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (i) s += ",";
    s += v.dims[i].value >= 0 ? std::to_string(v.dims[i].value) : (v.dims[i].symbol.empty() ? "?" : v.dims[i].symbol);
  }
  return s + "]";
}

std::string HumanCount(double n) {
  char buf[64];
  if (n >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G", n / 1e9);
  } else if (n >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  } else if (n >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f K", n / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f ", n);
  }
  return buf;
}

}  // namespace

int InspectCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {}, {});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1) return Fail(InvalidArgument("usage: tessera inspect MODEL"), kExitUsage);
  auto model = LoadModelFromFile(cl->positional()[0], KernelAwareLoadOptions());
  if (!model.ok()) return Fail(model.status());
  const Graph& g = *model->graph;

  std::cout << "model: " << model->display_name << " (IR " << model->ir_version << ", producer '"
            << model->producer << "')\nopsets:";
  for (const auto& [domain, version] : model->opsets) std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  std::cout << "\n\ninputs:\n";
  for (int id : g.inputs) std::cout << "  " << DescribeValue(g.value(id)) << "\n";
  std::cout << "outputs:\n";
  for (int id : g.outputs) std::cout << "  " << DescribeValue(g.value(id)) << "\n";

  std::map<std::string, int> histogram;
  for (const Node& n : g.nodes) ++histogram[(n.domain.empty() ? "" : n.domain + ".") + n.op_type];
  std::cout << "\nops (" << g.nodes.size() << " nodes):\n";
  for (const auto& [op, count] : histogram) std::printf("  %-28s %6d\n", op.c_str(), count);
  std::cout.flush();

  double params = 0, bytes = 0;
  for (const auto& [id, t] : g.constants) {
    params += static_cast<double>(t.element_count());
    bytes += static_cast<double>(t.byte_size());
  }
  std::cout << "\nparameters: " << HumanCount(params) << " (" << HumanCount(bytes) << "B in " << g.constants.size()
            << " initializers)\n";
  std::cout << "estimated FLOPs per run: " << HumanCount(EstimateGraphFlops(g))
            << " (from statically known shapes; dynamic dims count as 0)\n";
  return kExitOk;
}

}  // namespace tessera::cli
