// Resize planning: attributes, output shape and the per-axis interpolation taps, following the ONNX
// reference implementation's neighbour selection (ties prefer the left sample) and coefficients.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/dispatch.h"
#include "ops/kernel.h"
#include "ops/registry.h"

namespace tessera {

struct ResizeAttributes {
  enum class Mode { kNearest, kLinear, kCubic };
  Mode mode = Mode::kNearest;
  std::string transform = "half_pixel";  // coordinate_transformation_mode
  std::string nearest_mode = "round_prefer_floor";
  float cubic_coeff_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation_value = 0.0f;
  bool antialias = false;                  // opset 18: widen linear/cubic filters when downscaling
  std::vector<int64_t> axes;               // opset 18: the axes scales/sizes/roi name (empty: every axis)
  std::string keep_aspect_ratio_policy = "stretch";  // opset 18, with sizes
  bool is_upsample = false;
  int opset = 13;
};

// Source samples and weights that make one output sample along one axis.
struct OutputTaps {
  std::vector<int64_t> index;
  std::vector<float> weight;
  bool extrapolate = false;  // tf_crop_and_resize outside the input: the extrapolation value
};
using AxisTaps = std::vector<OutputTaps>;

struct ResizePlan {
  Shape output_shape;
  std::vector<bool> identity;  // axis left as is
  std::vector<AxisTaps> taps;  // per axis (empty for identity axes)
};

// com.tessera ResizeChannelsLast (resize_channels_last.cc); RegisterResizeKernels calls it.
void RegisterResizeChannelsLastKernels(KernelRegistry& registry);

StatusOr<ResizeAttributes> ParseResizeAttributes(const Node& node, bool is_upsample);
// Reads scales/sizes/roi from the node's inputs and builds the taps.
StatusOr<ResizePlan> PlanResize(KernelContext& ctx, const ResizeAttributes& attrs);

template <typename T>
T RoundIfIntegral(float v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::nearbyint(v));
  } else {
    return static_cast<T>(v);
  }
}

// The dtypes Resize computes: floats and the 8-bit image types.
template <typename F>
Status DispatchResizable(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: return f(float{});
    case DType::kFloat64: return f(double{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt32: return f(int32_t{});
    case DType::kInt64: return f(int64_t{});
    default: return UnsupportedDType("Resize", dtype);
  }
}

}  // namespace tessera
