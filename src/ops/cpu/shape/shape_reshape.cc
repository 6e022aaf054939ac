// Reshape, Flatten, Squeeze and Unsqueeze: ops that only relabel dims. The output aliases the input's
// buffer (KernelContext::SetOutput), so they cost no copy.
//
// Opset forms: Reshape reads `shape` from an attribute before opset 5 and from input 1 after, with
// `allowzero` from 14; Squeeze/Unsqueeze read `axes` from an attribute before opset 13 and from an
// (optional, for Squeeze) input after.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// The requested shape with 0 (copy the input dim, unless allowzero) and -1 (infer) resolved.
StatusOr<Shape> ResolveReshape(const Shape& in, const std::vector<int64_t>& requested, bool allow_zero) {
  const std::string what = "cannot reshape input of shape " + ShapeToString(in) + " to " + ShapeToString(requested);
  Shape out(requested.size());
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < requested.size(); ++i) {
    int64_t d = requested[i];
    if (d == -1) {
      if (infer_at >= 0) return KernelContext::Error(what + ": more than one -1");
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (d == 0 && !allow_zero) {
      if (i >= in.size())
        return KernelContext::Error(what + ": 0 at index " + std::to_string(i) + " has no input dim to copy");
      d = in[i];
    }
    if (d < 0) return KernelContext::Error(what + ": invalid dim " + std::to_string(d));
    out[i] = d;
    known *= d;
  }
  const int64_t count = ShapeElementCount(in);
  if (infer_at >= 0) {
    if (known == 0 || count % known != 0) {
      return KernelContext::Error(what + ": " + std::to_string(count) + " elements cannot fill the -1 dim");
    }
    out[static_cast<size_t>(infer_at)] = count / known;
  } else if (ShapeElementCount(out) != count) {
    return KernelContext::Error(what + ": " + std::to_string(count) + " elements do not fit " +
                                std::to_string(ShapeElementCount(out)));
  }
  return out;
}

Status RunReshape(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> requested;
  if (ctx.opset() < 5) {
    requested = ctx.node().GetInts("shape");
  } else {
    if (!ctx.has_input(1)) return KernelContext::Error("input 'shape' is missing");
    TS_ASSIGN_OR_RETURN(requested, ReadInt64Values(ctx.input(1), "input 'shape'"));
  }
  const bool allow_zero = ctx.opset() >= 14 && ctx.node().GetInt("allowzero", 0) != 0;
  TS_ASSIGN_OR_RETURN(Shape shape, ResolveReshape(x.shape(), requested, allow_zero));
  ctx.SetOutput(0, x.Reshaped(std::move(shape)));
  return Status::Ok();
}

Status RunFlatten(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t axis = ctx.node().GetInt("axis", 1);
  if (axis < -x.rank() || axis > x.rank()) {
    return KernelContext::Error("attribute 'axis' " + std::to_string(axis) + " is out of range for input of shape " +
                                ShapeToString(x.shape()));
  }
  if (axis < 0) axis += x.rank();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? outer : inner) *= x.dim(d);
  ctx.SetOutput(0, x.Reshaped({outer, inner}));
  return Status::Ok();
}

// Axes of Squeeze/Unsqueeze: the attribute before opset 13, the optional input 1 after.
StatusOr<std::vector<int64_t>> ReadAxes(KernelContext& ctx, bool* given) {
  if (ctx.opset() < 13) {
    *given = ctx.node().HasAttribute("axes");
    return ctx.node().GetInts("axes");
  }
  *given = ctx.has_input(1);
  if (!*given) return std::vector<int64_t>{};
  return ReadInt64Values(ctx.input(1), "input 'axes'");
}

Status RunSqueeze(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool given = false;
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReadAxes(ctx, &given));
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  // Empty axes squeeze every dim of 1, as when they are absent (ONNX Runtime reads them the same way).
  if (!given || axes.empty()) {
    for (int64_t d = 0; d < x.rank(); ++d) drop[static_cast<size_t>(d)] = x.dim(d) == 1;
  }
  for (int64_t a : axes) {
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(a, x.rank(), "squeeze axis"));
    if (x.dim(axis) != 1) {
      return KernelContext::Error("cannot squeeze axis " + std::to_string(a) + " of input of shape " +
                                  ShapeToString(x.shape()) + ": its size is not 1");
    }
    drop[static_cast<size_t>(axis)] = true;
  }
  Shape shape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (!drop[static_cast<size_t>(d)]) shape.push_back(x.dim(d));
  }
  ctx.SetOutput(0, x.Reshaped(std::move(shape)));
  return Status::Ok();
}

Status RunUnsqueeze(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool given = false;
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReadAxes(ctx, &given));
  if (!given) return KernelContext::Error("axes are required");
  const int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(a, rank, "unsqueeze axis"));
    if (inserted[static_cast<size_t>(axis)]) {
      return KernelContext::Error("unsqueeze axis " + std::to_string(a) + " is repeated");
    }
    inserted[static_cast<size_t>(axis)] = true;
  }
  Shape shape;
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d) shape.push_back(inserted[static_cast<size_t>(d)] ? 1 : x.dim(next++));
  ctx.SetOutput(0, x.Reshaped(std::move(shape)));
  return Status::Ok();
}

}  // namespace

void RegisterReshapeKernels(KernelRegistry& registry) {
  registry.Register("Reshape", 1, kLatestOpset, MakeFunctionKernel(RunReshape));
  registry.Register("Flatten", 1, kLatestOpset, MakeFunctionKernel(RunFlatten));
  registry.Register("Squeeze", 1, kLatestOpset, MakeFunctionKernel(RunSqueeze));
  registry.Register("Unsqueeze", 1, kLatestOpset, MakeFunctionKernel(RunUnsqueeze));
}

}  // namespace tessera
