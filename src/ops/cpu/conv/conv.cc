// Conv (opsets 1, 11) and ConvTranspose (opsets 1, 11) for 1-D, 2-D and 3-D inputs.
//
// float32 runs through oneDNN (conv_dnnl.h) with weights packed once per node (a ConvTranspose whose
// kernel equals its stride through conv_transpose_patch.h instead), and so does float16 on
// float32 copies; float64, and any problem oneDNN has no optimized implementation for, run the reference loops
// (conv_reference.h). The attribute semantics did not change between the opsets, so one kernel serves
// all of them. ConvInteger and QLinearConv live with the quantization kernels.
//
// com.tessera FusedConv (made by graph/passes/conv_fusion.h, float32 only) is a Conv with attributes
// `activation` ("Relu", "Clip" with `activation_min`/`activation_max`, "HardSwish", "HardSigmoid" with
// `activation_alpha`/`activation_beta`, or "Sigmoid") and an optional fourth input Z
// of the output's shape: y = activation(conv(x, w) + b + z), built into the oneDNN primitive as post-ops.
#include <atomic>
#include <memory>
#include <string>

#include "core/half.h"
#include "graph/layout.h"
#include "ops/cpu/conv/conv_activation_attributes.h"
#include "ops/cpu/conv/conv_dnnl.h"
#include "ops/cpu/conv/conv_reference.h"
#include "ops/cpu/conv/conv_transpose_patch.h"
#include "ops/cpu/conv/squeeze_excitation.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

// What one input shape implies: channel counts, the window and the output shape.
struct ConvShapes {
  int64_t in_c = 0, out_c = 0;
  WindowGeometry geometry;
  Shape y;
};

// A float32 copy of a float16 tensor (or an undefined tensor for a null one).
StatusOr<Tensor> HalfToFloat32(const Tensor* t) {
  if (!t) return Tensor();
  TS_ASSIGN_OR_RETURN(Tensor f, Tensor::AllocateUninitialized(DType::kFloat32, t->shape()));
  const uint16_t* src = t->data<uint16_t>();
  float* dst = f.data<float>();
  for (int64_t i = 0; i < t->element_count(); ++i) dst[i] = HalfToFloat(src[i]);
  return f;
}

class ConvKernel : public Kernel {
 public:
  ConvKernel(bool transpose, WindowAttributes attrs, int64_t group, const Tensor* constant_w, ConvPostOps post_ops)
      : transpose_(transpose), attrs_(std::move(attrs)), group_(group), post_ops_(post_ops) {
    Tensor packable;
    if (constant_w && constant_w->dtype() == DType::kFloat32) {
      packable = *constant_w;
      constant_f32_shape_ = constant_w->shape();
    }
    if (constant_w && constant_w->dtype() == DType::kFloat16) {
      // Converted once here; a failed allocation just leaves the weights to be converted per run.
      auto f = HalfToFloat32(constant_w);
      if (f.ok()) packable = constant_w_f32_ = std::move(*f);
    }
    if (transpose && group == 1 && packable.defined() && packable.dtype() == DType::kFloat32 &&
        packable.rank() == 4)
      patch_ = std::make_unique<ConvTransposePatchWeights>(packable);
    dnnl_ = std::make_unique<DnnlConv>(transpose, group, packable, post_ops);
  }

  // With constant float32/float16 weights and a static input shape, builds the primitive now rather than
  // on the first run.
  void Prewarm(const Shape& x_shape, const Tensor& w, bool has_bias) {
    if (w.dtype() != DType::kFloat32 && w.dtype() != DType::kFloat16) return;
    auto shapes = Resolve(x_shape, w.shape(), nullptr);
    if (shapes.ok() && RunsAsPatch(*shapes)) return;  // no oneDNN primitive needed
    if (shapes.ok() && ShapeElementCount(shapes->y) > 0 && ShapeElementCount(x_shape) > 0) {
      dnnl_->Prepare(shapes->geometry, x_shape, w.shape(), shapes->out_c, has_bias);
      TryDropConstantWeights();
    }
  }

  bool HasOwnCopyOfConstant(size_t input) const override { return input == 1 && weights_dropped_.load(); }

  // Set when the FusedConv is the last reader of its addend Z in execution order.
  void set_addend_dies_here(bool dies) { addend_dies_here_ = dies; }

  Status Run(KernelContext& ctx) override {
    if (!fused()) return RunConv(ctx);
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32) return UnsupportedDType("FusedConv", x.dtype());
    const Tensor* z = nullptr;
    if (post_ops_.sum) {
      z = &ctx.input(3);
      if (z->dtype() != DType::kFloat32)
        return KernelContext::Error(std::string("FusedConv addend Z must be float32, got ") + DTypeName(z->dtype()));
    }
    return RunConv(ctx, z);
  }

 private:
  // True for FusedConv post-ops (layouts alone need no pass of ours over y).
  bool fused() const { return post_ops_.sum || post_ops_.activation != ConvPostOps::Activation::kNone; }

  // Once the float32 constant weights live on only inside dnnl_, tells the executor it may drop them.
  void TryDropConstantWeights() {
    if (!constant_f32_shape_.empty() && !weights_dropped_.load() && dnnl_->DropConstantWeights()) {
      weights_dropped_.store(true);
    }
  }

  // The layout pass sets channels_last_input/output only where they hold; from a model's own attributes
  // a layout that does not fit the tensors would have oneDNN read past them, so it is an error.
  Status CheckLayoutAttributes(const Tensor& x, const ConvShapes& shapes) const {
    if (!post_ops_.channels_last_x && !post_ops_.channels_last_y) return Status::Ok();
    if (x.rank() != 4)
      return KernelContext::Error("FusedConv channels_last_input/output need a 4-D X, got X of shape " +
                                  ShapeToString(x.shape()));
    if ((post_ops_.blocked_x && shapes.in_c % 16 != 0) || (post_ops_.blocked_y && shapes.out_c % 16 != 0))
      return KernelContext::Error("FusedConv channels_last_input/output " + std::to_string(kBlockedLayout) +
                                  " (nChw16c) need channels in multiples of 16, got X of shape " +
                                  ShapeToString(x.shape()) + " and Y of shape " + ShapeToString(shapes.y));
    return Status::Ok();
  }

  // Conv or ConvTranspose, plus the post-ops of a FusedConv (`z` is its addend, float32 only).
  Status RunConv(KernelContext& ctx, const Tensor* z = nullptr) {
    const Tensor& x = ctx.input(0);
    // Dropped weights are read from dnnl_'s packed copy (or unpacked from it for the reference path).
    const bool dropped = weights_dropped_.load();
    Tensor unpacked_w;
    const Tensor* w = dropped ? nullptr : &ctx.input(1);
    const Shape& w_shape = dropped ? constant_f32_shape_ : w->shape();
    const DType w_dtype = dropped ? DType::kFloat32 : w->dtype();
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (w_dtype != x.dtype() || (b && b->dtype() != x.dtype()))
      return KernelContext::Error(std::string(Name()) + " inputs must share one dtype, got X " + DTypeName(x.dtype()) +
                                  ", W " + DTypeName(w_dtype) +
                                  (b ? std::string(", B ") + DTypeName(b->dtype()) : ""));
    TS_ASSIGN_OR_RETURN(ConvShapes shapes, Resolve(x.shape(), w_shape, b ? &b->shape() : nullptr));
    const WindowGeometry& g = shapes.geometry;
    if (z && z->shape() != shapes.y)
      return KernelContext::Error("FusedConv addend Z of shape " + ShapeToString(z->shape()) +
                                  " must match the convolution output " + ShapeToString(shapes.y));
    TS_RETURN_IF_ERROR(CheckLayoutAttributes(x, shapes));
    // A residual addend that dies here becomes the output: the sum post-op accumulates into it in place
    // instead of into a copy (ResNet's blocks at batch 8 copied 25 MB per block). This node is its last
    // reader (addend_dies_here_), and a buffer nobody but the executor's slot holds is no graph input,
    // constant or view shared with another live value.
    if (z && addend_dies_here_ && x.dtype() == DType::kFloat32 && x.element_count() > 0 &&
        ShapeElementCount(w_shape) > 0 && z->buffer() && z->buffer().use_count() == 1 &&
        dnnl_->SumsInPlace(g, x.shape(), w_shape, shapes.out_c, b != nullptr)) {
      Tensor y = ctx.input(3);
      TS_ASSIGN_OR_RETURN(bool done, dnnl_->Run(g, x.shape(), w_shape, shapes.out_c, x.data<float>(),
                                                w ? w->data<float>() : nullptr, b ? b->data<float>() : nullptr,
                                                y.data<float>(), y.data<float>()));
      if (done) {
        ctx.SetOutput(0, std::move(y));
        if (!dropped) TryDropConstantWeights();
        return Status::Ok();
      }
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), shapes.y));
    if (y->element_count() == 0) return Status::Ok();
    if ((x.element_count() == 0 || ShapeElementCount(w_shape) == 0) && !post_ops_.channels_last_y) {  // nothing to accumulate
      TS_RETURN_IF_ERROR(FillBias(*y, b));
      if (fused()) ApplyPostOps(z, *y);
      return Status::Ok();
    }
    if (x.dtype() == DType::kFloat32 && RunsAsPatch(shapes)) {  // its own packed copy: dropped or not
      patch_->Run(g, x.dim(0), x.data<float>(), b ? b->data<float>() : nullptr, y->data<float>(), ctx.pool());
      return Status::Ok();
    }
    if (x.dtype() == DType::kFloat32) {
      TS_ASSIGN_OR_RETURN(bool done, dnnl_->Run(g, x.shape(), w_shape, shapes.out_c, x.data<float>(),
                                                w ? w->data<float>() : nullptr, b ? b->data<float>() : nullptr,
                                                y->data<float>(), z ? z->data<float>() : nullptr));
      if (done) {
        if (!dropped) TryDropConstantWeights();
        return Status::Ok();
      }
    }
    if (x.dtype() == DType::kFloat16) {
      TS_ASSIGN_OR_RETURN(bool done, RunHalfInFloat32(x, *w, b, shapes, *y));
      if (done) return Status::Ok();
    }
    if (w == nullptr) {  // oneDNN declined this shape after the weights were dropped
      TS_ASSIGN_OR_RETURN(unpacked_w, dnnl_->UnpackedWeights(constant_f32_shape_));
      w = &unpacked_w;
    }
    const ConvProblem problem = MakeConvProblem(g, x.dim(0), shapes.in_c, shapes.out_c, group_);
    auto run = [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* bias = b ? b->data<T>() : nullptr;
      if (transpose_)
        ConvTransposeReference<T>(problem, x.data<T>(), w->data<T>(), bias, y->data<T>(), ctx.pool());
      else
        ConvReference<T>(problem, x.data<T>(), w->data<T>(), bias, y->data<T>(), ctx.pool());
      return Status::Ok();
    };
    if (post_ops_.channels_last_x || post_ops_.channels_last_y)
      return KernelContext::Error("FusedConv: oneDNN declined a channels-last convolution of X " +
                                  ShapeToString(x.shape()) + " and W " + ShapeToString(w_shape));
    if (fused()) {  // float32 that oneDNN declined
      TS_RETURN_IF_ERROR(run(float{}));
      ApplyPostOps(z, *y);
      return Status::Ok();
    }
    switch (x.dtype()) {
      case DType::kFloat32:
        return run(float{});
      case DType::kFloat64:
        return run(double{});
      case DType::kFloat16:
        return run(Float16{});
      default:
        return UnsupportedDType(Name(), x.dtype());
    }
  }

  // float16 through the float32 oneDNN path on converted copies: float32 accumulation is more accurate
  // than float16 and far faster than the reference loops. False when oneDNN declines the problem.
  StatusOr<bool> RunHalfInFloat32(const Tensor& x, const Tensor& w, const Tensor* b, const ConvShapes& shapes,
                                  Tensor& y) {
    TS_ASSIGN_OR_RETURN(Tensor x32, HalfToFloat32(&x));
    TS_ASSIGN_OR_RETURN(Tensor b32, HalfToFloat32(b));
    Tensor w32 = constant_w_f32_;
    if (!w32.defined()) {
      TS_ASSIGN_OR_RETURN(w32, HalfToFloat32(&w));
    }
    TS_ASSIGN_OR_RETURN(Tensor y32, Tensor::AllocateUninitialized(DType::kFloat32, y.shape()));
    TS_ASSIGN_OR_RETURN(bool done, dnnl_->Run(shapes.geometry, x.shape(), w.shape(), shapes.out_c, x32.data<float>(),
                                              w32.data<float>(), b ? b32.data<float>() : nullptr, y32.data<float>()));
    if (!done) return false;
    const float* src = y32.data<float>();
    uint16_t* dst = y.data<uint16_t>();
    for (int64_t i = 0; i < y.element_count(); ++i) dst[i] = FloatToHalf(src[i]);
    return true;
  }

  const char* Name() const { return transpose_ ? "ConvTranspose" : "Conv"; }

  // A float32 ConvTranspose with constant weights whose windows do not overlap.
  bool RunsAsPatch(const ConvShapes& shapes) const {
    return patch_ && IsConvTransposePatch(shapes.geometry) && patch_->Fits(shapes.in_c, shapes.out_c, shapes.geometry);
  }

  // Checks X, W and B against each other and the attributes; errors name the shapes at fault.
  StatusOr<ConvShapes> Resolve(const Shape& x, const Shape& w, const Shape* b) const {
    const std::string op = Name();
    if (x.size() < 3 || x.size() > 5)
      return KernelContext::Error(op + " supports 1-D to 3-D inputs [N, C, spatial...], got X of shape " +
                                  ShapeToString(x));
    if (w.size() != x.size())
      return KernelContext::Error(op + " weights W of shape " + ShapeToString(w) +
                                  " must have the rank of X of shape " + ShapeToString(x));
    // Conv W is [M, C/group, k...], ConvTranspose W is [C, M/group, k...].
    ConvShapes s;
    s.in_c = x[1];
    const int64_t w_in_c = transpose_ ? w[0] : w[1] * group_;
    s.out_c = transpose_ ? w[1] * group_ : w[0];
    if (s.in_c != w_in_c || (transpose_ ? s.in_c : s.out_c) % group_ != 0)
      return KernelContext::Error(op + " channel mismatch: X of shape " + ShapeToString(x) + " has " +
                                  std::to_string(s.in_c) + " channels but W of shape " + ShapeToString(w) +
                                  " with group " + std::to_string(group_) + " expects " + std::to_string(w_in_c));
    if (b && (b->size() != 1 || (*b)[0] != s.out_c))
      return KernelContext::Error(op + " bias B of shape " + ShapeToString(*b) + " must be [" +
                                  std::to_string(s.out_c) + "] for W of shape " + ShapeToString(w));
    const std::vector<int64_t> kernel(w.begin() + 2, w.end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      return KernelContext::Error(op + " attribute kernel_shape " + IntsToString(attrs_.kernel_shape) +
                                  " does not match W of shape " + ShapeToString(w));
    auto geometry = transpose_ ? TransposeWindow(attrs_, x, kernel) : ForwardWindow(attrs_, x, 2, kernel, false);
    if (!geometry.ok()) return KernelContext::Error(op + ": " + geometry.status().message());
    s.geometry = std::move(*geometry);
    s.y = {x[0], s.out_c};
    s.y.insert(s.y.end(), s.geometry.out.begin(), s.geometry.out.end());
    return s;
  }

  // The post-ops on a float32 y computed without them (the paths oneDNN does not take).
  void ApplyPostOps(const Tensor* z, Tensor& y) const {
    float* out = y.data<float>();
    const float* add = z ? z->data<float>() : nullptr;
    for (int64_t i = 0; i < y.element_count(); ++i)
      out[i] = ApplyConvActivation(post_ops_, add ? out[i] + add[i] : out[i]);
  }

  // y[n, m, ...] = bias[m] or 0, for problems with no input elements.
  static Status FillBias(Tensor& y, const Tensor* b) {
    return DispatchFloatWithHalf(y.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const int64_t channels = y.dim(1), inner = y.element_count() / (y.dim(0) * channels);
      T* out = y.data<T>();
      for (int64_t i = 0; i < y.element_count(); ++i) {
        out[i] = b ? b->data<T>()[(i / inner) % channels] : NumericTraits<T>::Store(0);
      }
      return Status::Ok();
    });
  }

  bool transpose_;
  WindowAttributes attrs_;
  int64_t group_;
  ConvPostOps post_ops_;
  Tensor constant_w_f32_;  // float16 constant weights converted once
  Shape constant_f32_shape_;  // W's shape when it is a float32 constant (dnnl_ may drop it)
  std::atomic<bool> weights_dropped_{false};
  bool addend_dies_here_ = false;
  std::unique_ptr<DnnlConv> dnnl_;
  std::unique_ptr<ConvTransposePatchWeights> patch_;  // constant float32 ConvTranspose weights, repacked
};

// The post-ops a FusedConv node's attributes and inputs ask for.
StatusOr<ConvPostOps> ReadPostOps(const Node& node) {
  ConvPostOps ops;
  ops.sum = node.inputs.size() > 3 && node.inputs[3] != kNoValue;
  const int64_t layout_x = node.GetInt("channels_last_input", 0), layout_y = node.GetInt("channels_last_output", 0);
  ops.channels_last_x = layout_x != 0;
  ops.channels_last_y = layout_y != 0;
  ops.blocked_x = layout_x == kBlockedLayout;
  ops.blocked_y = layout_y == kBlockedLayout;
  TS_RETURN_IF_ERROR(ReadConvActivation(node, "activation", "FusedConv", ops));
  return ops;
}

// Whether `node` (an element of graph.nodes, which the executor runs in order) is the last reader of its
// input `input`, which is no graph input, graph output or constant, and which it reads only there.
bool IsLastReader(const Graph& graph, const Node& node, size_t input) {
  if (graph.nodes.empty() || &node < graph.nodes.data() || &node >= graph.nodes.data() + graph.nodes.size())
    return false;
  const int id = node.inputs[input];
  if (id == kNoValue || graph.IsConstant(id)) return false;
  for (int v : graph.inputs) if (v == id) return false;
  for (int v : graph.outputs) if (v == id) return false;
  for (size_t k = 0; k < node.inputs.size(); ++k) if (k != input && node.inputs[k] == id) return false;
  for (const Node* later = &node + 1; later < graph.nodes.data() + graph.nodes.size(); ++later) {
    for (int v : later->inputs) if (v == id) return false;
  }
  return true;
}

KernelFactory ConvFactory(bool transpose, bool fused = false) {
  return [transpose, fused](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_RETURN_IF_ERROR(RequireInputs(init.node, 2));
    ConvPostOps post_ops;
    if (fused) {
      TS_ASSIGN_OR_RETURN(post_ops, ReadPostOps(init.node));
    }
    TS_ASSIGN_OR_RETURN(WindowAttributes attrs, ReadWindowAttributes(init.node));
    const int64_t group = init.node.GetInt("group", 1);
    if (group < 1) return InvalidArgument("attribute 'group' must be positive, got " + std::to_string(group));
    const Tensor* w = init.constant_input(1);
    auto kernel = std::make_unique<ConvKernel>(transpose, std::move(attrs), group, w, post_ops);
    if (post_ops.sum) kernel->set_addend_dies_here(IsLastReader(init.graph, init.node, 3));
    const ValueInfo& x = init.graph.value(init.node.inputs[0]);
    if (w && x.IsStatic() && (!fused || w->dtype() == DType::kFloat32))
      kernel->Prewarm(x.StaticDims(), *w, init.node.inputs.size() > 2 && init.node.inputs[2] != kNoValue);
    return std::unique_ptr<Kernel>(std::move(kernel));
  };
}

}  // namespace

void RegisterConvKernels(KernelRegistry& registry) {
  registry.Register("Conv", 1, 10, ConvFactory(false));
  registry.Register("Conv", 11, kLatestOpset, ConvFactory(false));
  registry.Register("ConvTranspose", 1, 10, ConvFactory(true));
  registry.Register("ConvTranspose", 11, kLatestOpset, ConvFactory(true));
  KernelDef fused;
  fused.op_type = "FusedConv";
  fused.domain = kTesseraDomain;
  fused.since_opset = 1;
  fused.dtypes = {DType::kFloat32};
  fused.factory = ConvFactory(false, true);
  registry.Register(std::move(fused));
  RegisterSqueezeExcitationKernels(registry);
  // The layout pass keeps Winograd convolutions' neighbours in their blocked layout (conv_dnnl.cc).
  registry.SetConvWinogradPredicate([](const ConvAlgorithmQuery& q) {
    return ConvUsesWinograd(q.kernel, q.stride, q.dilation, q.group, q.in_channels, q.out_channels, q.output_spatial);
  });
}

}  // namespace tessera
