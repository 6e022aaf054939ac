// RNN, GRU and LSTM: attribute validation at creation, input validation per run; the time loop is in
// recurrent_layer.cc.
//
// Opset differences: opset 1 has `output_sequence` (Y is produced whenever the node names it, as in
// later opsets); GRU gains linear_before_reset at 3; opset 14 adds `layout` (1: batch-major X, Y, states).
#include <algorithm>
#include <string>
#include <vector>

#include "ops/cpu/recurrent_layer.h"
#include "ops/op_helpers.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

// Input and output positions shared by the three ops (P and initial_c are LSTM only).
enum RnnInput { kX = 0, kW, kR, kB, kSequenceLens, kInitialH, kInitialC, kPeepholes };
enum RnnOutput { kY = 0, kYH, kYC };

StatusOr<RnnAttributes> ParseAttributes(const Node& node, RnnCell cell) {
  RnnAttributes a;
  a.cell = cell;
  std::vector<std::string> defaults;
  switch (cell) {
    case RnnCell::kRnn: a.gates = 1, defaults = {"Tanh"}; break;
    case RnnCell::kGru: a.gates = 3, defaults = {"Sigmoid", "Tanh"}; break;
    case RnnCell::kLstm: a.gates = 4, defaults = {"Sigmoid", "Tanh", "Tanh"}; break;
  }
  const std::string direction = node.GetString("direction", "forward");
  if (direction == "bidirectional") {
    a.num_directions = 2;
  } else if (direction == "reverse") {
    a.reverse = true;
  } else if (direction != "forward") {
    return InvalidArgument("attribute 'direction' is '" + direction + "'; expected forward, reverse or bidirectional");
  }
  a.hidden_size = node.GetInt("hidden_size", -1);
  if (node.HasAttribute("hidden_size") && a.hidden_size <= 0) {
    return InvalidArgument("attribute 'hidden_size' is " + std::to_string(a.hidden_size) + "; it must be positive");
  }
  if (node.HasAttribute("clip")) {
    a.has_clip = true;
    a.clip = node.GetFloat("clip", 0.0f);
    if (!(a.clip >= 0.0f))
      return InvalidArgument("attribute 'clip' is " + std::to_string(a.clip) + "; it must be >= 0");
  }
  a.linear_before_reset = cell == RnnCell::kGru && node.GetInt("linear_before_reset", 0) != 0;
  a.input_forget = cell == RnnCell::kLstm && node.GetInt("input_forget", 0) != 0;
  a.layout = static_cast<int>(node.GetInt("layout", 0));
  if (a.layout != 0 && a.layout != 1) {
    return InvalidArgument("attribute 'layout' is " + std::to_string(a.layout) + "; expected 0 or 1");
  }
  TS_ASSIGN_OR_RETURN(a.activations, ParseRnnActivations(node, defaults, a.num_directions));
  return a;
}

// "input W has shape [..]; expected [..] (why)" when `t` is not `want`.
Status CheckShape(const Tensor& t, const char* name, const Shape& want, const std::string& why = "") {
  if (t.shape() == want) return Status::Ok();
  return KernelContext::Error(std::string("input ") + name + " has shape " + ShapeToString(t.shape()) + "; expected " +
                              ShapeToString(want) + (why.empty() ? "" : " (" + why + ")"));
}

class RecurrentKernel : public Kernel {
 public:
  RecurrentKernel(RnnAttributes attrs, bool weights_constant)
      : a_(std::move(attrs)), weights_constant_(weights_constant) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(kX) || !ctx.has_input(kW) || !ctx.has_input(kR)) {
      return KernelContext::Error("inputs X, W and R are required");
    }
    switch (ctx.input(kX).dtype()) {
      case DType::kFloat32: return RunTyped<float>(ctx);
      case DType::kFloat64: return RunTyped<double>(ctx);
      default:
        return KernelContext::Error(std::string("input X has dtype ") + DTypeName(ctx.input(kX).dtype()) +
                                    "; expected float32 or float64");
    }
  }

 private:
  template <typename T>
  Status RunTyped(KernelContext& ctx) {
    const DType dtype = ctx.input(kX).dtype();
    const bool lstm = a_.cell == RnnCell::kLstm;
    for (size_t i : {kW, kR, kB, kInitialH, kInitialC, kPeepholes}) {
      if (i == kInitialC || i == kPeepholes) {
        if (!lstm) continue;
      }
      if (ctx.has_input(i) && ctx.input(i).dtype() != dtype) {
        return KernelContext::Error("input " + std::to_string(i) + " has dtype " + DTypeName(ctx.input(i).dtype()) +
                                    "; expected X's dtype " + DTypeName(dtype));
      }
    }
    const Tensor& x = ctx.input(kX);
    const Tensor& w = ctx.input(kW);
    const Tensor& r = ctx.input(kR);
    if (x.rank() != 3)
      return KernelContext::Error("input X has shape " + ShapeToString(x.shape()) + "; expected rank 3");
    if (r.rank() != 3)
      return KernelContext::Error("input R has shape " + ShapeToString(r.shape()) + "; expected rank 3");
    const int64_t dirs = a_.num_directions, gates = a_.gates;
    const int64_t hidden = a_.hidden_size > 0 ? a_.hidden_size : r.dim(2);
    RnnData<T> data;
    data.seq = x.dim(a_.layout == 0 ? 0 : 1);
    data.batch = x.dim(a_.layout == 0 ? 1 : 0);
    data.input = x.dim(2);
    data.hidden = hidden;
    const std::string layout = std::to_string(dirs) + " directions, " + std::to_string(gates) +
                               " gates, hidden_size " + std::to_string(hidden) + ", input size " +
                               std::to_string(data.input) + " from X";
    TS_RETURN_IF_ERROR(CheckShape(w, "W", {dirs, gates * hidden, data.input}, layout));
    TS_RETURN_IF_ERROR(CheckShape(r, "R", {dirs, gates * hidden, hidden}, layout));
    const Shape state_shape = a_.layout == 0 ? Shape{dirs, data.batch, hidden} : Shape{data.batch, dirs, hidden};
    data.x = x.data<T>();
    data.w = w.data<T>();
    data.r = r.data<T>();
    data.weights_constant = weights_constant_;
    if (ctx.has_input(kB)) {
      TS_RETURN_IF_ERROR(CheckShape(ctx.input(kB), "B", {dirs, 2 * gates * hidden}));
      data.b = ctx.input(kB).data<T>();
    }
    if (ctx.has_input(kInitialH)) {
      TS_RETURN_IF_ERROR(CheckShape(ctx.input(kInitialH), "initial_h", state_shape));
      data.initial_h = ctx.input(kInitialH).data<T>();
    }
    if (lstm && ctx.has_input(kInitialC)) {
      TS_RETURN_IF_ERROR(CheckShape(ctx.input(kInitialC), "initial_c", state_shape));
      data.initial_c = ctx.input(kInitialC).data<T>();
    }
    if (lstm && ctx.has_input(kPeepholes)) {
      TS_RETURN_IF_ERROR(CheckShape(ctx.input(kPeepholes), "P", {dirs, 3 * hidden}));
      data.p = ctx.input(kPeepholes).data<T>();
    }
    TS_RETURN_IF_ERROR(ReadLengths(ctx, data));

    const Shape y_shape =
        a_.layout == 0 ? Shape{data.seq, dirs, data.batch, hidden} : Shape{data.batch, data.seq, dirs, hidden};
    if (ctx.wants_output(kY)) {
      // Steps past a sequence's length stay zero; when no sequence is short every element is written.
      const bool all_full =
          std::all_of(data.lengths.begin(), data.lengths.end(), [&](int64_t n) { return n == data.seq; });
      TS_ASSIGN_OR_RETURN(Tensor * y, all_full ? ctx.AllocateUninitializedOutput(kY, dtype, y_shape)
                                               : ctx.AllocateOutput(kY, dtype, y_shape));
      data.y = y->data<T>();
    }
    if (ctx.wants_output(kYH)) {
      TS_ASSIGN_OR_RETURN(Tensor * y_h, ctx.AllocateUninitializedOutput(kYH, dtype, state_shape));
      data.y_h = y_h->data<T>();
    }
    if (lstm && ctx.wants_output(kYC)) {
      TS_ASSIGN_OR_RETURN(Tensor * y_c, ctx.AllocateUninitializedOutput(kYC, dtype, state_shape));
      data.y_c = y_c->data<T>();
    }
    return RunRecurrentLayer<T>(a_, data, gemms_, projection_, ctx.pool());
  }

  // sequence_lens: one length in [0, seq] per batch row; absent means every row runs all steps.
  template <typename T>
  Status ReadLengths(KernelContext& ctx, RnnData<T>& data) {
    if (!ctx.has_input(kSequenceLens)) {
      data.lengths.assign(static_cast<size_t>(data.batch), data.seq);
      return Status::Ok();
    }
    const Tensor& lens = ctx.input(kSequenceLens);
    TS_RETURN_IF_ERROR(CheckShape(lens, "sequence_lens", {data.batch}));
    TS_ASSIGN_OR_RETURN(data.lengths, ReadInt64Values(lens, "sequence_lens"));
    for (size_t b = 0; b < data.lengths.size(); ++b) {
      const int64_t len = data.lengths[b];
      if (len < 0 || len > data.seq) {
        return KernelContext::Error("input sequence_lens[" + std::to_string(b) + "] is " + std::to_string(len) +
                                    "; it must be in [0, " + std::to_string(data.seq) + "] (the sequence length of X)");
      }
    }
    return Status::Ok();
  }

  RnnAttributes a_;
  bool weights_constant_;
  RnnGemms gemms_;
  Tensor projection_;  // input-projection scratch kept across runs
};

KernelFactory RecurrentFactory(RnnCell cell) {
  return [cell](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(RnnAttributes attrs, ParseAttributes(init.node, cell));
    // Packed weights are reused across runs only when W and R cannot change between them.
    const bool constant = init.constant_input(kW) != nullptr && init.constant_input(kR) != nullptr;
    return std::unique_ptr<Kernel>(std::make_unique<RecurrentKernel>(std::move(attrs), constant));
  };
}

}  // namespace

void RegisterRecurrentKernels(KernelRegistry& registry) {
  // Every schema version: RNN 1, 7, 14; GRU 1, 3, 7, 14; LSTM 1, 7, 14 (one kernel branches on attributes).
  registry.Register("RNN", 1, kLatestOpset, RecurrentFactory(RnnCell::kRnn));
  registry.Register("GRU", 1, kLatestOpset, RecurrentFactory(RnnCell::kGru));
  registry.Register("LSTM", 1, kLatestOpset, RecurrentFactory(RnnCell::kLstm));
}

}  // namespace tessera
