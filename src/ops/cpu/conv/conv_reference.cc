// Reference Conv and ConvTranspose loops (see conv_reference.h).
#include "ops/cpu/conv/conv_reference.h"

#include <algorithm>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"

namespace tessera {

ConvProblem MakeConvProblem(const WindowGeometry& g, int64_t batch, int64_t in_channels, int64_t out_channels,
                            int64_t group) {
  ConvProblem p;
  p.batch = batch;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.group = group;
  const int64_t lead = 3 - g.rank;
  for (int64_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t j = static_cast<size_t>(i - lead);
    p.in[i] = real ? g.in[j] : 1;
    p.out[i] = real ? g.out[j] : 1;
    p.kernel[i] = real ? g.kernel[j] : 1;
    p.stride[i] = real ? g.stride[j] : 1;
    p.dilation[i] = real ? g.dilation[j] : 1;
    p.pad[i] = real ? g.pad_begin[j] : 0;
  }
  return p;
}

template <typename T>
void ConvReference(const ConvProblem& p, const T* x, const T* w, const T* bias, T* y, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  const int64_t cg = p.in_channels / p.group, mg = p.out_channels / p.group;
  const int64_t in_count = p.InCount(), out_count = p.OutCount(), k_count = p.KernelCount();
  pool.ParallelFor(p.batch * p.out_channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t nm = begin; nm < end; ++nm) {
      const int64_t n = nm / p.out_channels, m = nm % p.out_channels, g = m / mg;
      const double b = bias ? static_cast<double>(Traits::Load(bias[m])) : 0.0;
      T* yo = y + nm * out_count;
      for (int64_t od = 0; od < p.out[0]; ++od) {
        for (int64_t oh = 0; oh < p.out[1]; ++oh) {
          for (int64_t ow = 0; ow < p.out[2]; ++ow) {
            double acc = b;
            for (int64_t c = 0; c < cg; ++c) {
              const T* xc = x + (n * p.in_channels + g * cg + c) * in_count;
              const T* wc = w + (m * cg + c) * k_count;
              for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
                const int64_t id = od * p.stride[0] - p.pad[0] + kd * p.dilation[0];
                if (id < 0 || id >= p.in[0]) continue;
                for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
                  const int64_t ih = oh * p.stride[1] - p.pad[1] + kh * p.dilation[1];
                  if (ih < 0 || ih >= p.in[1]) continue;
                  for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
                    const int64_t iw = ow * p.stride[2] - p.pad[2] + kw * p.dilation[2];
                    if (iw < 0 || iw >= p.in[2]) continue;
                    acc += static_cast<double>(Traits::Load(xc[(id * p.in[1] + ih) * p.in[2] + iw])) *
                           static_cast<double>(Traits::Load(wc[(kd * p.kernel[1] + kh) * p.kernel[2] + kw]));
                  }
                }
              }
            }
            yo[(od * p.out[1] + oh) * p.out[2] + ow] = Traits::Store(static_cast<typename Traits::Compute>(acc));
          }
        }
      }
    }
  });
}

template <typename T>
void ConvTransposeReference(const ConvProblem& p, const T* x, const T* w, const T* bias, T* y, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  const int64_t cg = p.in_channels / p.group, mg = p.out_channels / p.group;
  const int64_t in_count = p.InCount(), out_count = p.OutCount(), k_count = p.KernelCount();
  // One task per output channel, so every task owns the positions it accumulates into.
  pool.ParallelFor(p.batch * p.out_channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(out_count));
    for (int64_t nm = begin; nm < end; ++nm) {
      const int64_t n = nm / p.out_channels, m = nm % p.out_channels, g = m / mg, mm = m % mg;
      std::fill(acc.begin(), acc.end(), bias ? static_cast<double>(Traits::Load(bias[m])) : 0.0);
      for (int64_t c = 0; c < cg; ++c) {
        const T* xc = x + (n * p.in_channels + g * cg + c) * in_count;
        const T* wc = w + ((g * cg + c) * mg + mm) * k_count;
        for (int64_t id = 0; id < p.in[0]; ++id) {
          for (int64_t ih = 0; ih < p.in[1]; ++ih) {
            for (int64_t iw = 0; iw < p.in[2]; ++iw) {
              const double xv = static_cast<double>(Traits::Load(xc[(id * p.in[1] + ih) * p.in[2] + iw]));
              for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
                const int64_t od = id * p.stride[0] - p.pad[0] + kd * p.dilation[0];
                if (od < 0 || od >= p.out[0]) continue;
                for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
                  const int64_t oh = ih * p.stride[1] - p.pad[1] + kh * p.dilation[1];
                  if (oh < 0 || oh >= p.out[1]) continue;
                  for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
                    const int64_t ow = iw * p.stride[2] - p.pad[2] + kw * p.dilation[2];
                    if (ow < 0 || ow >= p.out[2]) continue;
                    acc[static_cast<size_t>((od * p.out[1] + oh) * p.out[2] + ow)] +=
                        xv * static_cast<double>(Traits::Load(wc[(kd * p.kernel[1] + kh) * p.kernel[2] + kw]));
                  }
                }
              }
            }
          }
        }
      }
      T* yo = y + nm * out_count;
      for (int64_t i = 0; i < out_count; ++i) {
        yo[i] = Traits::Store(static_cast<typename Traits::Compute>(acc[static_cast<size_t>(i)]));
      }
    }
  });
}

template void ConvReference<float>(const ConvProblem&, const float*, const float*, const float*, float*, ThreadPool&);
template void ConvReference<double>(const ConvProblem&, const double*, const double*, const double*, double*,
                                    ThreadPool&);
template void ConvReference<Float16>(const ConvProblem&, const Float16*, const Float16*, const Float16*, Float16*,
                                     ThreadPool&);
template void ConvTransposeReference<float>(const ConvProblem&, const float*, const float*, const float*, float*,
                                            ThreadPool&);
template void ConvTransposeReference<double>(const ConvProblem&, const double*, const double*, const double*, double*,
                                             ThreadPool&);
template void ConvTransposeReference<Float16>(const ConvProblem&, const Float16*, const Float16*, const Float16*,
                                              Float16*, ThreadPool&);

}  // namespace tessera
