// GraphExecutor: kernel selection, constant folding, release planning and the run loop.
#include "runtime/graph_executor.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "runtime/node_profile.h"

namespace tessera {

namespace {

bool IsNondeterministic(const Node& node) {
  static const std::unordered_set<std::string> kRandomOps = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"};
  return node.domain.empty() && kRandomOps.count(node.op_type) != 0;
}

// Runs a subgraph with its captured values taken from the owning node's implicit inputs.
class CompiledSubgraph : public SubgraphRunner {
 public:
  CompiledSubgraph(std::unique_ptr<GraphExecutor> executor, std::vector<size_t> implicit_index)
      : executor_(std::move(executor)), implicit_index_(std::move(implicit_index)) {}

  Status Run(const std::vector<Value>& inputs, KernelContext& ctx, std::vector<Value>& outputs) override {
    std::vector<Value> outer;
    outer.reserve(implicit_index_.size());
    for (size_t i : implicit_index_) outer.push_back(ctx.implicit_input(i));
    return executor_->Run(inputs, outer, outputs);
  }
  size_t input_count() const override { return executor_->graph().inputs.size(); }
  size_t output_count() const override { return executor_->graph().outputs.size(); }

 private:
  std::unique_ptr<GraphExecutor> executor_;
  std::vector<size_t> implicit_index_;
};

}  // namespace

StatusOr<std::unique_ptr<GraphExecutor>> GraphExecutor::Create(const Graph& graph, ThreadPool& pool,
                                                               const KernelRegistry& registry,
                                                               const ExecutorOptions& options) {
  std::unique_ptr<GraphExecutor> executor(new GraphExecutor(graph, pool, options.is_subgraph));
  TS_RETURN_IF_ERROR(executor->CreateKernelsAndFold(registry, options));
  executor->PlanReleases();
  executor->PlanConstantHandover();
  for (size_t i = 0; i < executor->graph_.nodes.size(); ++i) executor->DropConstantsTakenOver(i, nullptr);
  return executor;
}

Status GraphExecutor::CreateKernelsAndFold(const KernelRegistry& registry, const ExecutorOptions& options) {
  kernels_.resize(graph_.nodes.size());
  folded_.assign(graph_.nodes.size(), false);
  takes_values_.assign(graph_.nodes.size(), false);
  reads_.assign(graph_.values.size(), 0);
  for (const Node& node : graph_.nodes) {
    for (int in : node.inputs) {
      if (in != kNoValue) ++reads_[static_cast<size_t>(in)];
    }
  }
  for (int out : graph_.outputs) ++reads_[static_cast<size_t>(out)];
  std::vector<Value> slots(graph_.values.size());
  for (const auto& [id, t] : graph_.constants) slots[static_cast<size_t>(id)] = t;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    TS_RETURN_IF_ERROR(CreateKernel(i, registry, options));
    if (options.fold_constants) TS_RETURN_IF_ERROR(TryFold(i, slots, options));
  }
  return Status::Ok();
}

Status GraphExecutor::CreateKernel(size_t i, const KernelRegistry& registry, const ExecutorOptions& options) {
  {
    const Node& node = graph_.nodes[i];
    const KernelDef* def = registry.Find(node.op_type, node.domain, node.opset, options.backend);
    if (def == nullptr && options.backend != "cpu") def = registry.Find(node.op_type, node.domain, node.opset, "cpu");
    if (def == nullptr) {
      return Unimplemented(node.Describe() + ": op '" + node.op_type + "' of domain '" +
                           (node.domain.empty() ? "ai.onnx" : node.domain) + "' at opset " +
                           std::to_string(node.opset) + " is not supported");
    }
    KernelInit init{node, graph_,
                    [this, &node](size_t input) -> const Tensor* {
                      if (input >= node.inputs.size() || node.inputs[input] == kNoValue) return nullptr;
                      auto it = graph_.constants.find(node.inputs[input]);
                      return it == graph_.constants.end() ? nullptr : &it->second;
                    },
                    [this, &node, &registry, options](const Graph& sub) -> StatusOr<std::unique_ptr<SubgraphRunner>> {
                      ExecutorOptions sub_options = options;
                      sub_options.is_subgraph = true;
                      sub_options.constants_consumable = false;
                      TS_ASSIGN_OR_RETURN(auto exec, GraphExecutor::Create(sub, pool_, registry, sub_options));
                      std::vector<size_t> implicit_index;
                      for (int outer_id : sub.outer_values) {
                        const std::string& name = sub.value(outer_id).name;
                        size_t found = SIZE_MAX;
                        for (size_t k = node.explicit_input_count; k < node.inputs.size(); ++k) {
                          if (graph_.value(node.inputs[k]).name == name) found = k - node.explicit_input_count;
                        }
                        if (found == SIZE_MAX) return Internal("subgraph capture '" + name + "' is not wired");
                        implicit_index.push_back(found);
                      }
                      return std::unique_ptr<SubgraphRunner>(
                          std::make_unique<CompiledSubgraph>(std::move(exec), std::move(implicit_index)));
                    },
                    [this, &node, options](size_t input) {
                      return input < node.explicit_input_count && input < node.inputs.size() &&
                             IsConsumableConstant(node.inputs[input], options);
                    }};
    auto kernel = def->factory(init);
    if (!kernel.ok()) return kernel.status().WithContext(node.Describe());
    kernels_[i] = std::move(kernel).value();
    takes_values_[i] = def->takes_values;
  }
  return Status::Ok();
}

bool GraphExecutor::IsConsumableConstant(int id, const ExecutorOptions& options) const {
  if (!options.constants_consumable || id == kNoValue || reads_[static_cast<size_t>(id)] != 1) return false;
  auto it = graph_.constants.find(id);
  if (it == graph_.constants.end() || !it->second.defined() || it->second.byte_size() == 0) return false;
  // A constant that views another's memory (a folded Reshape of a weight) would take the other with it.
  const auto begin = reinterpret_cast<uintptr_t>(it->second.raw_data());
  const uintptr_t end = begin + it->second.byte_size();
  for (const auto& [other_id, other] : graph_.constants) {
    if (other_id == id || !other.defined() || other.byte_size() == 0) continue;
    const auto other_begin = reinterpret_cast<uintptr_t>(other.raw_data());
    if (other_begin < end && begin < other_begin + other.byte_size()) return false;
  }
  return true;
}

Status GraphExecutor::TryFold(size_t i, std::vector<Value>& slots, const ExecutorOptions& options) {
  {
    const Node& node = graph_.nodes[i];
    if (IsNondeterministic(node) || node.HasSubgraphs()) return Status::Ok();
    // Shape of a value whose shape the model fixes: known without running anything.
    if (!options.is_subgraph && node.op_type == "Shape" && node.domain.empty() && !node.inputs.empty() &&
        node.inputs[0] != kNoValue && !graph_.IsConstant(node.inputs[0]) && graph_.value(node.inputs[0]).IsStatic()) {
      Shape dims = graph_.value(node.inputs[0]).StaticDims();
      int64_t rank = static_cast<int64_t>(dims.size());
      int64_t start = node.GetInt("start", 0), end = node.GetInt("end", rank);
      if (start < 0) start += rank;
      if (end < 0) end += rank;
      start = std::clamp<int64_t>(start, 0, rank);
      end = std::clamp<int64_t>(end, start, rank);
      Tensor t = Tensor::FromVector<int64_t>(DType::kInt64, {end - start},
                                             std::vector<int64_t>(dims.begin() + start, dims.begin() + end));
      graph_.constants[node.outputs[0]] = t;
      slots[static_cast<size_t>(node.outputs[0])] = t;
      folded_[i] = true;
      return Status::Ok();
    }
    bool all_constant = true;
    for (int in : node.inputs) all_constant &= in == kNoValue || graph_.IsConstant(in);
    if (!all_constant) return Status::Ok();
    // Ops with no inputs fold too (Constant, ConstantOfShape with a default shape ...).
    Status s = RunNode(i, slots);
    if (!s.ok()) return s;  // a constant computation that fails would fail every run too
    // Constants are tensors: a node producing a sequence (SequenceEmpty, ...) stays runtime work.
    size_t bytes = 0;
    bool complete = true;
    for (int out : node.outputs) {
      if (out == kNoValue) continue;
      const Value& v = slots[static_cast<size_t>(out)];
      complete &= v.is_tensor();
      if (v.is_tensor()) bytes += v.tensor().byte_size();
    }
    if (!complete || bytes > options.max_folded_bytes) return Status::Ok();
    for (int out : node.outputs) {
      if (out != kNoValue) graph_.constants[out] = slots[static_cast<size_t>(out)].tensor();
    }
    folded_[i] = true;
  }
  return Status::Ok();
}

void GraphExecutor::PlanReleases() {
  std::vector<int> last_use(graph_.values.size(), -1);
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (folded_[i]) continue;
    for (int in : graph_.nodes[i].inputs) {
      if (in != kNoValue) last_use[static_cast<size_t>(in)] = static_cast<int>(i);
    }
    // An output nobody reads is freed right after it is made.
    for (int out : graph_.nodes[i].outputs) {
      if (out != kNoValue && last_use[static_cast<size_t>(out)] < static_cast<int>(i)) {
        last_use[static_cast<size_t>(out)] = static_cast<int>(i);
      }
    }
  }
  for (int out : graph_.outputs) last_use[static_cast<size_t>(out)] = -1;
  release_after_.assign(graph_.nodes.size(), {});
  for (size_t v = 0; v < last_use.size(); ++v) {
    if (last_use[v] >= 0) release_after_[static_cast<size_t>(last_use[v])].push_back(static_cast<int>(v));
  }
}

void GraphExecutor::PlanConstantHandover() {
  readers_.assign(graph_.values.size(), {});
  std::vector<bool> eligible(graph_.values.size(), false);
  for (const auto& [id, t] : graph_.constants) eligible[static_cast<size_t>(id)] = true;
  for (int out : graph_.outputs) eligible[static_cast<size_t>(out)] = false;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (folded_[i]) continue;
    const Node& node = graph_.nodes[i];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int id = node.inputs[k];
      if (id == kNoValue || !eligible[static_cast<size_t>(id)]) continue;
      // A subgraph's captured constant is read by the subgraph's own nodes, which cannot report.
      if (k >= node.explicit_input_count) eligible[static_cast<size_t>(id)] = false;
      readers_[static_cast<size_t>(id)].emplace_back(i, k);
    }
  }
  handover_by_node_.assign(graph_.nodes.size(), {});
  constant_dropped_ = std::make_unique<std::atomic<bool>[]>(graph_.values.size());
  size_t pending = 0;
  for (size_t v = 0; v < graph_.values.size(); ++v) {
    constant_dropped_[v].store(false);
    if (!eligible[v] || readers_[v].empty()) continue;
    ++pending;
    for (const auto& [node, input] : readers_[v]) {
      auto& list = handover_by_node_[node];
      if (std::find(list.begin(), list.end(), static_cast<int>(v)) == list.end()) list.push_back(static_cast<int>(v));
    }
  }
  handovers_pending_.store(pending);
}

void GraphExecutor::DropConstantsTakenOver(size_t index, std::vector<Value>* slots) {
  for (int v : handover_by_node_[index]) {
    if (constant_dropped_[static_cast<size_t>(v)].load(std::memory_order_acquire)) continue;
    bool all_own = true;
    for (const auto& [node, input] : readers_[static_cast<size_t>(v)]) {
      all_own = all_own && kernels_[node] && kernels_[node]->HasOwnCopyOfConstant(input);
    }
    if (!all_own) continue;
    {
      std::lock_guard<std::mutex> lock(constants_mutex_);
      if (constant_dropped_[static_cast<size_t>(v)].exchange(true)) continue;
      graph_.constants.erase(v);
    }
    handovers_pending_.fetch_sub(1);
    if (slots != nullptr) (*slots)[static_cast<size_t>(v)] = Value();
  }
}

size_t GraphExecutor::folded_node_count() const {
  size_t n = 0;
  for (bool f : folded_) n += f ? 1 : 0;
  return n;
}

void GraphExecutor::SetDonatedInputs(const std::vector<size_t>& input_positions) {
  writable_inputs_.assign(graph_.nodes.size(), {});
  std::vector<int> readers(graph_.values.size(), 0);
  for (const Node& node : graph_.nodes) {
    for (int id : node.inputs) {
      if (id != kNoValue) ++readers[static_cast<size_t>(id)];
    }
  }
  for (int id : graph_.outputs) ++readers[static_cast<size_t>(id)];  // a graph output must keep its value
  for (size_t position : input_positions) {
    if (position >= graph_.inputs.size()) continue;
    const int id = graph_.inputs[position];
    if (readers[static_cast<size_t>(id)] != 1) continue;
    for (size_t n = 0; n < graph_.nodes.size(); ++n) {
      const Node& node = graph_.nodes[n];
      for (size_t k = 0; k < node.explicit_input_count && k < node.inputs.size(); ++k) {
        if (node.inputs[k] != id) continue;
        writable_inputs_[n].resize(node.inputs.size(), false);
        writable_inputs_[n][k] = true;
      }
    }
  }
}

Status GraphExecutor::CheckTensorInputs(size_t index, const std::vector<Value>& slots) const {
  const Node& node = graph_.nodes[index];
  for (size_t k = 0; k < node.explicit_input_count && k < node.inputs.size(); ++k) {
    const int id = node.inputs[k];
    if (id == kNoValue) continue;
    const Value& v = slots[static_cast<size_t>(id)];
    if (!v.is_none() && !v.is_tensor()) {
      return InvalidArgument(node.Describe() + ": input '" + graph_.value(id).name + "' is a " +
                             ValueKindName(v.kind()) + " (" + v.Describe() + "), but " + node.op_type +
                             " takes tensors");
    }
  }
  return Status::Ok();
}

Status GraphExecutor::RunNode(size_t index, std::vector<Value>& slots) {
  const Node& node = graph_.nodes[index];
  // Subgraph captures (implicit inputs) may be of any kind: the subgraph's own kernels check them.
  if (!takes_values_[index]) TS_RETURN_IF_ERROR(CheckTensorInputs(index, slots));
  std::vector<const Value*> inputs(node.inputs.size(), nullptr);
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    int id = node.inputs[k];
    if (id == kNoValue) continue;
    const Value& v = slots[static_cast<size_t>(id)];
    // An optional output that its producer did not write reads as an omitted input.
    if (!v.is_none()) inputs[k] = &v;
  }
  std::vector<Value> outputs(node.outputs.size());
  KernelContext ctx(node, std::move(inputs), outputs, pool_,
                    index < writable_inputs_.size() ? &writable_inputs_[index] : nullptr);
  Status s = kernels_[index]->Run(ctx);
  if (!s.ok()) return s.WithContext(node.Describe());
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (node.outputs[k] != kNoValue && k < outputs.size()) slots[static_cast<size_t>(node.outputs[k])] = std::move(outputs[k]);
  }
  return Status::Ok();
}

Status GraphExecutor::Run(const std::vector<Value>& inputs, const std::vector<Value>& outer,
                          std::vector<Value>& outputs) {
  if (inputs.size() != graph_.inputs.size()) {
    return InvalidArgument("graph '" + graph_.name + "' takes " + std::to_string(graph_.inputs.size()) +
                           " inputs, got " + std::to_string(inputs.size()));
  }
  if (outer.size() != graph_.outer_values.size()) return Internal("subgraph captures do not match");
  std::vector<Value> slots(graph_.values.size());
  {
    std::lock_guard<std::mutex> lock(constants_mutex_);
    for (const auto& [id, t] : graph_.constants) slots[static_cast<size_t>(id)] = t;
  }
  for (size_t i = 0; i < inputs.size(); ++i) slots[static_cast<size_t>(graph_.inputs[i])] = inputs[i];
  for (size_t i = 0; i < outer.size(); ++i) slots[static_cast<size_t>(graph_.outer_values[i])] = outer[i];
  NodeProfiler* profiler = is_subgraph_ ? nullptr : NodeProfiler::Active();
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (folded_[i]) continue;
    if (profiler == nullptr) {
      TS_RETURN_IF_ERROR(RunNode(i, slots));
    } else {
      const auto start = std::chrono::steady_clock::now();
      TS_RETURN_IF_ERROR(RunNode(i, slots));
      const auto elapsed = std::chrono::steady_clock::now() - start;
      profiler->Record(graph_.nodes[i], std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
    }
    if (handovers_pending_.load(std::memory_order_relaxed) > 0) DropConstantsTakenOver(i, &slots);
    for (int v : release_after_[i]) slots[static_cast<size_t>(v)] = Value();
  }
  outputs.clear();
  for (int id : graph_.outputs) outputs.push_back(slots[static_cast<size_t>(id)]);
  return Status::Ok();
}

}  // namespace tessera
