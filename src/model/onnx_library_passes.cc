// Checker, shape inference and inlining in a sandboxed child process; see the header for why.
#include "model/onnx_library_passes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "model/newer_op_schemas.h"

namespace tessera {

namespace {

// Child -> parent messages, each one tag byte then a payload that runs to the next tag or the end.
constexpr char kTagRejected = 'E';     // checker failed; payload: its message
constexpr char kTagChecked = 'C';      // checker passed (or was skipped)
constexpr char kTagGraph = 'G';        // payload: GraphProto with the final node and value_info lists

// The in-memory checker resolves external data against the working directory, so external references
// are hidden from it (the graph builder validates them against the model's folder instead).
std::string CheckModel(onnx::ModelProto& proto) {
  for (auto& init : *proto.mutable_graph()->mutable_initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) continue;
    init.clear_external_data();
    init.clear_data_location();
    init.set_raw_data(std::string(1, 0));  // the checker wants exactly one non-empty value field
  }
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Ops newer than the installed ONNX library (opset 23's Attention and RotaryEmbedding under Debian's
// ONNX 1.12) have no schema there, and the checker refuses a default-domain node it has no schema for.
// When Tessera has a kernel for such a node, the checker sees it in a domain of its own, which it passes
// over as it does every domain it does not know (com.microsoft, com.tessera); the kernel's creation
// validates the node instead. Subgraph nodes are handled alike. The renaming is undone after the check
// (UnhideNodes), so shape inference, inlining and the loader see the model's own domains.
// A node whose op the library knows only in an older version is hidden alike when it carries an
// attribute that version lacks (opset 19's Cast `saturate`, opset 21's QuantizeLinear `block_size` and
// `output_dtype`): the checker would refuse the attribute as unrecognized. So is every node that Tessera's
// own table describes in a version newer than the library's (newer_op_schemas.h: Reduce* with `axes` as
// an input, Split with num_outputs, Pad with axes, ...): the loader checks those against that table.
// So is a node whose schema the library marks deprecated (Upsample-10) when Tessera has a kernel for it.
constexpr const char* kUncheckedDomain = "com.tessera.unchecked";

int LibraryOpset() { return InstalledOnnxOpset(); }

constexpr const char* kMlDomainName = "ai.onnx.ml";

// The newest opset of `domain` the installed library has schemas for (3 for ai.onnx.ml under ONNX 1.12).
int LibraryOpset(const std::string& domain) {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = ranges.find(domain);
  return it == ranges.end() ? 0 : it->second.second;
}

bool HasAttributeUnknownTo(const onnx::OpSchema& schema, const onnx::NodeProto& node) {
  for (const auto& attr : node.attribute()) {
    if (schema.attributes().count(attr.name()) == 0) return true;
  }
  return false;
}

struct HiddenNodes {
  std::vector<std::pair<onnx::NodeProto*, std::string>> nodes;  // and each one's own domain
  bool added_import = false;
};

void HideSchemalessNodes(onnx::GraphProto& graph, const std::map<std::string, int>& opsets,
                         const KernelAvailable& has_kernel, HiddenNodes& hidden) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) HideSchemalessNodes(*attr.mutable_g(), opsets, has_kernel, hidden);
      for (auto& g : *attr.mutable_graphs()) HideSchemalessNodes(g, opsets, has_kernel, hidden);
    }
    // The default domain, and ai.onnx.ml (LabelEncoder-4 and TreeEnsemble-5 are newer than ONNX 1.12).
    const bool ml = node.domain() == kMlDomainName;
    if (!node.domain().empty() && node.domain() != "ai.onnx" && !ml) continue;
    const std::string domain = ml ? kMlDomainName : "";
    auto opset = opsets.find(domain);
    if (opset == opsets.end()) continue;
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset->second, domain);
    // At an opset the library knows, an unknown attribute is the model's mistake: the checker says so.
    const bool newer = !ml && FindNewerOpSchema(node.op_type(), opset->second) != nullptr;
    const int library_opset = ml ? LibraryOpset(kMlDomainName) : LibraryOpset();
    // A deprecated schema (Upsample-10) is refused by the checker outright; with a kernel it still runs.
    const bool deprecated = schema != nullptr && schema->Deprecated();
    if (schema != nullptr && !newer && !deprecated &&
        (opset->second <= library_opset || !HasAttributeUnknownTo(*schema, node))) {
      continue;
    }
    if (!has_kernel(node.op_type(), domain, opset->second)) continue;
    hidden.nodes.emplace_back(&node, node.domain());
    node.set_domain(kUncheckedDomain);
  }
}

HiddenNodes HideSchemalessNodes(onnx::ModelProto& proto, const KernelAvailable& has_kernel) {
  HiddenNodes hidden;
  if (!has_kernel) return hidden;
  std::map<std::string, int> opsets;
  for (const auto& op : proto.opset_import()) {
    opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = static_cast<int>(op.version());
  }
  HideSchemalessNodes(*proto.mutable_graph(), opsets, has_kernel, hidden);
  if (!hidden.nodes.empty()) {
    auto* import = proto.add_opset_import();
    import->set_domain(kUncheckedDomain);
    import->set_version(1);
    hidden.added_import = true;
  }
  return hidden;
}

// Shape inference would infer a node of a version newer than the library from the older version's
// schema (ReduceMean-18's `axes` input read as "reduce every axis"): wrong shapes are worse than none,
// so those nodes are hidden from it and their outputs stay as the model declared them.
void HideNewerVersionNodes(onnx::GraphProto& graph, int default_opset, HiddenNodes& hidden) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) HideNewerVersionNodes(*attr.mutable_g(), default_opset, hidden);
      for (auto& g : *attr.mutable_graphs()) HideNewerVersionNodes(g, default_opset, hidden);
    }
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    if (FindNewerOpSchema(node.op_type(), default_opset) == nullptr) continue;
    hidden.nodes.emplace_back(&node, node.domain());
    node.set_domain(kUncheckedDomain);
  }
}

HiddenNodes HideNewerVersionNodes(onnx::ModelProto& proto) {
  HiddenNodes hidden;
  int default_opset = 0;
  for (const auto& op : proto.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") default_opset = static_cast<int>(op.version());
  }
  if (default_opset <= LibraryOpset()) return hidden;
  HideNewerVersionNodes(*proto.mutable_graph(), default_opset, hidden);
  if (!hidden.nodes.empty()) {
    auto* import = proto.add_opset_import();
    import->set_domain(kUncheckedDomain);
    import->set_version(1);
    hidden.added_import = true;
  }
  return hidden;
}

void UnhideNodes(onnx::ModelProto& proto, const HiddenNodes& hidden) {
  for (const auto& [node, domain] : hidden.nodes) node->set_domain(domain);
  if (hidden.added_import) proto.mutable_opset_import()->RemoveLast();
}

// Shape inference only adds information; when it throws, the model keeps what it declared.
void InferShapes(onnx::ModelProto& proto) {
  const HiddenNodes hidden = HideNewerVersionNodes(proto);
  try {
    onnx::ShapeInferenceOptions options{/*check_type=*/false, /*error_mode=*/0, /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception&) {
  }
  UnhideNodes(proto, hidden);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

[[noreturn]] void RunChild(int fd, onnx::ModelProto& proto, const LibraryPassOptions& options) {
  alarm(static_cast<unsigned>(options.timeout_seconds));
  // The library prints warnings of its own; the engine's output stays the engine's.
  int null_fd = open("/dev/null", O_WRONLY);
  if (null_fd >= 0) {
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
  }
  // The loader accepts IR versions newer than the installed ONNX library knows (they only add
  // features the checker need not understand); the library would refuse them outright, so it sees the
  // newest version it knows. This child's proto is a private copy, and only nodes and value infos go back.
  if (proto.ir_version() > onnx::IR_VERSION) proto.set_ir_version(onnx::IR_VERSION);
  if (options.run_checker) {
    onnx::ModelProto copy_for_checker;
    const bool has_external = [&] {
      for (const auto& init : proto.graph().initializer()) {
        if (init.data_location() == onnx::TensorProto::EXTERNAL) return true;
      }
      return false;
    }();
    // The child's memory is a copy-on-write image, so editing the proto in place is private to it;
    // but shape inference below must not see the placeholder data, so work on a copy when needed.
    onnx::ModelProto* target = &proto;
    if (has_external) {
      copy_for_checker = proto;
      target = &copy_for_checker;
    }
    const HiddenNodes hidden = HideSchemalessNodes(*target, options.has_kernel);
    std::string error = CheckModel(*target);
    UnhideNodes(*target, hidden);
    if (!error.empty()) {
      std::string msg = kTagRejected + error;
      WriteAll(fd, msg.data(), msg.size());
      _exit(0);
    }
  }
  WriteAll(fd, &kTagChecked, 1);
  if (options.infer_shapes) InferShapes(proto);
  if (options.has_kernel) {
    int expanded = 0;
    if (InlineFunctionOps(proto, options.has_kernel, &expanded).ok() && expanded > 0 && options.infer_shapes) {
      InferShapes(proto);
    }
  }
  onnx::GraphProto result;
  *result.mutable_node() = proto.graph().node();
  *result.mutable_value_info() = proto.graph().value_info();
  std::string payload = kTagGraph + result.SerializeAsString();
  WriteAll(fd, payload.data(), payload.size());
  _exit(0);
}

}  // namespace

Status RunOnnxLibraryPasses(onnx::ModelProto& proto, const LibraryPassOptions& options) {
  if (!options.run_checker && !options.infer_shapes && !options.has_kernel) return Status::Ok();
  // Every lazily built static the child touches is built here first. A function-local static that
  // another thread is still building at the moment of fork stays "being built" in the child forever
  // (its builder does not exist there), so the child would wait on it until the alarm: ranks that are
  // threads loading at once hung that way. The schema map registers every schema on its first lookup.
  onnx::OpSchemaRegistry::Instance();
  (void)onnx::OpSchemaRegistry::Schema("Identity", 1, "");
  (void)onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  if (options.has_kernel) (void)options.has_kernel("Identity", "", 1);
  (void)FindNewerOpSchema("Identity", 1, 0);  // its table of newer schemas, read by HideSchemalessNodes
  int fds[2];
  if (pipe(fds) != 0) return IoError(std::string("pipe failed: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return IoError(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    RunChild(fds[1], proto, options);
  }
  close(fds[1]);
  std::string reply;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  if (!reply.empty() && reply[0] == kTagRejected) {
    return InvalidArgument("the ONNX checker rejects the model: " + reply.substr(1));
  }
  if (reply.empty() || reply[0] != kTagChecked) {
    return InvalidArgument("the model is malformed: the ONNX checker " +
                           std::string(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "timed out" : "crashed") +
                           " on it");
  }
  if (!clean_exit || reply.size() < 2 || reply[1] != kTagGraph) return Status::Ok();  // load without inference
  onnx::GraphProto result;
  if (!result.ParseFromArray(reply.data() + 2, static_cast<int>(reply.size() - 2))) return Status::Ok();
  proto.mutable_graph()->mutable_node()->Swap(result.mutable_node());
  proto.mutable_graph()->mutable_value_info()->Swap(result.mutable_value_info());
  return Status::Ok();
}

}  // namespace tessera
