// Resize attribute parsing, output-shape rules per opset, coordinate transforms and tap tables.
#include "ops/cpu/resize/resize_common.h"

#include <algorithm>

#include "ops/op_helpers.h"

namespace tessera {

namespace {

bool OneOf(const std::string& v, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (v == o) return true;
  }
  return false;
}

// Position in the input that output index j maps to (ONNX coordinate_transformation_mode). Like the
// reference, align_corners and tf_crop_and_resize divide by the unrounded output length scale * n.
double SourceCoordinate(const ResizeAttributes& a, double j, double scale, int64_t n, int64_t m, double roi_start,
                        double roi_end) {
  const std::string& t = a.transform;
  const double width = scale * static_cast<double>(n);
  if (t == "half_pixel") return (j + 0.5) / scale - 0.5;
  if (t == "pytorch_half_pixel") return m > 1 ? (j + 0.5) / scale - 0.5 : 0.0;
  if (t == "align_corners") return width == 1.0 ? 0.0 : j * static_cast<double>(n - 1) / (width - 1);
  if (t == "tf_half_pixel_for_nn") return (j + 0.5) / scale;
  if (t == "tf_crop_and_resize") {
    if (width == 1.0) return 0.5 * (roi_start + roi_end) * (n - 1);
    return roi_start * (n - 1) + j * (roi_end - roi_start) * (n - 1) / (width - 1);
  }
  return j / scale;  // asymmetric
}

std::vector<double> Coefficients(const ResizeAttributes& a, double ratio) {
  switch (a.mode) {
    case ResizeAttributes::Mode::kLinear: return {1.0 - ratio, ratio};
    case ResizeAttributes::Mode::kCubic: {
      double A = a.cubic_coeff_a, r = ratio;
      return {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
              ((A + 2) * r - (A + 3)) * r * r + 1,
              ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
              ((A * (2 - r) - 5 * A) * (2 - r) + 8 * A) * (2 - r) - 4 * A};
    }
    case ResizeAttributes::Mode::kNearest: break;
  }
  if (ratio == 1.0) return {0, 1};
  const std::string& m = a.nearest_mode;
  if (m == "round_prefer_ceil") return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
  if (m == "floor") return {1, 0};
  if (m == "ceil") return {0, 1};
  return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};  // round_prefer_floor
}

AxisTaps BuildTaps(const ResizeAttributes& a, int64_t n, int64_t m, double scale, double roi_start, double roi_end) {
  AxisTaps taps(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    OutputTaps& out = taps[static_cast<size_t>(j)];
    double x = SourceCoordinate(a, static_cast<double>(j), scale, n, m, roi_start, roi_end);
    if (a.transform == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(n - 1))) {
      out.extrapolate = true;
      continue;
    }
    // The reference takes the nearest samples with ties to the left, so an exact hit sits on the right.
    double fl = std::floor(x);
    int64_t left = static_cast<int64_t>(fl);
    double ratio = x - fl;
    if (ratio == 0.0) {
      left -= 1;
      ratio = 1.0;
    }
    std::vector<double> coeffs = Coefficients(a, ratio);
    int64_t first = left - (static_cast<int64_t>(coeffs.size()) / 2 - 1);
    double total = 0;
    for (size_t k = 0; k < coeffs.size(); ++k) {
      int64_t idx = first + static_cast<int64_t>(k);
      if (a.exclude_outside && (idx < 0 || idx >= n)) coeffs[k] = 0;
      total += coeffs[k];
    }
    for (size_t k = 0; k < coeffs.size(); ++k) {
      double c = a.exclude_outside && total != 0 ? coeffs[k] / total : coeffs[k];
      if (c == 0.0) continue;
      int64_t idx = std::clamp<int64_t>(first + static_cast<int64_t>(k), 0, n - 1);  // edge padding
      auto found = std::find(out.index.begin(), out.index.end(), idx);
      if (found != out.index.end()) {
        out.weight[static_cast<size_t>(found - out.index.begin())] += static_cast<float>(c);
      } else {
        out.index.push_back(idx);
        out.weight.push_back(static_cast<float>(c));
      }
    }
    if (out.index.empty()) {  // every weight cancelled: keep the shape of the computation defined
      out.index.push_back(std::clamp<int64_t>(left + 1, 0, n - 1));
      out.weight.push_back(0.0f);
    }
    if (out.index.size() == 1 && out.weight[0] != 1.0f) {
      out.index.push_back(out.index[0]);  // keep the weighted path
      out.weight.push_back(0.0f);
    }
  }
  return taps;
}

}  // namespace

StatusOr<ResizeAttributes> ParseResizeAttributes(const Node& node, bool is_upsample) {
  ResizeAttributes a;
  a.is_upsample = is_upsample;
  a.opset = node.opset;
  std::string mode = node.GetString("mode", "nearest");
  if (mode == "nearest") {
    a.mode = ResizeAttributes::Mode::kNearest;
  } else if (mode == "linear" || mode == "bilinear") {
    a.mode = ResizeAttributes::Mode::kLinear;
  } else if (mode == "cubic" && !is_upsample) {
    a.mode = ResizeAttributes::Mode::kCubic;
  } else {
    return KernelContext::Error("unsupported mode '" + mode + "'");
  }
  if (is_upsample || node.opset < 11) {
    // Upsample and Resize-10 sample like numpy repeat: asymmetric coordinates, floor for nearest.
    a.transform = "asymmetric";
    a.nearest_mode = "floor";
    return a;
  }
  a.transform = node.GetString("coordinate_transformation_mode", "half_pixel");
  if (!OneOf(a.transform, {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                           "tf_crop_and_resize"})) {
    return KernelContext::Error("unsupported coordinate_transformation_mode '" + a.transform + "'");
  }
  a.nearest_mode = node.GetString("nearest_mode", "round_prefer_floor");
  if (!OneOf(a.nearest_mode, {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})) {
    return KernelContext::Error("unsupported nearest_mode '" + a.nearest_mode + "'");
  }
  a.cubic_coeff_a = node.GetFloat("cubic_coeff_a", -0.75f);
  a.exclude_outside = node.GetInt("exclude_outside", 0) != 0;
  a.extrapolation_value = node.GetFloat("extrapolation_value", 0.0f);
  if (node.GetInt("antialias", 0) != 0) return Unimplemented("Resize with antialias is not supported");
  return a;
}

StatusOr<ResizePlan> PlanResize(KernelContext& ctx, const ResizeAttributes& a) {
  const Tensor& x = ctx.input(0);
  const size_t rank = static_cast<size_t>(x.rank());
  std::vector<double> scales;
  Shape out_shape;
  std::vector<double> roi_start(rank, 0.0), roi_end(rank, 1.0);

  const Tensor* scales_t = nullptr;
  const Tensor* sizes_t = nullptr;
  std::vector<float> scale_attr;
  if (a.is_upsample && a.opset < 9) {
    scale_attr = ctx.node().GetFloats("scales");
  } else if (a.is_upsample || a.opset < 11) {
    if (!ctx.has_input(1)) return KernelContext::Error("input 'scales' is required");
    scales_t = &ctx.input(1);
  } else {
    if (ctx.has_input(2) && ctx.input(2).element_count() > 0) scales_t = &ctx.input(2);
    if (ctx.has_input(3) && ctx.input(3).element_count() > 0) sizes_t = &ctx.input(3);
    if ((scales_t == nullptr) == (sizes_t == nullptr)) {
      return KernelContext::Error("exactly one of 'scales' and 'sizes' must be given");
    }
    if (ctx.has_input(1) && ctx.input(1).element_count() > 0 && a.transform == "tf_crop_and_resize") {
      TS_ASSIGN_OR_RETURN(auto roi, ReadFloatValues(ctx.input(1), "roi"));
      if (roi.size() != 2 * rank) return KernelContext::Error("'roi' must hold 2 x rank values");
      for (size_t i = 0; i < rank; ++i) {
        roi_start[i] = roi[i];
        roi_end[i] = roi[rank + i];
      }
    }
  }
  if (scales_t != nullptr) {
    TS_ASSIGN_OR_RETURN(scale_attr, ReadFloatValues(*scales_t, "scales"));
  }
  if (sizes_t != nullptr) {
    TS_ASSIGN_OR_RETURN(auto sizes, ReadInt64Values(*sizes_t, "sizes"));
    if (sizes.size() != rank) return KernelContext::Error("'sizes' must hold one value per input dim");
    for (size_t i = 0; i < rank; ++i) {
      if (sizes[i] < 0) return KernelContext::Error("'sizes' has a negative value");
      out_shape.push_back(sizes[i]);
      scales.push_back(x.shape()[i] == 0 ? 1.0 : static_cast<double>(sizes[i]) / static_cast<double>(x.shape()[i]));
    }
  } else {
    if (scale_attr.size() != rank) {
      return KernelContext::Error("'scales' has " + std::to_string(scale_attr.size()) + " values for an input of rank " +
                                  std::to_string(rank));
    }
    for (size_t i = 0; i < rank; ++i) {
      if (!(scale_attr[i] > 0) || !std::isfinite(scale_attr[i])) return KernelContext::Error("'scales' must be positive");
      double d = std::floor(static_cast<double>(x.shape()[i]) * static_cast<double>(scale_attr[i]));
      if (d > 1e12) return KernelContext::Error("'scales' make an absurdly large output");
      out_shape.push_back(static_cast<int64_t>(d));
      scales.push_back(scale_attr[i]);
    }
  }
  if (ShapeElementCount(out_shape) < 0) return KernelContext::Error("output shape overflows");

  ResizePlan plan;
  plan.output_shape = out_shape;
  plan.identity.assign(rank, false);
  plan.taps.resize(rank);
  bool crop = a.transform == "tf_crop_and_resize";
  for (size_t i = 0; i < rank; ++i) {
    int64_t n = x.shape()[i], m = out_shape[i];
    bool same = n == m && scales[i] == 1.0 && !crop && a.transform != "tf_half_pixel_for_nn";
    if (same || m == 0) {
      plan.identity[i] = same;
      if (same) continue;
    }
    if (n == 0 && m > 0) return KernelContext::Error("cannot resize an empty dim to a non-empty one");
    plan.taps[i] = BuildTaps(a, n, m, scales[i], roi_start[i], roi_end[i]);
  }
  return plan;
}

}  // namespace tessera
