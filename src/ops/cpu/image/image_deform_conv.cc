// DeformConv (opsets 19 and 22), 2-D: a convolution whose kernel taps are moved by learned offsets.
// X [N, C, H, W], W [oC, C / group, kH, kW], offset [N, offset_group * 2 * kH * kW, oH, oW] (for each tap
// a (dy, dx) pair), optional B [oC] and mask [N, offset_group * kH * kW, oH, oW] (a weight per tap,
// default 1). Tap (i, j) of output (y, x) reads channel c at
//   (y * stride_h - pad_top + i * dilation_h + dy, x * stride_w - pad_left + j * dilation_w + dx)
// bilinearly, zero beyond the image (a corner outside counts as zero; a point at or beyond one pixel
// outside gives zero), with the offsets of c's offset group. The sum runs in double per output element.
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/image/image_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

double Bilinear(const float* plane, int64_t height, int64_t width, double h, double w) {
  if (h <= -1 || h >= static_cast<double>(height) || w <= -1 || w >= static_cast<double>(width)) return 0.0;
  const double hf = std::floor(h), wf = std::floor(w);
  const int64_t h0 = static_cast<int64_t>(hf), w0 = static_cast<int64_t>(wf), h1 = h0 + 1, w1 = w0 + 1;
  const double lh = h - hf, lw = w - wf;
  auto at = [&](int64_t y, int64_t x) {
    return y >= 0 && y < height && x >= 0 && x < width ? static_cast<double>(plane[y * width + x]) : 0.0;
  };
  return (1 - lh) * (1 - lw) * at(h0, w0) + (1 - lh) * lw * at(h0, w1) + lh * (1 - lw) * at(h1, w0) +
         lh * lw * at(h1, w1);
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
    if (x.rank() != 4 || w.rank() != 4) {
      return KernelContext::Error("only 2-D DeformConv is supported: 'X' and 'W' must have rank 4, got " +
                                  ShapeToString(x.shape()) + " and " + ShapeToString(w.shape()));
    }
    const int64_t n = x.dim(0), c = x.dim(1), height = x.dim(2), width = x.dim(3);
    const int64_t oc = w.dim(0), kh = w.dim(2), kw = w.dim(3);
    if (!kernel_shape_.empty() && (kernel_shape_.size() != 2 || kernel_shape_[0] != kh || kernel_shape_[1] != kw)) {
      return KernelContext::Error("attribute 'kernel_shape' does not match 'W' " + ShapeToString(w.shape()));
    }
    if (group_ <= 0 || offset_group_ <= 0 || c % group_ != 0 || oc % group_ != 0 || c % offset_group_ != 0 ||
        w.dim(1) != c / group_) {
      return KernelContext::Error("'X' has " + std::to_string(c) + " channels and 'W' " + ShapeToString(w.shape()) +
                                  ", which group " + std::to_string(group_) + " and offset_group " +
                                  std::to_string(offset_group_) + " do not divide evenly");
    }
    const std::vector<int64_t> dil = dilations_.empty() ? std::vector<int64_t>{1, 1} : dilations_;
    const std::vector<int64_t> str = strides_.empty() ? std::vector<int64_t>{1, 1} : strides_;
    const std::vector<int64_t> pad = pads_.empty() ? std::vector<int64_t>{0, 0, 0, 0} : pads_;
    if (dil.size() != 2 || str.size() != 2 || pad.size() != 4 || dil[0] <= 0 || dil[1] <= 0 || str[0] <= 0 ||
        str[1] <= 0) {
      return KernelContext::Error("attributes 'dilations' and 'strides' must hold 2 positive values, 'pads' 4");
    }
    const int64_t oh = (height + pad[0] + pad[2] - (dil[0] * (kh - 1) + 1)) / str[0] + 1;
    const int64_t ow = (width + pad[1] + pad[3] - (dil[1] * (kw - 1) + 1)) / str[1] + 1;
    if (oh <= 0 || ow <= 0) return KernelContext::Error("the kernel does not fit in the padded input");
    const int64_t taps = kh * kw;
    const Shape offset_shape = {n, offset_group_ * 2 * taps, oh, ow};
    if (off.shape() != offset_shape) {
      return KernelContext::Error("input 'offset' must have shape " + ShapeToString(offset_shape) + ", got " +
                                  ShapeToString(off.shape()));
    }
    const bool has_bias = ctx.has_input(3), has_mask = ctx.has_input(4);
    if (has_bias && ctx.input(3).element_count() != oc) {
      return KernelContext::Error("input 'B' must have " + std::to_string(oc) + " values");
    }
    const Shape mask_shape = {n, offset_group_ * taps, oh, ow};
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
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), {n, oc, oh, ow}));
    const int64_t in_per_group = c / group_, out_per_group = oc / group_, per_offset_group = c / offset_group_;
    const int64_t plane = oh * ow;
    // Sampled values of one image: cols[(c * taps + tap) * plane + position].
    std::vector<double> cols(static_cast<size_t>(c * taps * plane));
    std::vector<double> out(static_cast<size_t>(oc * plane));
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t g = ch / per_offset_group;
        const float* image = xs.data() + (b * c + ch) * height * width;
        for (int64_t i = 0; i < kh; ++i) {
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t tap = i * kw + j;
            const float* dy = os.data() + ((b * offset_group_ + g) * 2 * taps + 2 * tap) * plane;
            const float* dx = dy + plane;
            const float* m = has_mask ? ms.data() + ((b * offset_group_ + g) * taps + tap) * plane : nullptr;
            double* col = cols.data() + (ch * taps + tap) * plane;
            for (int64_t p = 0; p < plane; ++p) {
              const int64_t py = p / ow, px = p % ow;
              const double h = static_cast<double>(py * str[0] - pad[0] + i * dil[0]) + dy[p];
              const double wv = static_cast<double>(px * str[1] - pad[1] + j * dil[1]) + dx[p];
              col[p] = Bilinear(image, height, width, h, wv) * (m ? m[p] : 1.0f);
            }
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
