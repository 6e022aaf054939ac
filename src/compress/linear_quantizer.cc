// 8-bit scale and zero-point choice and weight quantization (see linear_quantizer.h).
#include "compress/linear_quantizer.h"

#include <algorithm>
#include <cmath>

namespace tessera::compress {
namespace {

// For element i of a tensor of `dims`, its index along `axis`: (i / inner) % dims[axis].
struct AxisWalk {
  int64_t channels = 1, inner = 1;
  AxisWalk(const std::vector<int64_t>& dims, int64_t axis) {
    if (axis < 0) return;
    channels = dims[static_cast<size_t>(axis)];
    for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  }
  int64_t ChannelOf(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

int64_t ElementCount(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

}  // namespace

QuantParams ChooseQuantParams(float lo, float hi, bool is_signed, bool symmetric) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QuantParams p;
  if (symmetric) {
    const float amax = std::max(-lo, hi);
    p.scale = amax / (is_signed ? 127.0f : 255.0f / 2.0f);
    p.zero_point = is_signed ? 0 : 128;
  } else {
    const int qmin = is_signed ? -128 : 0, qmax = is_signed ? 127 : 255;
    p.scale = (hi - lo) / 255.0f;
    if (p.scale > 0.0f) {
      p.zero_point = std::clamp(static_cast<int32_t>(std::lround(qmin - lo / p.scale)), qmin, qmax);
    }
  }
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) p = QuantParams{1.0f, symmetric && !is_signed ? 128 : 0};
  return p;
}

Int8Weight QuantizeWeightInt8(const float* w, const std::vector<int64_t>& dims, int64_t axis, bool symmetric) {
  const AxisWalk walk(dims, axis);
  const int64_t count = ElementCount(dims);
  std::vector<float> lo(static_cast<size_t>(walk.channels), 0.0f), hi(static_cast<size_t>(walk.channels), 0.0f);
  for (int64_t i = 0; i < count; ++i) {
    const size_t c = static_cast<size_t>(walk.ChannelOf(i));
    lo[c] = std::min(lo[c], w[i]);
    hi[c] = std::max(hi[c], w[i]);
  }
  Int8Weight q;
  q.axis = axis;
  std::vector<QuantParams> params;
  for (int64_t c = 0; c < walk.channels; ++c) {
    params.push_back(ChooseQuantParams(lo[static_cast<size_t>(c)], hi[static_cast<size_t>(c)], true, symmetric));
    q.scales.push_back(params.back().scale);
    q.zero_points.push_back(static_cast<int8_t>(params.back().zero_point));
  }
  q.values.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const QuantParams& p = params[static_cast<size_t>(walk.ChannelOf(i))];
    const long code = std::lround(w[i] / p.scale) + p.zero_point;
    q.values[static_cast<size_t>(i)] = static_cast<int8_t>(std::clamp(code, -128L, 127L));
  }
  return q;
}

std::vector<float> DequantizeWeightInt8(const Int8Weight& q, const std::vector<int64_t>& dims) {
  const AxisWalk walk(dims, q.axis);
  std::vector<float> w(q.values.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t c = static_cast<size_t>(walk.ChannelOf(static_cast<int64_t>(i)));
    w[i] = static_cast<float>(q.values[i] - q.zero_points[c]) * q.scales[c];
  }
  return w;
}

}  // namespace tessera::compress
