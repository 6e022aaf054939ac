// AffineGrid (opset 20): the sampling grid of an affine transform, for GridSample. theta [N, 2, 3] (2-D)
// or [N, 3, 4] (3-D) maps each output position's normalised coordinates (x, y[, z]) in [-1, 1] to the
// grid value theta[n] * (x, y[, z], 1); `size` is the output image's [N, C, H, W] or [N, C, D, H, W], and
// the grid is [N, H, W, 2] or [N, D, H, W, 3] with x (the width axis) first. With align_corners the
// extreme positions sit on -1 and 1; without it, on the centres of the edge pixels.
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/image/image_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Normalised coordinate of position i of n along one axis.
double BaseCoordinate(int64_t i, int64_t n, bool align_corners) {
  if (align_corners) return n == 1 ? -1.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1);
  return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(n) - 1.0;
}

class AffineGridKernel : public Kernel {
 public:
  explicit AffineGridKernel(const Node& node) : align_corners_(node.GetInt("align_corners", 0) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& theta = ctx.input(0);
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> size, ReadInt64Values(ctx.input(1), "input 'size'"));
    if (size.size() != 4 && size.size() != 5) {
      return KernelContext::Error("input 'size' must hold 4 ([N, C, H, W]) or 5 ([N, C, D, H, W]) values, got " +
                                  std::to_string(size.size()));
    }
    const int64_t dims = static_cast<int64_t>(size.size()) - 2;  // spatial dims: 2 or 3
    const int64_t n = size[0];
    if (theta.rank() != 3 || theta.dim(0) != n || theta.dim(1) != dims || theta.dim(2) != dims + 1) {
      return KernelContext::Error("input 'theta' must have shape [" + std::to_string(n) + ", " + std::to_string(dims) +
                                  ", " + std::to_string(dims + 1) + "] for 'size' of " + std::to_string(size.size()) +
                                  " values, got " + ShapeToString(theta.shape()));
    }
    Shape out_shape = {n};
    for (int64_t d = 2; d < static_cast<int64_t>(size.size()); ++d) {
      if (size[static_cast<size_t>(d)] < 0) return KernelContext::Error("input 'size' has a negative value");
      out_shape.push_back(size[static_cast<size_t>(d)]);
    }
    out_shape.push_back(dims);
    TS_ASSIGN_OR_RETURN(Tensor * grid, ctx.AllocateUninitializedOutput(0, theta.dtype(), out_shape));
    const int64_t depth = dims == 3 ? size[2] : 1, height = size[size.size() - 2], width = size[size.size() - 1];
    return DispatchFloatWithHalf(
        theta.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* th = theta.data<T>();
          T* out = grid->data<T>();
          const int64_t per_batch = dims * (dims + 1);
          int64_t k = 0;
          for (int64_t b = 0; b < n; ++b) {
            std::vector<double> m(static_cast<size_t>(per_batch));
            for (int64_t i = 0; i < per_batch; ++i) m[static_cast<size_t>(i)] = Traits::Load(th[b * per_batch + i]);
            for (int64_t z = 0; z < depth; ++z) {
              const double zc = dims == 3 ? BaseCoordinate(z, depth, align_corners_) : 0.0;
              for (int64_t y = 0; y < height; ++y) {
                const double yc = BaseCoordinate(y, height, align_corners_);
                for (int64_t x = 0; x < width; ++x) {
                  const double xc = BaseCoordinate(x, width, align_corners_);
                  const double base[4] = {xc, yc, dims == 3 ? zc : 1.0, 1.0};
                  for (int64_t r = 0; r < dims; ++r) {
                    double v = 0;
                    for (int64_t c = 0; c <= dims; ++c) v += m[static_cast<size_t>(r * (dims + 1) + c)] * base[c];
                    out[k++] = Traits::Store(static_cast<C>(v));
                  }
                }
              }
            }
          }
          return Status::Ok();
        },
        "AffineGrid");
  }

 private:
  bool align_corners_;
};

}  // namespace

void RegisterAffineGridKernels(KernelRegistry& registry) {
  registry.Register("AffineGrid", 20, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<AffineGridKernel>(init.node));
  });
}

}  // namespace tessera
