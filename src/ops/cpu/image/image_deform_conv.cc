// DeformConv (opsets 19 and 22) over any number r >= 1 of spatial dims: a convolution whose kernel taps are
// moved by learned offsets. X [N, C, D1..Dr], W [oC, C / group, k1..kr], offset [N, offset_group * r * taps,
// O1..Or] (for each tap, r displacements, outer dim first: (dy, dx) in 2-D), optional B [oC] and mask
// [N, offset_group * taps, O1..Or] (a weight per tap, default 1). Tap t of output position o reads channel c
// at o * stride - pad_begin + t * dilation + offset, per dim, r-linearly, zero beyond the image (a corner
// outside counts as zero; a point at or beyond one pixel outside gives zero), with the offsets of c's
// offset group. The sum runs in double per output element.
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/image/image_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

int64_t Product(const std::vector<int64_t>& v, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= v[i];
  return p;
}

// The r-linear sample of `image` (dims `size`, row-major) at `at`; 0 at or beyond one pixel outside.
double Interpolate(const float* image, const std::vector<int64_t>& size, const double* at) {
  const size_t r = size.size();
  int64_t low[3];
  double frac[3];
  for (size_t d = 0; d < r; ++d) {
    if (at[d] <= -1 || at[d] >= static_cast<double>(size[d])) return 0.0;
    const double f = std::floor(at[d]);
    low[d] = static_cast<int64_t>(f);
    frac[d] = at[d] - f;
  }
  double sum = 0;
  for (unsigned corner = 0; corner < (1u << r); ++corner) {
    double weight = 1;
    int64_t index = 0;
    bool inside = true;
    for (size_t d = 0; d < r; ++d) {
      const bool high = (corner >> (r - 1 - d)) & 1;
      const int64_t i = low[d] + (high ? 1 : 0);
      weight *= high ? frac[d] : 1 - frac[d];
      inside = inside && i >= 0 && i < size[d];
      index = index * size[d] + i;
    }
    if (inside && weight != 0) sum += weight * image[index];
  }
  return sum;
}

// A tensor's values as float (the op takes float16, float, double, bfloat16).
StatusOr<std::vector<float>> Floats(const Tensor& t, const char* what) {
  std::vector<float> out(static_cast<size_t>(t.element_count()));
  Status s = DispatchFloatWithHalf(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(NumericTraits<T>::Load(t.data<T>()[i]));
        return Status::Ok();
      },
      what);
  if (!s.ok()) return s;
  return out;
}

class DeformConvKernel : public Kernel {
 public:
  explicit DeformConvKernel(const Node& node)
      : dilations_(node.GetInts("dilations")),
        pads_(node.GetInts("pads")),
        strides_(node.GetInts("strides")),
        kernel_shape_(node.GetInts("kernel_shape")),
        group_(node.GetInt("group", 1)),
        offset_group_(node.GetInt("offset_group", 1)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor& off = ctx.input(2);
    if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank()) {
      return KernelContext::Error("'X' and 'W' must have the same rank, 3 to 5 (1 to 3 spatial dims), got " +
                                  ShapeToString(x.shape()) + " and " + ShapeToString(w.shape()));
    }
    const size_t r = x.rank() - 2;
    const int64_t n = x.dim(0), c = x.dim(1), oc = w.dim(0);
    const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    const std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    if (!kernel_shape_.empty() && kernel_shape_ != kernel) {
      return KernelContext::Error("attribute 'kernel_shape' does not match 'W' " + ShapeToString(w.shape()));
    }
    if (group_ <= 0 || offset_group_ <= 0 || c % group_ != 0 || oc % group_ != 0 || c % offset_group_ != 0 ||
        w.dim(1) != c / group_) {
      return KernelContext::Error("'X' has " + std::to_string(c) + " channels and 'W' " + ShapeToString(w.shape()) +
                                  ", which group " + std::to_string(group_) + " and offset_group " +
                                  std::to_string(offset_group_) + " do not divide evenly");
    }
    const std::vector<int64_t> dil = dilations_.empty() ? std::vector<int64_t>(r, 1) : dilations_;
    const std::vector<int64_t> str = strides_.empty() ? std::vector<int64_t>(r, 1) : strides_;
    const std::vector<int64_t> pad = pads_.empty() ? std::vector<int64_t>(2 * r, 0) : pads_;
    bool positive = dil.size() == r && str.size() == r && pad.size() == 2 * r;
    for (size_t d = 0; positive && d < r; ++d) positive = dil[d] > 0 && str[d] > 0;
    if (!positive) {
      return KernelContext::Error("attributes 'dilations' and 'strides' must hold " + std::to_string(r) +
                                  " positive values, 'pads' " + std::to_string(2 * r));
    }
    std::vector<int64_t> out_dims(r);
    for (size_t d = 0; d < r; ++d) {
      out_dims[d] = (in[d] + pad[d] + pad[r + d] - (dil[d] * (kernel[d] - 1) + 1)) / str[d] + 1;
      if (out_dims[d] <= 0) return KernelContext::Error("the kernel does not fit in the padded input");
    }
    const int64_t taps = Product(kernel), plane = Product(out_dims), image_size = Product(in);
    const int64_t dims = static_cast<int64_t>(r);
    Shape offset_shape = {n, offset_group_ * dims * taps}, mask_shape = {n, offset_group_ * taps};
    offset_shape.insert(offset_shape.end(), out_dims.begin(), out_dims.end());
    mask_shape.insert(mask_shape.end(), out_dims.begin(), out_dims.end());
    if (off.shape() != offset_shape) {
      return KernelContext::Error("input 'offset' must have shape " + ShapeToString(offset_shape) + ", got " +
                                  ShapeToString(off.shape()));
    }
    const bool has_bias = ctx.has_input(3), has_mask = ctx.has_input(4);
    if (has_bias && ctx.input(3).element_count() != oc) {
      return KernelContext::Error("input 'B' must have " + std::to_string(oc) + " values");
    }
    if (has_mask && ctx.input(4).shape() != mask_shape) {
      return KernelContext::Error("input 'mask' must have shape " + ShapeToString(mask_shape) + ", got " +
                                  ShapeToString(ctx.input(4).shape()));
    }
    TS_ASSIGN_OR_RETURN(auto xs, Floats(x, "input 'X'"));
    TS_ASSIGN_OR_RETURN(auto ws, Floats(w, "input 'W'"));
    TS_ASSIGN_OR_RETURN(auto os, Floats(off, "input 'offset'"));
    std::vector<float> bs, ms;
    if (has_bias) {
      TS_ASSIGN_OR_RETURN(bs, Floats(ctx.input(3), "input 'B'"));
    }
    if (has_mask) {
      TS_ASSIGN_OR_RETURN(ms, Floats(ctx.input(4), "input 'mask'"));
    }
    Shape y_shape = {n, oc};
    y_shape.insert(y_shape.end(), out_dims.begin(), out_dims.end());
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), y_shape));
    // Where each tap and each output position start, per dim: tap_at[t * r + d] = t_d * dilation_d,
    // position_at[p * r + d] = p_d * stride_d - pad_begin_d.
    std::vector<double> tap_at(static_cast<size_t>(taps * dims)), position_at(static_cast<size_t>(plane * dims));
    for (int64_t t = 0; t < taps; ++t) {
      for (int64_t d = dims - 1, rest = t; d >= 0; rest /= kernel[d], --d) {
        tap_at[t * dims + d] = static_cast<double>(rest % kernel[d] * dil[d]);
      }
    }
    for (int64_t p = 0; p < plane; ++p) {
      for (int64_t d = dims - 1, rest = p; d >= 0; rest /= out_dims[d], --d) {
        position_at[p * dims + d] = static_cast<double>(rest % out_dims[d] * str[d] - pad[d]);
      }
    }
    const int64_t in_per_group = c / group_, out_per_group = oc / group_, per_offset_group = c / offset_group_;
    // Sampled values of one image: cols[(c * taps + tap) * plane + position].
    std::vector<double> cols(static_cast<size_t>(c * taps * plane));
    std::vector<double> out(static_cast<size_t>(oc * plane));
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t g = ch / per_offset_group;
        const float* image = xs.data() + (b * c + ch) * image_size;
        for (int64_t tap = 0; tap < taps; ++tap) {
          const float* shift = os.data() + ((b * offset_group_ + g) * dims * taps + dims * tap) * plane;
          const float* m = has_mask ? ms.data() + ((b * offset_group_ + g) * taps + tap) * plane : nullptr;
          double* col = cols.data() + (ch * taps + tap) * plane;
          double at[3];
          for (int64_t p = 0; p < plane; ++p) {
            for (int64_t d = 0; d < dims; ++d) {
              at[d] = position_at[p * dims + d] + tap_at[tap * dims + d] + shift[d * plane + p];
            }
            col[p] = Interpolate(image, in, at) * (m ? m[p] : 1.0f);
          }
        }
      }
      std::fill(out.begin(), out.end(), 0.0);
      ctx.pool().ParallelFor(oc, 1, [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          const int64_t g = o / out_per_group;
          double* dst = out.data() + o * plane;
          for (int64_t ci = 0; ci < in_per_group; ++ci) {
            const int64_t ch = g * in_per_group + ci;
            for (int64_t tap = 0; tap < taps; ++tap) {
              const double weight = ws[static_cast<size_t>((o * in_per_group + ci) * taps + tap)];
              const double* col = cols.data() + (ch * taps + tap) * plane;
              for (int64_t p = 0; p < plane; ++p) dst[p] += weight * col[p];
            }
          }
          if (has_bias) {
            for (int64_t p = 0; p < plane; ++p) dst[p] += bs[static_cast<size_t>(o)];
          }
        }
      });
      TS_RETURN_IF_ERROR(DispatchFloatWithHalf(
          x.dtype(),
          [&](auto tag) {
            using T = decltype(tag);
            using C = typename NumericTraits<T>::Compute;
            T* dst = y->data<T>() + b * oc * plane;
            for (size_t k = 0; k < out.size(); ++k) dst[k] = NumericTraits<T>::Store(static_cast<C>(out[k]));
            return Status::Ok();
          },
          "DeformConv"));
    }
    return Status::Ok();
  }

 private:
  std::vector<int64_t> dilations_, pads_, strides_, kernel_shape_;
  int64_t group_, offset_group_;
};

}  // namespace

void RegisterDeformConvKernels(KernelRegistry& registry) {
  registry.Register("DeformConv", 19, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<DeformConvKernel>(init.node));
  });
}

}  // namespace tessera
