// Loop: runs its body while the trip count and the condition allow, threading loop-carried values
// through the iterations and stacking each iteration's scan outputs along a new axis 0.
//
// Inputs (M, cond, v_initial...) and body signature (iteration_num, cond, v...) -> (cond, v..., scan...)
// are the same from opset 1 to 16. An omitted M means "no trip limit"; an omitted cond means the body's
// returned condition is ignored (a plain for loop), as the spec's pseudo-code says. With neither, the
// loop would never end, so every loop is cut off with an error at LoopIterationLimit(). Loop-carried values
// may be sequences or optionals (opsets 11 and 16 widen the type constraint); scan outputs are tensors.
#include <atomic>
#include <limits>
#include <string>

#include "ops/cpu/control_flow/control_flow_common.h"

namespace tessera {

namespace {

std::atomic<int64_t> g_loop_iteration_limit{kDefaultLoopIterationLimit};

class LoopKernel : public Kernel {
 public:
  LoopKernel(std::unique_ptr<SubgraphRunner> body, const Graph& body_graph)
      : body_(std::move(body)), body_graph_(body_graph) {}

  Status Run(KernelContext& ctx) override {
    const size_t carried = ctx.input_count() - 2;
    const size_t scans = ctx.output_count() - carried;
    int64_t trip_count = std::numeric_limits<int64_t>::max();
    if (ctx.has_input(0)) {
      const Tensor& m = ctx.input(0);
      if (m.dtype() != DType::kInt64 || m.element_count() != 1) {
        return KernelContext::Error("input 'M' must be one int64, got " + std::string(DTypeName(m.dtype())) + " " +
                                    ShapeToString(m.shape()));
      }
      trip_count = *m.data<int64_t>();
    }
    const bool use_cond = ctx.has_input(1);
    bool cond = true;
    if (use_cond) {
      TS_ASSIGN_OR_RETURN(cond, ReadCondition(ctx.input(1), "input 'cond'"));
    }

    // Loop-carried values may be sequences, and (opset 16's optional types) none.
    std::vector<Value> state(carried);
    for (size_t i = 0; i < carried; ++i) {
      if (ctx.node().inputs[2 + i] == kNoValue) {
        return KernelContext::Error("loop-carried input " + std::to_string(2 + i) + " is missing");
      }
      if (ctx.has_input(2 + i)) state[i] = ctx.input_value(2 + i);
    }
    std::vector<std::vector<Tensor>> scan_parts(scans);
    std::vector<Value> body_inputs(2 + carried), body_outputs;
    const int64_t limit = LoopIterationLimit();
    for (int64_t it = 0; it < trip_count && cond; ++it) {
      if (it >= limit) {
        return KernelContext::Error("the loop ran " + std::to_string(limit) +
                                    " iterations without its condition turning false; stopped (iteration limit)");
      }
      TS_ASSIGN_OR_RETURN(Tensor iteration, MakeInt64Scalar(it));
      TS_ASSIGN_OR_RETURN(Tensor cond_in, MakeBoolScalar(cond));
      body_inputs[0] = std::move(iteration);
      body_inputs[1] = std::move(cond_in);
      for (size_t i = 0; i < carried; ++i) body_inputs[2 + i] = std::move(state[i]);
      Status s = body_->Run(body_inputs, ctx, body_outputs);
      if (!s.ok()) return s.WithContext("loop body, iteration " + std::to_string(it));
      if (use_cond) {
        if (!body_outputs[0].is_tensor()) return KernelContext::Error("loop body returned no condition");
        TS_ASSIGN_OR_RETURN(cond, ReadCondition(body_outputs[0].tensor(), "the loop body's condition output"));
      }
      for (size_t i = 0; i < carried; ++i) state[i] = std::move(body_outputs[1 + i]);
      for (size_t k = 0; k < scans; ++k) {
        const Value& part = body_outputs[1 + carried + k];
        if (!part.is_tensor()) {
          return KernelContext::Error("scan output " + std::to_string(k) + " of the loop body is " + part.Describe() +
                                      " in iteration " + std::to_string(it) + "; scan outputs are stacked tensors");
        }
        scan_parts[k].push_back(part.tensor());
      }
    }
    for (size_t i = 0; i < carried; ++i) ctx.SetOutputValue(i, std::move(state[i]));
    for (size_t k = 0; k < scans; ++k) {
      const size_t body_out = 1 + carried + k;
      const ValueInfo& declared = body_graph_.value(body_graph_.outputs[body_out]);
      TS_RETURN_IF_ERROR(WriteStackedOutput(ctx, carried + k, scan_parts[k], 0, false, declared,
                                            "scan output '" + declared.name + "'"));
      scan_parts[k].clear();
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<SubgraphRunner> body_;
  const Graph& body_graph_;  // owned by the node's attribute, which outlives the kernel
};

}  // namespace

void SetLoopIterationLimit(int64_t limit) {
  g_loop_iteration_limit.store(limit < 1 ? kDefaultLoopIterationLimit : limit);
}

int64_t LoopIterationLimit() { return g_loop_iteration_limit.load(); }

StatusOr<std::unique_ptr<Kernel>> CreateLoopKernel(const KernelInit& init) {
  const Graph* graph = nullptr;
  TS_ASSIGN_OR_RETURN(auto body, CompileGraphAttribute(init, "body", &graph));
  const size_t inputs = init.node.explicit_input_count;
  if (inputs < 2) return KernelContext::Error("Loop needs inputs M and cond (either may be empty)");
  const size_t carried = inputs - 2;
  if (body->input_count() != 2 + carried) {
    return KernelContext::Error("the body takes " + std::to_string(body->input_count()) +
                                " inputs but the node gives " + std::to_string(carried) +
                                " loop-carried values (the body needs 2 + that many)");
  }
  if (body->output_count() < 1 + carried || init.node.outputs.size() != body->output_count() - 1) {
    return KernelContext::Error(
        "the body returns " + std::to_string(body->output_count()) + " values but the node has " +
        std::to_string(init.node.outputs.size()) + " outputs and " + std::to_string(carried) +
        " loop-carried values (the body must return cond, the carried values, then the scan outputs)");
  }
  return std::unique_ptr<Kernel>(std::make_unique<LoopKernel>(std::move(body), *graph));
}

}  // namespace tessera
