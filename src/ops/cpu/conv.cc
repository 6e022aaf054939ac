// Conv (opsets 1, 11) and ConvTranspose (opsets 1, 11) for 1-D, 2-D and 3-D inputs.
//
// float32 runs through oneDNN (conv_dnnl.h) with weights packed once per node; float64 and float16, and
// any float32 problem oneDNN has no optimized implementation for, run the reference loops
// (conv_reference.h). The attribute semantics did not change between the opsets, so one kernel serves
// all of them. ConvInteger and QLinearConv live with the quantization kernels.
#include <memory>
#include <string>

#include "ops/cpu/conv_dnnl.h"
#include "ops/cpu/conv_reference.h"
#include "ops/cpu/reduction_numeric.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

class ConvKernel : public Kernel {
 public:
  ConvKernel(bool transpose, WindowAttributes attrs, int64_t group, const Tensor* constant_w)
      : transpose_(transpose), attrs_(std::move(attrs)), group_(group) {
    const bool packable = constant_w && constant_w->dtype() == DType::kFloat32;
    dnnl_ = std::make_unique<DnnlConv>(transpose, group, packable ? *constant_w : Tensor());
  }

  Status Run(KernelContext& ctx) override {
    const char* op = transpose_ ? "ConvTranspose" : "Conv";
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (x.rank() < 3 || x.rank() > 5)
      return KernelContext::Error(std::string(op) + " supports 1-D to 3-D inputs [N, C, spatial...], got X of shape " +
                                  ShapeToString(x.shape()));
    if (w.rank() != x.rank())
      return KernelContext::Error(std::string(op) + " weights W of shape " + ShapeToString(w.shape()) +
                                  " must have the rank of X of shape " + ShapeToString(x.shape()));
    if (w.dtype() != x.dtype() || (b && b->dtype() != x.dtype()))
      return KernelContext::Error(std::string(op) + " inputs must share one dtype, got X " + DTypeName(x.dtype()) +
                                  ", W " + DTypeName(w.dtype()) + (b ? std::string(", B ") + DTypeName(b->dtype()) : ""));
    // Channel bookkeeping: Conv W is [M, C/group, k...], ConvTranspose W is [C, M/group, k...].
    const int64_t in_c = x.dim(1);
    const int64_t w_in_c = transpose_ ? w.dim(0) : w.dim(1) * group_;
    const int64_t out_c = transpose_ ? w.dim(1) * group_ : w.dim(0);
    if (in_c != w_in_c || (transpose_ ? in_c : out_c) % group_ != 0)
      return KernelContext::Error(std::string(op) + " channel mismatch: X of shape " + ShapeToString(x.shape()) +
                                  " has " + std::to_string(in_c) + " channels but W of shape " +
                                  ShapeToString(w.shape()) + " with group " + std::to_string(group_) + " expects " +
                                  std::to_string(w_in_c));
    if (b && (b->rank() != 1 || b->dim(0) != out_c))
      return KernelContext::Error(std::string(op) + " bias B of shape " + ShapeToString(b->shape()) + " must be [" +
                                  std::to_string(out_c) + "] for W of shape " + ShapeToString(w.shape()));
    std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      return KernelContext::Error(std::string(op) + " attribute kernel_shape " + IntsToString(attrs_.kernel_shape) +
                                  " does not match W of shape " + ShapeToString(w.shape()));
    auto geometry = transpose_ ? TransposeWindow(attrs_, x.shape(), kernel) : ForwardWindow(attrs_, x.shape(), 2, kernel, false);
    if (!geometry.ok()) return KernelContext::Error(std::string(op) + ": " + geometry.status().message());
    const WindowGeometry& g = *geometry;
    Shape y_shape = {x.dim(0), out_c};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), y_shape));
    if (y->element_count() == 0) return Status::Ok();
    if (x.element_count() == 0 || w.element_count() == 0) {
      // Nothing to accumulate: the output is the bias (or zero).
      return FillBias(*y, b);
    }
    if (x.dtype() == DType::kFloat32) {
      TS_ASSIGN_OR_RETURN(bool done, dnnl_->Run(g, x.shape(), w.shape(), out_c, x.data<float>(), w.data<float>(),
                                                b ? b->data<float>() : nullptr, y->data<float>()));
      if (done) return Status::Ok();
    }
    const ConvProblem problem = MakeConvProblem(g, x.dim(0), in_c, out_c, group_);
    auto run = [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* bias = b ? b->data<T>() : nullptr;
      if (transpose_) ConvTransposeReference<T>(problem, x.data<T>(), w.data<T>(), bias, y->data<T>(), ctx.pool());
      else ConvReference<T>(problem, x.data<T>(), w.data<T>(), bias, y->data<T>(), ctx.pool());
      return Status::Ok();
    };
    switch (x.dtype()) {
      case DType::kFloat32: return run(float{});
      case DType::kFloat64: return run(double{});
      case DType::kFloat16: return run(Float16{});
      default: return UnsupportedDType(op, x.dtype());
    }
  }

 private:
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
  std::unique_ptr<DnnlConv> dnnl_;
};

KernelFactory ConvFactory(bool transpose) {
  return [transpose](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(WindowAttributes attrs, ReadWindowAttributes(init.node));
    const int64_t group = init.node.GetInt("group", 1);
    if (group < 1) return InvalidArgument("attribute 'group' must be positive, got " + std::to_string(group));
    return std::unique_ptr<Kernel>(std::make_unique<ConvKernel>(transpose, std::move(attrs), group, init.constant_input(1)));
  };
}

}  // namespace

void RegisterConvKernels(KernelRegistry& registry) {
  registry.Register("Conv", 1, 10, ConvFactory(false));
  registry.Register("Conv", 11, kLatestOpset, ConvFactory(false));
  registry.Register("ConvTranspose", 1, 10, ConvFactory(true));
  registry.Register("ConvTranspose", 11, kLatestOpset, ConvFactory(true));
}

}  // namespace tessera
