// Scan: runs its body once per slice of the scan inputs, threading state values through the
// iterations and stacking each iteration's scan outputs.
//
// Opset 8 has a leading batch axis on every input and output, an optional `sequence_lens` input (one
// length per batch entry; scan outputs past it stay zero) and `directions` for the scan inputs; scan
// axis is 1. From opset 9 there is no batch: scan_input_axes / scan_input_directions pick the axis and
// direction of each scan input, scan_output_axes / scan_output_directions where each output stacks
// (negative axes from opset 11). A reverse output puts iteration t's slice at position length-1-t.
#include <string>

#include "ops/cpu/control_flow/control_flow_common.h"
#include "ops/op_helpers.h"

namespace tessera {

namespace {

struct ScanConfig {
  size_t states = 0;        // N
  size_t scan_inputs = 0;   // M
  size_t scan_outputs = 0;  // K
  std::vector<int64_t> input_axes, input_directions, output_axes, output_directions;
};

class ScanKernel : public Kernel {
 public:
  ScanKernel(std::unique_ptr<SubgraphRunner> body, const Graph& body_graph, ScanConfig config)
      : body_(std::move(body)), body_graph_(body_graph), config_(std::move(config)) {}

  Status Run(KernelContext& ctx) override { return ctx.opset() < 9 ? RunBatched(ctx) : RunUnbatched(ctx); }

 private:
  // One scan over `states` and the (already batch-free) `inputs`, `length` iterations.
  Status Scan(KernelContext& ctx, std::vector<Tensor>& states, const std::vector<Tensor>& inputs,
              const std::vector<int64_t>& axes, int64_t length, std::vector<std::vector<Tensor>>& parts) {
    const ScanConfig& c = config_;
    std::vector<Value> body_inputs(c.states + c.scan_inputs), body_outputs;
    parts.assign(c.scan_outputs, {});
    for (int64_t t = 0; t < length; ++t) {
      for (size_t i = 0; i < c.states; ++i) body_inputs[i] = std::move(states[i]);
      for (size_t j = 0; j < c.scan_inputs; ++j) {
        const int64_t index = c.input_directions[j] != 0 ? length - 1 - t : t;
        TS_ASSIGN_OR_RETURN(Tensor slice, SliceAlongAxis(inputs[j], axes[j], index));
        body_inputs[c.states + j] = std::move(slice);
      }
      Status s = body_->Run(body_inputs, ctx, body_outputs);
      if (!s.ok()) return s.WithContext("scan body, iteration " + std::to_string(t));
      // Scan's states and scan outputs are tensors (type constraint V of every opset).
      for (size_t o = 0; o < body_outputs.size(); ++o) {
        if (!body_outputs[o].is_tensor()) {
          return KernelContext::Error("scan body output " + std::to_string(o) + " is " + body_outputs[o].Describe() +
                                      "; Scan carries tensors only");
        }
      }
      for (size_t i = 0; i < c.states; ++i) states[i] = body_outputs[i].tensor();
      for (size_t k = 0; k < c.scan_outputs; ++k) parts[k].push_back(body_outputs[c.states + k].tensor());
    }
    return Status::Ok();
  }

  const ValueInfo& DeclaredOutput(size_t k) const { return body_graph_.value(body_graph_.outputs[config_.states + k]); }

  // Opset 9+: inputs (states..., scan inputs...).
  Status RunUnbatched(KernelContext& ctx) {
    const ScanConfig& c = config_;
    std::vector<Tensor> states(c.states), inputs(c.scan_inputs);
    std::vector<int64_t> axes(c.scan_inputs);
    int64_t length = -1;
    for (size_t i = 0; i < c.states + c.scan_inputs; ++i) {
      if (!ctx.has_input(i)) return KernelContext::Error("input " + std::to_string(i) + " is missing");
    }
    for (size_t i = 0; i < c.states; ++i) states[i] = ctx.input(i);
    for (size_t j = 0; j < c.scan_inputs; ++j) {
      inputs[j] = ctx.input(c.states + j);
      const std::string what = "scan_input_axes[" + std::to_string(j) + "]";
      TS_ASSIGN_OR_RETURN(axes[j], NormalizeAxis(c.input_axes[j], inputs[j].rank(), what.c_str()));
      const int64_t n = inputs[j].dim(axes[j]);
      if (length >= 0 && n != length) {
        return KernelContext::Error("scan input " + std::to_string(j) + " has length " + std::to_string(n) +
                                    " along its scan axis but scan input 0 has " + std::to_string(length));
      }
      length = n;
    }
    std::vector<std::vector<Tensor>> parts;
    TS_RETURN_IF_ERROR(Scan(ctx, states, inputs, axes, length, parts));
    for (size_t i = 0; i < c.states; ++i) ctx.SetOutput(i, std::move(states[i]));
    for (size_t k = 0; k < c.scan_outputs; ++k) {
      const ValueInfo& declared = DeclaredOutput(k);
      const std::string what = "scan output " + std::to_string(k) + " ('" + declared.name + "')";
      // The output's rank is one more than a slice's; with no slices, the body's declaration says.
      int64_t slice_rank =
          parts[k].empty() ? (declared.has_shape ? static_cast<int64_t>(declared.dims.size()) : 0) : parts[k][0].rank();
      TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(c.output_axes[k], slice_rank + 1, "scan_output_axes"));
      TS_RETURN_IF_ERROR(
          WriteStackedOutput(ctx, c.states + k, parts[k], axis, c.output_directions[k] != 0, declared, what));
    }
    return Status::Ok();
  }

  // Opset 8: inputs (sequence_lens, states..., scan inputs...), all with a leading batch axis.
  Status RunBatched(KernelContext& ctx) {
    const ScanConfig& c = config_;
    for (size_t i = 1; i < 1 + c.states + c.scan_inputs; ++i) {
      if (!ctx.has_input(i)) return KernelContext::Error("input " + std::to_string(i) + " is missing");
    }
    const Tensor& first = ctx.input(1 + c.states);
    if (first.rank() < 2) {
      return KernelContext::Error("scan inputs need [batch, sequence, ...] dims, got " + ShapeToString(first.shape()));
    }
    const int64_t batch = first.dim(0), max_length = first.dim(1);
    for (size_t i = 1; i < 1 + c.states + c.scan_inputs; ++i) {
      const Tensor& t = ctx.input(i);
      const bool scanned = i > c.states;
      if (t.rank() < (scanned ? 2 : 1) || t.dim(0) != batch || (scanned && t.dim(1) != max_length)) {
        return KernelContext::Error("input " + std::to_string(i) + " has shape " + ShapeToString(t.shape()) +
                                    " but the batch is " + std::to_string(batch) + " and the sequence length " +
                                    std::to_string(max_length));
      }
    }
    std::vector<int64_t> lengths(static_cast<size_t>(batch), max_length);
    if (ctx.has_input(0)) {
      TS_ASSIGN_OR_RETURN(lengths, ReadInt64Values(ctx.input(0), "sequence_lens"));
      if (static_cast<int64_t>(lengths.size()) != batch) {
        return KernelContext::Error("sequence_lens has " + std::to_string(lengths.size()) + " values for batch " +
                                    std::to_string(batch));
      }
      for (int64_t n : lengths) {
        if (n < 0 || n > max_length) {
          return KernelContext::Error("sequence_lens value " + std::to_string(n) + " is outside [0, " +
                                      std::to_string(max_length) + "]");
        }
      }
    }
    std::vector<std::vector<Tensor>> final_states(c.states);                            // [state][batch]
    std::vector<std::vector<std::vector<Tensor>>> outputs(static_cast<size_t>(batch));  // [batch][k][t]
    const std::vector<int64_t> axes(c.scan_inputs, 0);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Tensor> states(c.states), inputs(c.scan_inputs);
      for (size_t i = 0; i < c.states; ++i) {
        TS_ASSIGN_OR_RETURN(states[i], SliceAlongAxis(ctx.input(1 + i), 0, b));
      }
      for (size_t j = 0; j < c.scan_inputs; ++j) {
        TS_ASSIGN_OR_RETURN(Tensor sequence, SliceAlongAxis(ctx.input(1 + c.states + j), 0, b));
        // Only the first lengths[b] steps take part (a reverse scan starts at the last valid one).
        Shape shape = sequence.shape();
        shape[0] = lengths[static_cast<size_t>(b)];
        inputs[j] = Tensor(sequence.dtype(), std::move(shape), sequence.buffer(), sequence.offset());
      }
      TS_RETURN_IF_ERROR(
          Scan(ctx, states, inputs, axes, lengths[static_cast<size_t>(b)], outputs[static_cast<size_t>(b)]));
      for (size_t i = 0; i < c.states; ++i) final_states[i].push_back(std::move(states[i]));
    }
    for (size_t i = 0; i < c.states; ++i) {
      TS_RETURN_IF_ERROR(WriteStackedOutput(ctx, i, final_states[i], 0, false,
                                            body_graph_.value(body_graph_.outputs[i]),
                                            "state output " + std::to_string(i)));
    }
    for (size_t k = 0; k < c.scan_outputs; ++k)
      TS_RETURN_IF_ERROR(WritePaddedOutput(ctx, k, outputs, batch, max_length));
    return Status::Ok();
  }

  // Opset 8 scan output k: [batch, max_length, slice...], zero past each batch entry's length.
  Status WritePaddedOutput(KernelContext& ctx, size_t k, const std::vector<std::vector<std::vector<Tensor>>>& outputs,
                           int64_t batch, int64_t max_length) {
    const ValueInfo& declared = DeclaredOutput(k);
    const Tensor* sample = nullptr;
    for (const auto& per_batch : outputs) {
      if (!per_batch[k].empty()) sample = &per_batch[k][0];
    }
    Shape slice;
    DType dtype = declared.dtype == DType::kUndefined ? DType::kFloat32 : declared.dtype;
    if (sample != nullptr) {
      slice = sample->shape();
      dtype = sample->dtype();
    } else if (declared.IsStatic()) {
      slice = declared.StaticDims();
    }
    Shape shape = slice;
    shape.insert(shape.begin(), {batch, max_length});
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(c_output(k), dtype, shape));
    const int64_t inner = ShapeElementCount(slice);
    const size_t elem = DTypeSize(dtype);
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t b = 0; b < batch; ++b) {
      const auto& parts = outputs[static_cast<size_t>(b)][k];
      for (size_t t = 0; t < parts.size(); ++t) {
        if (parts[t].dtype() != dtype || parts[t].shape() != slice) {
          return KernelContext::Error("scan output '" + declared.name + "': batch " + std::to_string(b) + " step " +
                                      std::to_string(t) + " produced " + ShapeToString(parts[t].shape()) + ", others " +
                                      ShapeToString(slice) + "; scan outputs must keep one shape");
        }
        CopyTypedElements(dtype, parts[t].raw_data(),
                     dst + static_cast<size_t>((b * max_length + static_cast<int64_t>(t)) * inner) * elem, inner);
      }
    }
    return Status::Ok();
  }

  size_t c_output(size_t k) const { return config_.states + k; }

  std::unique_ptr<SubgraphRunner> body_;
  const Graph& body_graph_;  // owned by the node's attribute, which outlives the kernel
  ScanConfig config_;
};

// `values` of attribute `name`, or `count` copies of `fallback` when absent; an error on a length mismatch.
StatusOr<std::vector<int64_t>> PerValueAttribute(const Node& node, const std::string& name, size_t count,
                                                 int64_t fallback) {
  if (!node.HasAttribute(name)) return std::vector<int64_t>(count, fallback);
  std::vector<int64_t> values = node.GetInts(name);
  if (values.size() != count) {
    return KernelContext::Error("attribute '" + name + "' has " + std::to_string(values.size()) + " values for " +
                                std::to_string(count) + " scanned values");
  }
  return values;
}

}  // namespace

StatusOr<std::unique_ptr<Kernel>> CreateScanKernel(const KernelInit& init) {
  const Node& node = init.node;
  const Graph* graph = nullptr;
  TS_ASSIGN_OR_RETURN(auto body, CompileGraphAttribute(init, "body", &graph));
  const int64_t m = node.GetInt("num_scan_inputs", -1);
  const size_t leading = node.opset < 9 ? 1 : 0;  // sequence_lens
  const size_t inputs = node.explicit_input_count;
  if (m < 1 || static_cast<size_t>(m) + leading > inputs) {
    return KernelContext::Error("num_scan_inputs is " + std::to_string(m) + " but the node has " +
                                std::to_string(inputs) + " inputs");
  }
  ScanConfig c;
  c.scan_inputs = static_cast<size_t>(m);
  c.states = inputs - leading - c.scan_inputs;
  if (body->input_count() != c.states + c.scan_inputs) {
    return KernelContext::Error("the body takes " + std::to_string(body->input_count()) + " inputs but the node has " +
                                std::to_string(c.states) + " states and " + std::to_string(m) + " scan inputs");
  }
  if (body->output_count() != node.outputs.size() || body->output_count() < c.states) {
    return KernelContext::Error("the body returns " + std::to_string(body->output_count()) +
                                " values but the node has " + std::to_string(node.outputs.size()) + " outputs");
  }
  c.scan_outputs = body->output_count() - c.states;
  if (node.opset < 9) {
    TS_ASSIGN_OR_RETURN(c.input_directions, PerValueAttribute(node, "directions", c.scan_inputs, 0));
  } else {
    TS_ASSIGN_OR_RETURN(c.input_axes, PerValueAttribute(node, "scan_input_axes", c.scan_inputs, 0));
    TS_ASSIGN_OR_RETURN(c.input_directions, PerValueAttribute(node, "scan_input_directions", c.scan_inputs, 0));
    TS_ASSIGN_OR_RETURN(c.output_axes, PerValueAttribute(node, "scan_output_axes", c.scan_outputs, 0));
    TS_ASSIGN_OR_RETURN(c.output_directions, PerValueAttribute(node, "scan_output_directions", c.scan_outputs, 0));
  }
  return std::unique_ptr<Kernel>(std::make_unique<ScanKernel>(std::move(body), *graph, std::move(c)));
}

}  // namespace tessera
