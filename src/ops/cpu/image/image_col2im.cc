// Col2Im (opset 18): the inverse of im2col. input [N, C * prod(block_shape), L] holds, for each of the L
// sliding-window positions (row-major over the output grid), one column of C blocks; every column value
// is added into the image at the position its block offset, the window's stride, dilation and padding
// give. image_shape and block_shape are 1-D int64 inputs of one value per spatial dim; pads is
// [begin..., end...]. Positions that land in the padding are dropped.
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/image/image_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class Col2ImKernel : public Kernel {
 public:
  explicit Col2ImKernel(const Node& node)
      : dilations_(node.GetInts("dilations")), pads_(node.GetInts("pads")), strides_(node.GetInts("strides")) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> image, ReadInt64Values(ctx.input(1), "input 'image_shape'"));
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> block, ReadInt64Values(ctx.input(2), "input 'block_shape'"));
    const size_t dims = image.size();
    if (dims == 0 || block.size() != dims) {
      return KernelContext::Error("inputs 'image_shape' and 'block_shape' must hold the same number (> 0) of values, "
                                  "got " + std::to_string(image.size()) + " and " + std::to_string(block.size()));
    }
    std::vector<int64_t> dilations = dilations_.empty() ? std::vector<int64_t>(dims, 1) : dilations_;
    std::vector<int64_t> strides = strides_.empty() ? std::vector<int64_t>(dims, 1) : strides_;
    std::vector<int64_t> pads = pads_.empty() ? std::vector<int64_t>(2 * dims, 0) : pads_;
    if (dilations.size() != dims || strides.size() != dims || pads.size() != 2 * dims) {
      return KernelContext::Error("attributes 'dilations', 'strides' and 'pads' must hold " + std::to_string(dims) +
                                  ", " + std::to_string(dims) + " and " + std::to_string(2 * dims) + " values");
    }
    int64_t block_size = 1, positions = 1;
    std::vector<int64_t> grid(dims);
    for (size_t d = 0; d < dims; ++d) {
      if (image[d] <= 0 || block[d] <= 0 || dilations[d] <= 0 || strides[d] <= 0 || pads[d] < 0 || pads[dims + d] < 0) {
        return KernelContext::Error("image_shape, block_shape, dilations and strides must be positive and pads "
                                    "non-negative");
      }
      const int64_t span = dilations[d] * (block[d] - 1) + 1;
      const int64_t padded = image[d] + pads[d] + pads[dims + d];
      if (padded < span) {
        return KernelContext::Error("the block does not fit in the padded image on dim " + std::to_string(d));
      }
      grid[d] = (padded - span) / strides[d] + 1;
      block_size *= block[d];
      positions *= grid[d];
    }
    if (x.rank() != 3 || x.dim(1) % block_size != 0 || x.dim(2) != positions) {
      return KernelContext::Error("input 'input' must have shape [N, C * " + std::to_string(block_size) + ", " +
                                  std::to_string(positions) + "], got " + ShapeToString(x.shape()));
    }
    const int64_t n = x.dim(0), channels = x.dim(1) / block_size;
    Shape out_shape = {n, channels};
    int64_t image_size = 1;
    for (int64_t v : image) {
      out_shape.push_back(v);
      image_size *= v;
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out_shape));
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* src = x.data<T>();
          T* dst = y->data<T>();
          std::vector<double> acc(static_cast<size_t>(image_size));
          std::vector<int64_t> offset(dims), pos(dims);
          for (int64_t plane = 0; plane < n * channels; ++plane) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t k = 0; k < block_size; ++k) {
              int64_t rest = k;
              for (size_t d = dims; d-- > 0;) {
                offset[d] = rest % block[d];
                rest /= block[d];
              }
              const T* column = src + (plane * block_size + k) * positions;
              for (int64_t l = 0; l < positions; ++l) {
                int64_t r = l, flat = 0;
                bool inside = true;
                for (size_t d = dims; d-- > 0;) {
                  pos[d] = r % grid[d];
                  r /= grid[d];
                }
                for (size_t d = 0; d < dims && inside; ++d) {
                  const int64_t at = pos[d] * strides[d] + offset[d] * dilations[d] - pads[d];
                  inside = at >= 0 && at < image[d];
                  flat = flat * image[d] + at;
                }
                if (inside) acc[static_cast<size_t>(flat)] += static_cast<double>(Traits::Load(column[l]));
              }
            }
            for (int64_t i = 0; i < image_size; ++i) {
              dst[plane * image_size + i] = Traits::Store(static_cast<C>(acc[static_cast<size_t>(i)]));
            }
          }
          return Status::Ok();
        },
        "Col2Im");
  }

 private:
  std::vector<int64_t> dilations_, pads_, strides_;
};

}  // namespace

void RegisterCol2ImKernels(KernelRegistry& registry) {
  registry.Register("Col2Im", 18, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<Col2ImKernel>(init.node));
  });
}

}  // namespace tessera
