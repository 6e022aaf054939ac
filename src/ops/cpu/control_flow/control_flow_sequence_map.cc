// SequenceMap (opset 17): runs its body once per element of the input sequence and collects each body
// output into an output sequence.
//
// The body takes as many inputs as the node: iteration i feeds element i of every sequence input and every
// tensor input whole (all sequence inputs must have the first one's length). Its outputs must be tensors;
// output k is the sequence of body output k over the iterations, with the dtype the body declares for it
// when the input sequence is empty.
#include <string>

#include "ops/cpu/control_flow/control_flow_common.h"

namespace tessera {

namespace {

class SequenceMapKernel : public Kernel {
 public:
  SequenceMapKernel(std::unique_ptr<SubgraphRunner> body, std::vector<DType> output_dtypes)
      : body_(std::move(body)), output_dtypes_(std::move(output_dtypes)) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0) || !ctx.input_value(0).is_sequence()) {
      return KernelContext::Error("input 'input_sequence' must be a sequence, got " +
                                  (ctx.has_input(0) ? ctx.input_value(0).Describe() : std::string("nothing")));
    }
    const size_t length = ctx.input_value(0).sequence_length();
    for (size_t i = 1; i < ctx.input_count(); ++i) {
      if (!ctx.has_input(i)) return KernelContext::Error("additional input " + std::to_string(i) + " is missing");
      const Value& v = ctx.input_value(i);
      if (v.is_sequence() && v.sequence_length() != length) {
        return KernelContext::Error("additional input " + std::to_string(i) + " is a sequence of " +
                                    std::to_string(v.sequence_length()) + " elements but 'input_sequence' has " +
                                    std::to_string(length));
      }
      if (!v.is_sequence() && !v.is_tensor()) {
        return KernelContext::Error("additional input " + std::to_string(i) + " is " + v.Describe() +
                                    "; SequenceMap takes sequences and tensors");
      }
    }
    std::vector<std::vector<Value>> collected(ctx.output_count());
    std::vector<Value> body_inputs(ctx.input_count()), body_outputs;
    for (size_t it = 0; it < length; ++it) {
      for (size_t i = 0; i < ctx.input_count(); ++i) {
        const Value& v = ctx.input_value(i);
        body_inputs[i] = v.is_sequence() ? v.elements()[it] : v;
      }
      Status s = body_->Run(body_inputs, ctx, body_outputs);
      if (!s.ok()) return s.WithContext("SequenceMap body, element " + std::to_string(it));
      for (size_t k = 0; k < collected.size(); ++k) {
        if (!body_outputs[k].is_tensor()) {
          return KernelContext::Error("body output " + std::to_string(k) + " for element " + std::to_string(it) +
                                      " is " + body_outputs[k].Describe() + "; it must be a tensor");
        }
        const DType first = collected[k].empty() ? body_outputs[k].tensor().dtype() : collected[k][0].tensor().dtype();
        if (body_outputs[k].tensor().dtype() != first) {
          return KernelContext::Error("body output " + std::to_string(k) + " is " +
                                      DTypeName(body_outputs[k].tensor().dtype()) + " for element " +
                                      std::to_string(it) + " but " + DTypeName(first) + " before (mixed dtypes)");
        }
        collected[k].push_back(std::move(body_outputs[k]));
      }
    }
    for (size_t k = 0; k < collected.size(); ++k) {
      const DType dtype = collected[k].empty() ? output_dtypes_[k] : collected[k][0].tensor().dtype();
      ctx.SetOutputValue(k, Value::Sequence(std::move(collected[k]), dtype));
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<SubgraphRunner> body_;
  std::vector<DType> output_dtypes_;  // the body's declared output dtypes (for empty results)
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> CreateSequenceMapKernel(const KernelInit& init) {
  const Graph* graph = nullptr;
  TS_ASSIGN_OR_RETURN(auto body, CompileGraphAttribute(init, "body", &graph));
  if (init.node.explicit_input_count < 1) return KernelContext::Error("SequenceMap needs 'input_sequence'");
  if (body->input_count() != init.node.explicit_input_count) {
    return KernelContext::Error("the body takes " + std::to_string(body->input_count()) + " inputs but the node has " +
                                std::to_string(init.node.explicit_input_count));
  }
  if (body->output_count() != init.node.outputs.size()) {
    return KernelContext::Error("the body returns " + std::to_string(body->output_count()) +
                                " values but the node has " + std::to_string(init.node.outputs.size()) + " outputs");
  }
  std::vector<DType> dtypes;
  for (int id : graph->outputs) {
    const DType d = graph->value(id).dtype;
    dtypes.push_back(d == DType::kUndefined ? DType::kFloat32 : d);
  }
  return std::unique_ptr<Kernel>(std::make_unique<SequenceMapKernel>(std::move(body), std::move(dtypes)));
}

}  // namespace tessera
