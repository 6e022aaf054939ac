// Session: model loading, input validation and the top-level executor.
#include "tessera/session.h"

#include "core/thread_pool.h"
#include "graph/passes/graph_passes.h"
#include "model/onnx_loader.h"
#include "model/weight_copies.h"
#include "ops/registry.h"
#include "ops/cpu/common/dnnl_context.h"
#include "runtime/graph_executor.h"
#include "runtime/session_factory.h"

namespace tessera {

struct Session::Impl {
  Model model;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<GraphExecutor> executor;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  RunStats stats;
  int threads = 1;

  Status ValidateFeed(const TensorInfo& info, const Tensor& t) const;
  Status ValidateValueFeed(const TensorInfo& info, const Value& v) const;
  StatusOr<std::vector<Value>> Run(const std::vector<std::pair<std::string, Value>>& feeds);
};

TensorInfo TensorInfoOf(const ValueInfo& v) {
  TensorInfo info;
  info.name = v.name;
  info.dtype = v.dtype;
  info.has_shape = v.has_shape;
  for (const Dim& d : v.dims) {
    info.dims.push_back(d.value);
    info.dim_symbols.push_back(d.symbol);
  }
  info.kind = v.kind;
  info.map_key_dtype = v.map_key_dtype;
  info.optional = v.optional;
  return info;
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

LoadOptions KernelAwareLoadOptions() {
  LoadOptions load_options;
  load_options.has_kernel = [](const std::string& op, const std::string& domain, int opset) {
    return KernelRegistry::Global().Find(op, domain, opset) != nullptr;
  };
  return load_options;
}

StatusOr<std::unique_ptr<Session>> Session::Load(const std::string& model_path, const SessionOptions& options) {
  return LoadSessionWithRewrite(model_path, options, {});
}

StatusOr<std::unique_ptr<Session>> LoadSessionWithRewrite(const std::string& model_path, const SessionOptions& options,
                                                          const GraphRewrite& rewrite) {
  LoadOptions load_options = KernelAwareLoadOptions();
  load_options.defer_weight_copies = true;  // SessionFactory::Create copies what the rewrite keeps
  TS_ASSIGN_OR_RETURN(Model model, LoadModelFromFile(model_path, load_options));
  return CreateSessionFromModel(std::move(model), options, rewrite);
}

class SessionFactory {
 public:
  static StatusOr<std::unique_ptr<Session>> Create(Model model, const SessionOptions& options,
                                                   const GraphRewrite& rewrite);
};

StatusOr<std::unique_ptr<Session>> CreateSessionFromModel(Model model, const SessionOptions& options,
                                                          const GraphRewrite& rewrite) {
  return SessionFactory::Create(std::move(model), options, rewrite);
}

StatusOr<std::unique_ptr<Session>> SessionFactory::Create(Model model, const SessionOptions& options,
                                                          const GraphRewrite& rewrite) {
  auto impl = std::make_unique<Session::Impl>();
  impl->model = std::move(model);
  auto in_model = [&](const Status& s) { return s.WithContext("model '" + impl->model.display_name + "'"); };
  if (rewrite) {
    if (Status s = rewrite(*impl->model.graph); !s.ok()) return in_model(s);
  }
  // Weights the loader left unaligned in the file are copied now, after a plan's rewrite has kept only
  // this rank's part (LoadOptions::defer_weight_copies).
  if (auto copied = CopyDeferredWeights(*impl->model.graph); !copied.ok()) return in_model(copied.status());
  impl->threads = options.threads > 0 ? options.threads : DefaultThreadCount();
  impl->pool = std::make_unique<ThreadPool>(impl->threads);
  SetDnnlThreads(impl->threads);
  GraphPassOptions pass_options;
  pass_options.enabled = options.optimize;
  pass_options.bf16 = options.precision == SessionOptions::Precision::kBFloat16;
  if (Status s = RunGraphPasses(*impl->model.graph, pass_options); !s.ok()) return in_model(s);
  const Graph& graph = *impl->model.graph;
  for (int id : graph.inputs) impl->inputs.push_back(TensorInfoOf(graph.value(id)));
  for (int id : graph.outputs) impl->outputs.push_back(TensorInfoOf(graph.value(id)));
  ExecutorOptions exec_options;
  exec_options.fold_constants = options.fold_constants;
  // With the graph ours alone, its constants go after Create (below): kernels may consume what they pack.
  exec_options.constants_consumable = impl->model.graph.use_count() == 1;
  auto executor = GraphExecutor::Create(graph, *impl->pool, KernelRegistry::Global(), exec_options);
  if (!executor.ok()) return in_model(executor.status());
  impl->executor = std::move(executor).value();
  // The executor holds its own copy of the graph and drops the constants its kernels packed; the
  // references here would keep every original weight alive. A caller that shares the graph keeps it whole.
  if (impl->model.graph.use_count() == 1) impl->model.graph->constants.clear();
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

const std::vector<TensorInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Session::outputs() const { return impl_->outputs; }
const std::string& Session::model_name() const { return impl_->model.display_name; }
const RunStats& Session::last_run_stats() const { return impl_->stats; }

Status Session::DonateInputs(const std::vector<std::string>& names) {
  std::vector<size_t> positions;
  for (const std::string& name : names) {
    size_t k = 0;
    while (k < impl_->inputs.size() && impl_->inputs[k].name != name) ++k;
    if (k == impl_->inputs.size()) {
      return InvalidArgument("model '" + impl_->model.display_name + "' has no input named '" + name + "' to donate");
    }
    positions.push_back(k);
  }
  impl_->executor->SetDonatedInputs(positions);
  return Status::Ok();
}

Status Session::Impl::ValidateFeed(const TensorInfo& info, const Tensor& t) const {
  if (info.dtype != DType::kUndefined && t.dtype() != info.dtype) {
    return InvalidArgument("input '" + info.name + "' must be " + DTypeName(info.dtype) + ", got " +
                           DTypeName(t.dtype()));
  }
  if (!info.has_shape) return Status::Ok();
  if (t.rank() != static_cast<int64_t>(info.dims.size())) {
    return InvalidArgument("input '" + info.name + "' must have rank " + std::to_string(info.dims.size()) +
                           ", got shape " + ShapeToString(t.shape()));
  }
  for (size_t i = 0; i < info.dims.size(); ++i) {
    if (info.dims[i] >= 0 && info.dims[i] != t.shape()[i]) {
      return InvalidArgument("input '" + info.name + "' dim " + std::to_string(i) + " must be " +
                             std::to_string(info.dims[i]) + ", got shape " + ShapeToString(t.shape()));
    }
  }
  return Status::Ok();
}

// A sequence's elements are checked as tensor feeds of the element type; a map by its key and value types.
Status Session::Impl::ValidateValueFeed(const TensorInfo& info, const Value& v) const {
  if (v.is_none()) {
    if (info.optional) return Status::Ok();
    return InvalidArgument("input '" + info.name + "' is none, but the model does not declare it optional");
  }
  if (v.kind() != info.kind) {
    return InvalidArgument("input '" + info.name + "' must be a " + ValueKindName(info.kind) + ", got " +
                           v.Describe());
  }
  switch (v.kind()) {
    case Value::Kind::kTensor: return ValidateFeed(info, v.tensor());
    case Value::Kind::kSequence: {
      const auto& elements = v.elements();
      for (size_t i = 0; i < elements.size(); ++i) {
        const Value& e = elements[i];
        if (!e.is_tensor()) {
          return InvalidArgument("input '" + info.name + "' element " + std::to_string(i) + " must be a tensor, got " +
                                 e.Describe());
        }
        TensorInfo element = info;
        element.name = info.name + "[" + std::to_string(i) + "]";
        TS_RETURN_IF_ERROR(ValidateFeed(element, e.tensor()));
      }
      if (info.dtype != DType::kUndefined && elements.empty() && v.element_dtype() != DType::kUndefined &&
          v.element_dtype() != info.dtype) {
        return InvalidArgument("input '" + info.name + "' must be a sequence of " + DTypeName(info.dtype) + ", got " +
                               v.Describe());
      }
      return Status::Ok();
    }
    case Value::Kind::kMap:
      if ((info.map_key_dtype != DType::kUndefined && v.map_keys().dtype() != info.map_key_dtype) ||
          (info.dtype != DType::kUndefined && v.map_values().dtype() != info.dtype)) {
        return InvalidArgument("input '" + info.name + "' must be a map " + DTypeName(info.map_key_dtype) + " -> " +
                               DTypeName(info.dtype) + ", got " + v.Describe());
      }
      return Status::Ok();
    case Value::Kind::kNone: break;
  }
  return Status::Ok();
}

StatusOr<std::vector<Tensor>> Session::Run(const std::vector<std::pair<std::string, Tensor>>& feeds) {
  std::vector<std::pair<std::string, Value>> values;
  values.reserve(feeds.size());
  for (const auto& [name, tensor] : feeds) values.emplace_back(name, Value(tensor));
  TS_ASSIGN_OR_RETURN(std::vector<Value> outputs, impl_->Run(values));
  std::vector<Tensor> tensors;
  tensors.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].is_tensor() && !outputs[i].is_none()) {
      return InvalidArgument("model '" + impl_->model.display_name + "': output '" + impl_->outputs[i].name +
                             "' is a " + ValueKindName(outputs[i].kind()) + "; run the model with RunValues");
    }
    tensors.push_back(outputs[i].tensor());
  }
  return tensors;
}

StatusOr<std::vector<Value>> Session::RunValues(const std::vector<std::pair<std::string, Value>>& feeds) {
  return impl_->Run(feeds);
}

StatusOr<std::vector<Value>> Session::Impl::Run(const std::vector<std::pair<std::string, Value>>& feeds) {
  auto fail = [this](const Status& s) { return s.WithContext("model '" + model.display_name + "'"); };
  std::vector<Value> values(inputs.size());
  std::vector<bool> fed(inputs.size(), false);
  for (const auto& [name, value] : feeds) {
    size_t k = 0;
    while (k < inputs.size() && inputs[k].name != name) ++k;
    if (k == inputs.size()) return fail(InvalidArgument("the model has no input named '" + name + "'"));
    if (fed[k]) return fail(InvalidArgument("input '" + name + "' is given twice"));
    TS_RETURN_IF_ERROR(fail(ValidateValueFeed(inputs[k], value)));
    values[k] = value;
    fed[k] = true;
  }
  for (size_t k = 0; k < fed.size(); ++k) {
    if (!fed[k]) return fail(InvalidArgument("missing input '" + inputs[k].name + "'"));
  }
  SetDnnlThreads(threads);
  size_t base = Buffer::live_bytes();
  Buffer::reset_peak_bytes();
  std::vector<Value> outputs;
  TS_RETURN_IF_ERROR(fail(executor->Run(values, {}, outputs)));
  size_t peak = Buffer::peak_bytes();
  stats.peak_bytes = peak > base ? peak - base : 0;
  return outputs;
}

}  // namespace tessera
