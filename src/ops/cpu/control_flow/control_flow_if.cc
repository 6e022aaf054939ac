// If: runs then_branch or else_branch on a single-element bool condition and forwards its outputs.
//
// The branches may produce values of different shapes (the spec allows it from opset 11), so the
// outputs alias whatever the chosen branch returned (tensors, sequences or optionals); nothing is copied.
#include <string>

#include "ops/cpu/control_flow/control_flow_common.h"

namespace tessera {

namespace {

class IfKernel : public Kernel {
 public:
  IfKernel(std::unique_ptr<SubgraphRunner> then_branch, std::unique_ptr<SubgraphRunner> else_branch)
      : then_(std::move(then_branch)), else_(std::move(else_branch)) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0)) return KernelContext::Error("input 'cond' is missing");
    TS_ASSIGN_OR_RETURN(bool cond, ReadCondition(ctx.input(0), "input 'cond'"));
    SubgraphRunner& branch = cond ? *then_ : *else_;
    const char* name = cond ? "then_branch" : "else_branch";
    std::vector<Value> outputs;
    TS_RETURN_IF_ERROR(branch.Run({}, ctx, outputs));
    if (outputs.size() != ctx.output_count()) {
      return KernelContext::Error(std::string(name) + " returned " + std::to_string(outputs.size()) +
                                  " values but the node has " + std::to_string(ctx.output_count()) + " outputs");
    }
    for (size_t i = 0; i < outputs.size(); ++i) ctx.SetOutputValue(i, std::move(outputs[i]));
    return Status::Ok();
  }

 private:
  std::unique_ptr<SubgraphRunner> then_, else_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> CreateIfKernel(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(auto then_branch, CompileGraphAttribute(init, "then_branch"));
  TS_ASSIGN_OR_RETURN(auto else_branch, CompileGraphAttribute(init, "else_branch"));
  for (const SubgraphRunner* branch : {then_branch.get(), else_branch.get()}) {
    if (branch->input_count() != 0) {
      return KernelContext::Error("If branches take no inputs, but one declares " +
                                  std::to_string(branch->input_count()));
    }
  }
  if (then_branch->output_count() != else_branch->output_count()) {
    return KernelContext::Error("then_branch returns " + std::to_string(then_branch->output_count()) +
                                " values but else_branch returns " + std::to_string(else_branch->output_count()));
  }
  return std::unique_ptr<Kernel>(std::make_unique<IfKernel>(std::move(then_branch), std::move(else_branch)));
}

}  // namespace tessera
