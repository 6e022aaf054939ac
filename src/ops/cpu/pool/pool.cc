// MaxPool, AveragePool, LpPool (1-D to 3-D windows) and GlobalMaxPool, GlobalAveragePool, GlobalLpPool;
// MaxRoiPool and MaxUnpool are in pool_roi_unpool.cc.
//
// float32 MaxPool/AveragePool run through oneDNN (pool_dnnl.h) where it matches ONNX exactly, the rest
// through the window loops (pool_window.h).
//
// Opset differences are additions of attributes, so one kernel reads whichever are present: MaxPool-8
// adds storage_order and the Indices output, MaxPool-10 ceil_mode and dilations, MaxPool-12 int8/uint8;
// AveragePool-7 count_include_pad, -10 ceil_mode, -19 dilations; LpPool-1 has a float `p` (int from
// LpPool-2), LpPool-18 adds ceil_mode and dilations.
#include <algorithm>
#include <memory>
#include <vector>
#include <string>

#include "graph/layout.h"
#include "ops/cpu/pool/pool_dnnl.h"
#include "ops/cpu/pool/pool_roi_unpool.h"
#include "ops/cpu/pool/pool_window.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

enum class PoolKind { kMax, kAverage, kLp };

const char* PoolName(PoolKind kind, bool global) {
  switch (kind) {
    case PoolKind::kMax:
      return global ? "GlobalMaxPool" : "MaxPool";
    case PoolKind::kAverage:
      return global ? "GlobalAveragePool" : "AveragePool";
    default:
      return global ? "GlobalLpPool" : "LpPool";
  }
}

// LpPool-1 and GlobalLpPool-1 declare `p` as a float; later versions as an int.
double ReadPower(const Node& node) {
  const Attribute* a = node.FindAttribute("p");
  if (a && a->type == Attribute::Type::kFloat) return a->f;
  return static_cast<double>(node.GetInt("p", 2));
}

// Runs one pooling problem for x's dtype; max pooling also writes `indices` when not null.
Status RunPool(PoolKind kind, const char* op, const PoolProblem& p, const Tensor& x, Tensor& y, int64_t* indices,
               bool column_major, bool count_include_pad, double power, ThreadPool& pool) {
  if (kind == PoolKind::kMax) {
    auto run = [&](auto tag) -> Status {
      using T = decltype(tag);
      MaxPoolPlanes<T>(p, x.data<T>(), y.data<T>(), indices, column_major, pool);
      return Status::Ok();
    };
    switch (x.dtype()) {
      case DType::kInt8:
        return run(int8_t{});
      case DType::kUInt8:
        return run(uint8_t{});
      case DType::kFloat16:
        return run(Float16{});
      default:
        return DispatchFloat(x.dtype(), run, op);
    }
  }
  auto run = [&](auto tag) -> Status {
    using T = decltype(tag);
    if (kind == PoolKind::kAverage)
      AveragePoolPlanes<T>(p, x.data<T>(), y.data<T>(), count_include_pad, pool);
    else
      LpPoolPlanes<T>(p, x.data<T>(), y.data<T>(), power, pool);
    return Status::Ok();
  };
  if (x.dtype() == DType::kFloat16) return run(Float16{});
  return DispatchFloat(x.dtype(), run, op);
}

class WindowPoolKernel : public Kernel {
 public:
  WindowPoolKernel(PoolKind kind, WindowAttributes attrs, const Node& node)
      : kind_(kind),
        attrs_(std::move(attrs)),
        column_major_(node.GetInt("storage_order", 0) != 0),
        count_include_pad_(node.GetInt("count_include_pad", 0) != 0),
        power_(ReadPower(node)),
        channels_last_(node.domain == "com.tessera" && node.op_type == "MaxPoolChannelsLast") {
    if (kind_ != PoolKind::kLp)
      dnnl_ = std::make_unique<DnnlPool>(kind_ == PoolKind::kMax, count_include_pad_, channels_last_);
  }

  Status Run(KernelContext& ctx) override {
    const char* op = PoolName(kind_, false);
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3 || x.rank() > 5)
      return KernelContext::Error(std::string(op) + " supports 1-D to 3-D inputs [N, C, spatial...], got X of shape " +
                                  ShapeToString(x.shape()));
    auto geometry = ForwardWindow(attrs_, x.shape(), 2, attrs_.kernel_shape, true);
    if (!geometry.ok()) return KernelContext::Error(std::string(op) + ": " + geometry.status().message());
    Shape y_shape = {x.dim(0), x.dim(1)};
    y_shape.insert(y_shape.end(), geometry->out.begin(), geometry->out.end());
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), y_shape));
    int64_t* indices = nullptr;
    if (kind_ == PoolKind::kMax && ctx.wants_output(1)) {
      TS_ASSIGN_OR_RETURN(Tensor * ind, ctx.AllocateUninitializedOutput(1, DType::kInt64, y_shape));
      indices = ind->data<int64_t>();
    }
    if (y->element_count() == 0) return Status::Ok();
    if (dnnl_ && !indices && x.dtype() == DType::kFloat32 && x.element_count() > 0) {
      TS_ASSIGN_OR_RETURN(bool done, dnnl_->Run(*geometry, x.shape(), x.data<float>(), y->data<float>()));
      if (done) return Status::Ok();
    }
    // The window loops read NCHW only; the graph pass chose NHWC on the promise that oneDNN takes it.
    if (channels_last_)
      return KernelContext::Error("MaxPoolChannelsLast: oneDNN declined float32 NHWC pooling of X " +
                                  ShapeToString(x.shape()));
    const PoolProblem p = MakePoolProblem(*geometry, x.dim(0) * x.dim(1));
    return RunPool(kind_, op, p, x, *y, indices, column_major_, count_include_pad_, power_, ctx.pool());
  }

 private:
  PoolKind kind_;
  WindowAttributes attrs_;
  bool column_major_;
  bool count_include_pad_;
  double power_;
  bool channels_last_;  // com.tessera MaxPoolChannelsLast: NHWC bytes in and out (float32 only)
  std::unique_ptr<DnnlPool> dnnl_;  // float32 Max/Average without Indices
};

// com.tessera GlobalAveragePoolChannelsLast: x holds [N, H, W, C] bytes under its [N, C, H, W] shape.
// Rows of C channels are summed in order, which vectorizes over the channels.
void GlobalAveragePoolChannelsLast(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                                   ThreadPool& pool) {
  pool.ParallelFor(batch, 1, [&](int64_t b, int64_t e) {
    std::vector<float> sum(static_cast<size_t>(channels));
    for (int64_t n = b; n < e; ++n) {
      std::fill(sum.begin(), sum.end(), 0.0f);
      const float* image = x + n * spatial * channels;
      for (int64_t s = 0; s < spatial; ++s) {
        const float* pixel = image + s * channels;
        for (int64_t c = 0; c < channels; ++c) sum[static_cast<size_t>(c)] += pixel[c];
      }
      const float scale = 1.0f / static_cast<float>(spatial);
      for (int64_t c = 0; c < channels; ++c) y[n * channels + c] = sum[static_cast<size_t>(c)] * scale;
    }
  });
}

// com.tessera GlobalAveragePoolChannelsLast reading oneDNN's blocked nChw16c: x holds [N, C/16, H, W, 16]
// (C a multiple of 16); each block's 16 channels are summed together over the pixels.
void GlobalAveragePoolBlocked16(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                                ThreadPool& pool) {
  const int64_t blocks = channels / 16;
  pool.ParallelFor(batch * blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t nb = b; nb < e; ++nb) {
      const float* block = x + nb * spatial * 16;
      float sum[16] = {};
      for (int64_t s = 0; s < spatial; ++s)
        for (int k = 0; k < 16; ++k) sum[k] += block[s * 16 + k];
      const float scale = 1.0f / static_cast<float>(spatial);
      for (int k = 0; k < 16; ++k) y[nb * 16 + k] = sum[k] * scale;
    }
  });
}

// float32 GlobalAveragePool over NCHW planes: 16 running sums per plane, which vectorize without
// reassociation flags; the window loops' double accumulation took 4.0 ms per inference over DBNet's eight
// squeeze-excitation pools (0.7 ms in ONNX Runtime).
void GlobalAveragePoolPlanes(const float* x, float* y, int64_t planes, int64_t spatial, ThreadPool& pool) {
  const int64_t min_chunk = std::max<int64_t>(1, 16384 / spatial);
  pool.ParallelFor(planes, min_chunk, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const float* v = x + plane * spatial;
      float sum[16] = {};
      int64_t i = 0;
      for (; i + 16 <= spatial; i += 16)
        for (int k = 0; k < 16; ++k) sum[k] += v[i + k];
      for (int k = 0; i < spatial; ++i, ++k) sum[k] += v[i];
      float total = 0;
      for (float part : sum) total += part;
      y[plane] = total / static_cast<float>(spatial);
    }
  });
}

// Global pools: every spatial dim is reduced, so the spatial dims are flattened into one window.
class GlobalPoolKernel : public Kernel {
 public:
  GlobalPoolKernel(PoolKind kind, const Node& node)
      : kind_(kind),
        power_(ReadPower(node)),
        channels_last_(node.domain == "com.tessera" && node.op_type == "GlobalAveragePoolChannelsLast"),
        blocked_(channels_last_ && node.GetInt("channels_last_input", kNhwcLayout) == kBlockedLayout) {}

  Status Run(KernelContext& ctx) override {
    const char* op = PoolName(kind_, true);
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2)
      return KernelContext::Error(std::string(op) + " needs an input [N, C, spatial...], got X of shape " +
                                  ShapeToString(x.shape()));
    Shape y_shape(x.shape().size(), 1);
    y_shape[0] = x.dim(0);
    y_shape[1] = x.dim(1);
    const int64_t planes = x.dim(0) * x.dim(1);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), y_shape));
    if (planes == 0) return Status::Ok();
    const int64_t spatial = x.element_count() / planes;
    if (spatial == 0)
      return KernelContext::Error(std::string(op) + " cannot pool an empty spatial extent: X of shape " +
                                  ShapeToString(x.shape()));
    if (channels_last_) {
      if (x.dtype() != DType::kFloat32 || x.rank() != 4)
        return KernelContext::Error("GlobalAveragePoolChannelsLast needs a float32 image, got X of shape " +
                                    ShapeToString(x.shape()) + " (" + DTypeName(x.dtype()) + ")");
      if (blocked_ && x.dim(1) % 16 != 0)
        return KernelContext::Error("GlobalAveragePoolChannelsLast reads nChw16c, whose channels must be a multiple "
                                    "of 16, got X of shape " + ShapeToString(x.shape()));
      if (blocked_)
        GlobalAveragePoolBlocked16(x.data<float>(), y->data<float>(), x.dim(0), x.dim(1), spatial, ctx.pool());
      else
        GlobalAveragePoolChannelsLast(x.data<float>(), y->data<float>(), x.dim(0), x.dim(1), spatial, ctx.pool());
      return Status::Ok();
    }
    if (kind_ == PoolKind::kAverage && x.dtype() == DType::kFloat32) {
      GlobalAveragePoolPlanes(x.data<float>(), y->data<float>(), planes, spatial, ctx.pool());
      return Status::Ok();
    }
    WindowGeometry g;
    g.rank = 1;
    g.in = g.kernel = {spatial};
    g.stride = g.dilation = g.out = {1};
    g.pad_begin = g.pad_end = {0};
    return RunPool(kind_, op, MakePoolProblem(g, planes), x, *y, nullptr, false, false, power_, ctx.pool());
  }

 private:
  PoolKind kind_;
  double power_;
  bool channels_last_;  // com.tessera GlobalAveragePoolChannelsLast: NHWC bytes in (float32 only)
  bool blocked_;        // ... nChw16c bytes instead
};

KernelFactory WindowPoolFactory(PoolKind kind) {
  return [kind](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_RETURN_IF_ERROR(RequireInputs(init.node, 1));
    TS_ASSIGN_OR_RETURN(WindowAttributes attrs, ReadWindowAttributes(init.node));
    if (attrs.kernel_shape.empty())
      return InvalidArgument(std::string(PoolName(kind, false)) + " needs the attribute 'kernel_shape'");
    if (kind == PoolKind::kLp && ReadPower(init.node) <= 0)
      return InvalidArgument("LpPool attribute 'p' must be positive, got " + std::to_string(ReadPower(init.node)));
    return std::unique_ptr<Kernel>(std::make_unique<WindowPoolKernel>(kind, std::move(attrs), init.node));
  };
}

KernelFactory GlobalPoolFactory(PoolKind kind) {
  return [kind](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_RETURN_IF_ERROR(RequireInputs(init.node, 1));
    if (kind == PoolKind::kLp && ReadPower(init.node) <= 0)
      return InvalidArgument("GlobalLpPool attribute 'p' must be positive, got " +
                             std::to_string(ReadPower(init.node)));
    return std::unique_ptr<Kernel>(std::make_unique<GlobalPoolKernel>(kind, init.node));
  };
}

// Registers `factory` for each opset range [versions[i], versions[i+1]).
void RegisterVersions(KernelRegistry& registry, const char* op, std::initializer_list<int> versions,
                      const KernelFactory& factory) {
  std::vector<int> v(versions);
  for (size_t i = 0; i < v.size(); ++i) {
    registry.Register(op, v[i], i + 1 < v.size() ? v[i + 1] - 1 : kLatestOpset, factory);
  }
}

void RegisterChannelsLast(KernelRegistry& registry, const char* op, KernelFactory factory) {
  KernelDef def;
  def.op_type = op;
  def.domain = "com.tessera";
  def.since_opset = 1;
  def.dtypes = {DType::kFloat32};
  def.factory = std::move(factory);
  registry.Register(std::move(def));
}

}  // namespace

void RegisterPoolKernels(KernelRegistry& registry) {
  RegisterVersions(registry, "MaxPool", {1, 8, 10, 11, 12, 22}, WindowPoolFactory(PoolKind::kMax));
  RegisterVersions(registry, "AveragePool", {1, 7, 10, 11, 19, 22}, WindowPoolFactory(PoolKind::kAverage));
  RegisterVersions(registry, "LpPool", {1, 2, 11, 18, 22}, WindowPoolFactory(PoolKind::kLp));
  RegisterVersions(registry, "GlobalMaxPool", {1, 22}, GlobalPoolFactory(PoolKind::kMax));
  RegisterVersions(registry, "GlobalAveragePool", {1, 22}, GlobalPoolFactory(PoolKind::kAverage));
  RegisterVersions(registry, "GlobalLpPool", {1, 2, 22}, GlobalPoolFactory(PoolKind::kLp));
  RegisterVersions(registry, "MaxRoiPool", {1, 22}, MaxRoiPoolFactory());
  // The channels-last forms that graph/passes/conv_fusion.h ChooseConvLayouts makes (float32 only).
  RegisterChannelsLast(registry, "MaxPoolChannelsLast", WindowPoolFactory(PoolKind::kMax));
  RegisterChannelsLast(registry, "GlobalAveragePoolChannelsLast", GlobalPoolFactory(PoolKind::kAverage));
  RegisterVersions(registry, "MaxUnpool", {9, 11, 22}, MaxUnpoolFactory());
}

}  // namespace tessera
