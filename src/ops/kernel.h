// The kernel interface: how one node's computation is created and run.
//
// A kernel is created once per node when a session is built (KernelFactory), where it validates the
// node's attributes and may precompute (pack constant weights, build oneDNN primitives). Run() is called
// for each inference: it checks the actual input shapes and dtypes, allocates its outputs through the
// context and computes them. Input shapes may change between runs (symbolic dims), so kernels that cache
// shape-dependent state key it by the shapes they saw.
//
// Values along edges are tensors for almost every kernel. A kernel registered as taking values
// (KernelDef::takes_values: the sequence, optional, map and control-flow ops) also sees sequences, maps
// and none through input_value()/SetOutputValue(); every other kernel is only ever run on tensors (the
// executor checks), so input(i) is a plain tensor for it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "graph/graph.h"
#include "tessera/tensor.h"
#include "tessera/value.h"

namespace tessera {

class KernelContext;

// Runs a subgraph (If/Loop/Scan body) that was compiled by the executor for one node.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  // `inputs` are the subgraph's declared inputs in order; the values it captures from enclosing scopes
  // are taken from `ctx`'s implicit inputs. Outputs come back in the order of the subgraph's outputs.
  virtual Status Run(const std::vector<Value>& inputs, KernelContext& ctx, std::vector<Value>& outputs) = 0;
  // Declared number of inputs and outputs of the subgraph.
  virtual size_t input_count() const = 0;
  virtual size_t output_count() const = 0;
};

class KernelContext {
 public:
  KernelContext(const Node& node, std::vector<const Value*> inputs, std::vector<Value>& outputs, ThreadPool& pool,
                const std::vector<bool>* writable_inputs = nullptr)
      : node_(node), inputs_(std::move(inputs)), outputs_(outputs), pool_(pool), writable_inputs_(writable_inputs) {}

  const Node& node() const { return node_; }
  int opset() const { return node_.opset; }
  ThreadPool& pool() { return pool_; }

  // Explicit inputs as the node lists them, including omitted optional ones.
  size_t input_count() const { return node_.explicit_input_count; }
  // Whether input i was given (not omitted and not past the end).
  bool has_input(size_t i) const { return i < input_count() && inputs_[i] != nullptr && !inputs_[i]->is_none(); }
  // Requires has_input(i). For a kernel that does not take values, always a defined tensor.
  const Tensor& input(size_t i) const { return inputs_[i]->tensor(); }
  // Requires has_input(i): the value of any kind (kernels that take values).
  const Value& input_value(size_t i) const { return *inputs_[i]; }
  // Whether the kernel may overwrite input i's buffer: a graph input the caller donated
  // (Session::DonateInputs) that this node alone reads. A kernel that does returns it as an output.
  bool input_writable(size_t i) const {
    return has_input(i) && writable_inputs_ != nullptr && i < writable_inputs_->size() && (*writable_inputs_)[i];
  }
  // Values captured by this node's subgraphs, in the node's implicit-input order.
  size_t implicit_input_count() const { return inputs_.size() - node_.explicit_input_count; }
  // The captured value (none when the enclosing graph has not produced it).
  const Value& implicit_input(size_t i) const {
    const Value* v = inputs_[node_.explicit_input_count + i];
    return v != nullptr ? *v : kNoneValue;
  }

  size_t output_count() const { return node_.outputs.size(); }
  // Whether output i is consumed by anyone (optional outputs may be omitted).
  bool wants_output(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] != kNoValue; }
  // Allocates output i (zero-filled), i < output_count(). Works for outputs the node leaves unnamed too
  // (the result is then discarded); outputs past the node's list do not exist, so asking is an error.
  // The returned pointer stays valid for the whole Run: allocating another output never moves it.
  StatusOr<Tensor*> AllocateOutput(size_t i, DType dtype, Shape shape);
  // Same, with numeric contents left uninitialized: for kernels that write every element.
  StatusOr<Tensor*> AllocateUninitializedOutput(size_t i, DType dtype, Shape shape);
  // Sets output i to an existing tensor (for ops that alias their input, such as Reshape).
  void SetOutput(size_t i, Tensor tensor);
  // Sets output i to a value of any kind (kernels that take values).
  void SetOutputValue(size_t i, Value value);

  // An InvalidArgument for this node; the executor adds the model and node names.
  static Status Error(std::string message) { return InvalidArgument(std::move(message)); }

 private:
  StatusOr<Tensor*> AllocateOutputImpl(size_t i, DType dtype, Shape shape, bool zero);

  static const Value kNoneValue;

  const Node& node_;
  std::vector<const Value*> inputs_;
  std::vector<Value>& outputs_;
  ThreadPool& pool_;
  const std::vector<bool>* writable_inputs_;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Run(KernelContext& ctx) = 0;

  // Whether Run has stopped reading constant input `input` because the kernel holds its own copy of it
  // (weights packed for oneDNN). Once true it stays true, and Run then treats the input as absent: the
  // executor drops the original constant when every node reading it says so, so that weights are held
  // once. It may turn true at creation or during a Run (kernels that pack on their first run); the
  // executor asks after creation and after each Run of the kernel, from the thread that ran it.
  virtual bool HasOwnCopyOfConstant(size_t input) const {
    (void)input;
    return false;
  }
};

// What a factory sees when creating a kernel for a node.
struct KernelInit {
  const Node& node;
  const Graph& graph;
  // Constant value of input i when it is an initializer or a folded value, else nullptr.
  std::function<const Tensor*(size_t)> constant_input;
  // Compiles a subgraph attribute into something that can run it.
  std::function<StatusOr<std::unique_ptr<SubgraphRunner>>(const Graph&)> compile_subgraph;
  // Whether constant input i is the kernel's to consume: this node is its only reader and nothing else
  // holds it, so a kernel that packs it and then reports HasOwnCopyOfConstant(i) may hand its pages back
  // while packing (core/resident_pages.h: DiscardConsumedPages) and must never read it again after.
  std::function<bool(size_t)> constant_input_consumable = nullptr;
};

using KernelFactory = std::function<StatusOr<std::unique_ptr<Kernel>>(const KernelInit&)>;

// A kernel that is just a function of the context: for ops with no state worth precomputing.
class FunctionKernel : public Kernel {
 public:
  using Fn = std::function<Status(KernelContext&)>;
  explicit FunctionKernel(Fn fn) : fn_(std::move(fn)) {}
  Status Run(KernelContext& ctx) override { return fn_(ctx); }

 private:
  Fn fn_;
};

// A factory for FunctionKernel(fn).
KernelFactory MakeFunctionKernel(FunctionKernel::Fn fn);

}  // namespace tessera
