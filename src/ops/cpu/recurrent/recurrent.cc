// RNN, GRU and LSTM: attribute validation at creation, input validation per run; the time loop is in
// recurrent_layer.cc. float32 and float64 compute natively; float16 computes in float32 (inputs widened,
// outputs rounded once).
//
// Opset differences: opset 1 has `output_sequence` (Y is produced whenever the node names it, as in
// later opsets); GRU gains linear_before_reset at 3; opset 14 adds `layout` (1: batch-major X, Y, states).
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/half.h"
#include "ops/cpu/recurrent/recurrent_layer.h"
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

// The node's inputs (null when omitted) and where its outputs go: the context's own outputs, or float32
// stand-ins that a float16 node converts afterwards.
struct RnnIo {
  std::array<const Tensor*, 8> inputs{};
  std::array<bool, 3> wanted{};
  std::function<StatusOr<Tensor*>(size_t index, const Shape& shape, bool zero)> allocate;
};

// A float32 copy of a float16 tensor.
StatusOr<Tensor> WidenHalf(const Tensor& half) {
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(DType::kFloat32, half.shape()));
  const uint16_t* src = half.data<uint16_t>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < half.element_count(); ++i) dst[i] = HalfToFloat(src[i]);
  return out;
}

class RecurrentKernel : public Kernel {
 public:
  RecurrentKernel(RnnAttributes attrs, bool weights_constant)
      : a_(std::move(attrs)), weights_constant_(weights_constant) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(kX) || !ctx.has_input(kW) || !ctx.has_input(kR)) {
      return KernelContext::Error("inputs X, W and R are required");
    }
    const DType dtype = ctx.input(kX).dtype();
    RnnIo io;
    const size_t count = a_.cell == RnnCell::kLstm ? 8 : 6;  // initial_c and P are LSTM only
    for (size_t i = 0; i < count; ++i) {
      if (!ctx.has_input(i)) continue;
      io.inputs[i] = &ctx.input(i);
      if (i != kSequenceLens && io.inputs[i]->dtype() != dtype) {
        return KernelContext::Error("input " + std::to_string(i) + " has dtype " + DTypeName(io.inputs[i]->dtype()) +
                                    "; expected X's dtype " + DTypeName(dtype));
      }
    }
    for (size_t i = 0; i < 3; ++i) io.wanted[i] = ctx.wants_output(i) && (i != kYC || a_.cell == RnnCell::kLstm);
    io.allocate = [&](size_t i, const Shape& shape, bool zero) {
      return zero ? ctx.AllocateOutput(i, dtype, shape) : ctx.AllocateUninitializedOutput(i, dtype, shape);
    };
    switch (dtype) {
      case DType::kFloat32: return RunTyped<float>(io, ctx.pool());
      case DType::kFloat64: return RunTyped<double>(io, ctx.pool());
      case DType::kFloat16: return RunHalf(ctx, io);
      default:
        return KernelContext::Error(std::string("input X has dtype ") + DTypeName(dtype) +
                                    "; expected float32, float64 or float16");
    }
  }

 private:
  // float16 computes in float32: inputs are widened, outputs computed into float32 stand-ins and rounded.
  Status RunHalf(KernelContext& ctx, RnnIo& io) {
    std::array<Tensor, 8> widened;
    for (size_t i = 0; i < io.inputs.size(); ++i) {
      if (io.inputs[i] == nullptr || io.inputs[i]->dtype() != DType::kFloat16) continue;
      TS_ASSIGN_OR_RETURN(widened[i], WidenHalf(*io.inputs[i]));
      io.inputs[i] = &widened[i];
    }
    std::array<Tensor, 3> stand_ins;
    io.allocate = [&](size_t i, const Shape& shape, bool zero) -> StatusOr<Tensor*> {
      TS_ASSIGN_OR_RETURN(stand_ins[i], zero ? Tensor::Allocate(DType::kFloat32, shape)
                                             : Tensor::AllocateUninitialized(DType::kFloat32, shape));
      return &stand_ins[i];
    };
    TS_RETURN_IF_ERROR(RunTyped<float>(io, ctx.pool()));
    for (size_t i = 0; i < stand_ins.size(); ++i) {
      if (!stand_ins[i].defined()) continue;
      TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(i, DType::kFloat16, stand_ins[i].shape()));
      const float* src = stand_ins[i].data<float>();
      uint16_t* dst = out->data<uint16_t>();
      for (int64_t j = 0; j < out->element_count(); ++j) dst[j] = FloatToHalf(src[j]);
    }
    return Status::Ok();
  }

  template <typename T>
  Status RunTyped(const RnnIo& io, ThreadPool& pool) {
    const bool lstm = a_.cell == RnnCell::kLstm;
    const Tensor& x = *io.inputs[kX];
    const Tensor& w = *io.inputs[kW];
    const Tensor& r = *io.inputs[kR];
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
    const std::string layout = std::to_string(dirs) + " directions, " + std::to_string(gates) + " gates, hidden_size " +
                               std::to_string(hidden) + ", input size " + std::to_string(data.input) + " from X";
    TS_RETURN_IF_ERROR(CheckShape(w, "W", {dirs, gates * hidden, data.input}, layout));
    TS_RETURN_IF_ERROR(CheckShape(r, "R", {dirs, gates * hidden, hidden}, layout));
    const Shape state_shape = a_.layout == 0 ? Shape{dirs, data.batch, hidden} : Shape{data.batch, dirs, hidden};
    data.x = x.data<T>();
    data.w = w.data<T>();
    data.r = r.data<T>();
    data.weights_constant = weights_constant_;
    if (const Tensor* b = io.inputs[kB]) {
      TS_RETURN_IF_ERROR(CheckShape(*b, "B", {dirs, 2 * gates * hidden}));
      data.b = b->data<T>();
    }
    if (const Tensor* h0 = io.inputs[kInitialH]) {
      TS_RETURN_IF_ERROR(CheckShape(*h0, "initial_h", state_shape));
      data.initial_h = h0->data<T>();
    }
    if (const Tensor* c0 = io.inputs[kInitialC]) {
      TS_RETURN_IF_ERROR(CheckShape(*c0, "initial_c", state_shape));
      data.initial_c = c0->data<T>();
    }
    if (const Tensor* p = io.inputs[kPeepholes]) {
      TS_RETURN_IF_ERROR(CheckShape(*p, "P", {dirs, 3 * hidden}));
      data.p = p->data<T>();
    }
    TS_RETURN_IF_ERROR(ReadLengths(io.inputs[kSequenceLens], data));

    const Shape y_shape =
        a_.layout == 0 ? Shape{data.seq, dirs, data.batch, hidden} : Shape{data.batch, data.seq, dirs, hidden};
    if (io.wanted[kY]) {
      // Steps past a sequence's length stay zero; when no sequence is short every element is written.
      const bool all_full =
          std::all_of(data.lengths.begin(), data.lengths.end(), [&](int64_t n) { return n == data.seq; });
      TS_ASSIGN_OR_RETURN(Tensor * y, io.allocate(kY, y_shape, !all_full));
      data.y = y->data<T>();
    }
    if (io.wanted[kYH]) {
      TS_ASSIGN_OR_RETURN(Tensor * y_h, io.allocate(kYH, state_shape, false));
      data.y_h = y_h->data<T>();
    }
    if (lstm && io.wanted[kYC]) {
      TS_ASSIGN_OR_RETURN(Tensor * y_c, io.allocate(kYC, state_shape, false));
      data.y_c = y_c->data<T>();
    }
    return RunRecurrentLayer<T>(a_, data, gemms_, projection_, pool);
  }

  // sequence_lens: one length in [0, seq] per batch row; absent means every row runs all steps.
  template <typename T>
  Status ReadLengths(const Tensor* sequence_lens, RnnData<T>& data) {
    if (sequence_lens == nullptr) {
      data.lengths.assign(static_cast<size_t>(data.batch), data.seq);
      return Status::Ok();
    }
    const Tensor& lens = *sequence_lens;
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
