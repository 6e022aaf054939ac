// Plain convolution loops: the oracle the oneDNN paths are tested against, and the path for float64,
// float16 and whatever oneDNN rejects. Accumulates in double.
//
// Problems are put in a canonical 3-D form (1-D and 2-D convolutions get leading spatial dims of size 1)
// so one loop nest serves every rank.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "ops/cpu/common/window_geometry.h"

namespace tessera {

struct ConvProblem {
  int64_t batch = 1, in_channels = 1, out_channels = 1, group = 1;
  // Spatial dims, padded to 3 with leading entries of size 1 (stride 1, no pad).
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];

  int64_t InCount() const { return in[0] * in[1] * in[2]; }
  int64_t OutCount() const { return out[0] * out[1] * out[2]; }
  int64_t KernelCount() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// Requires g.rank <= 3.
ConvProblem MakeConvProblem(const WindowGeometry& g, int64_t batch, int64_t in_channels, int64_t out_channels,
                            int64_t group);

// y[N, M, out] = conv(x[N, C, in], w[M, C/group, kernel]) + bias[M] (bias may be null). T is float,
// double or Float16.
template <typename T>
void ConvReference(const ConvProblem& p, const T* x, const T* w, const T* bias, T* y, ThreadPool& pool);

// y[N, M, out] = conv_transpose(x[N, C, in], w[C, M/group, kernel]) + bias[M]: every input element is
// scattered into the output positions in*stride - pad + k*dilation that fall inside `out`.
template <typename T>
void ConvTransposeReference(const ConvProblem& p, const T* x, const T* w, const T* bias, T* y, ThreadPool& pool);

}  // namespace tessera
