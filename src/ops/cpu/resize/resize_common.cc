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
  if (t == "half_pixel_symmetric") {
    // Opset 19: half_pixel, shifted so that the rounding of the output length is split evenly at both ends.
    const double adjustment = static_cast<double>(m) / width;
    const double center = static_cast<double>(n) / 2;
    return center * (1 - adjustment) + (j + 0.5) / scale - 0.5;
  }
  if (t == "pytorch_half_pixel") return m > 1 ? (j + 0.5) / scale - 0.5 : 0.0;
  if (t == "align_corners") return width == 1.0 ? 0.0 : j * static_cast<double>(n - 1) / (width - 1);
  if (t == "tf_half_pixel_for_nn") return (j + 0.5) / scale;
  if (t == "tf_crop_and_resize") {
    if (width == 1.0) return 0.5 * (roi_start + roi_end) * (n - 1);
    return roi_start * (n - 1) + j * (roi_end - roi_start) * (n - 1) / (width - 1);
  }
  return j / scale;  // asymmetric
}

// Opset 18's antialias when downscaling: the linear (triangle) or cubic filter stretched by 1/scale,
// sampled at every input position in its support, normalised to sum to one (the reference's taps).
std::vector<double> AntialiasCoefficients(const ResizeAttributes& a, double ratio, double scale) {
  std::vector<double> coeffs;
  if (a.mode == ResizeAttributes::Mode::kLinear) {
    const int64_t start = static_cast<int64_t>(std::floor(-1.0 / scale)) + 1;
    for (int64_t i = start; i < 1 - start + 1; ++i) {
      coeffs.push_back(std::clamp(1.0 - std::fabs((static_cast<double>(i) - ratio) * scale), 0.0, 1.0));
    }
  } else {
    const double A = a.cubic_coeff_a;
    const int64_t start = static_cast<int64_t>(std::floor(-2.0 / scale)) + 1;
    for (int64_t i = start; i < 2 - start; ++i) {
      const double x = std::fabs(scale * (static_cast<double>(i) - ratio));
      const double x2 = x * x, x3 = x2 * x;
      const double inner = (A + 2) * x3 - (A + 3) * x2 + 1, outer = A * x3 - 5 * A * x2 + 8 * A * x - 4 * A;
      coeffs.push_back(x <= 1 ? inner : x < 2 ? outer : 0.0);
    }
  }
  double total = 0;
  for (double c : coeffs) total += c;
  if (total != 0) {
    for (double& c : coeffs) c /= total;
  }
  return coeffs;
}

std::vector<double> Coefficients(const ResizeAttributes& a, double ratio, double scale) {
  if (a.antialias && scale < 1.0 && a.mode != ResizeAttributes::Mode::kNearest) {
    return AntialiasCoefficients(a, ratio, scale);
  }
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
    std::vector<double> coeffs = Coefficients(a, ratio, scale);
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
                           "tf_crop_and_resize", "half_pixel_symmetric"}) ||
      (a.transform == "half_pixel_symmetric" && node.opset < 19)) {
    return KernelContext::Error("unsupported coordinate_transformation_mode '" + a.transform + "'");
  }
  a.nearest_mode = node.GetString("nearest_mode", "round_prefer_floor");
  if (!OneOf(a.nearest_mode, {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})) {
    return KernelContext::Error("unsupported nearest_mode '" + a.nearest_mode + "'");
  }
  a.cubic_coeff_a = node.GetFloat("cubic_coeff_a", -0.75f);
  a.exclude_outside = node.GetInt("exclude_outside", 0) != 0;
  a.extrapolation_value = node.GetFloat("extrapolation_value", 0.0f);
  if (node.opset >= 18) {
    a.antialias = node.GetInt("antialias", 0) != 0;
    a.axes = node.GetInts("axes");
    a.keep_aspect_ratio_policy = node.GetString("keep_aspect_ratio_policy", "stretch");
    if (!OneOf(a.keep_aspect_ratio_policy, {"stretch", "not_larger", "not_smaller"})) {
      return KernelContext::Error("unsupported keep_aspect_ratio_policy '" + a.keep_aspect_ratio_policy + "'");
    }
  }
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
  if (a.is_upsample && a.opset < 7) {
    // Upsample-1: a 4-D input scaled by height_scale and width_scale.
    if (rank != 4) return KernelContext::Error("Upsample-1 takes a 4-D input, got " + ShapeToString(x.shape()));
    scale_attr = {1.0f, 1.0f, ctx.node().GetFloat("height_scale", 0.0f), ctx.node().GetFloat("width_scale", 0.0f)};
  } else if (a.is_upsample && a.opset < 9) {
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
  // Opset 18's `axes`: scales, sizes and roi hold values for those axes only; the others keep their size.
  std::vector<size_t> named_axes;
  for (int64_t axis : a.axes) {
    TS_ASSIGN_OR_RETURN(int64_t normalized, NormalizeAxis(axis, static_cast<int64_t>(rank), "attribute 'axes'"));
    if (std::find(named_axes.begin(), named_axes.end(), static_cast<size_t>(normalized)) != named_axes.end()) {
      return KernelContext::Error("attribute 'axes' names axis " + std::to_string(axis) + " twice");
    }
    named_axes.push_back(static_cast<size_t>(normalized));
  }
  if (!named_axes.empty()) {
    const size_t k = named_axes.size();
    if (!scale_attr.empty()) {
      if (scale_attr.size() != k) {
        return KernelContext::Error("'scales' has " + std::to_string(scale_attr.size()) + " values for " +
                                    std::to_string(k) + " axes");
      }
      std::vector<float> full(rank, 1.0f);
      for (size_t i = 0; i < k; ++i) full[named_axes[i]] = scale_attr[i];
      scale_attr = full;
    }
    if (roi_start.size() == rank && ctx.has_input(1) && ctx.input(1).element_count() == static_cast<int64_t>(2 * k) &&
        a.transform == "tf_crop_and_resize") {
      TS_ASSIGN_OR_RETURN(auto roi, ReadFloatValues(ctx.input(1), "roi"));
      roi_start.assign(rank, 0.0);
      roi_end.assign(rank, 1.0);
      for (size_t i = 0; i < k; ++i) {
        roi_start[named_axes[i]] = roi[i];
        roi_end[named_axes[i]] = roi[k + i];
      }
    }
  }
  if (sizes_t != nullptr) {
    TS_ASSIGN_OR_RETURN(auto sizes, ReadInt64Values(*sizes_t, "sizes"));
    if (!named_axes.empty()) {
      if (sizes.size() != named_axes.size()) {
        return KernelContext::Error("'sizes' has " + std::to_string(sizes.size()) + " values for " +
                                    std::to_string(named_axes.size()) + " axes");
      }
      std::vector<int64_t> full(x.shape().begin(), x.shape().end());
      for (size_t i = 0; i < named_axes.size(); ++i) full[named_axes[i]] = sizes[i];
      sizes = full;
    }
    if (sizes.size() != rank) return KernelContext::Error("'sizes' must hold one value per input dim");
    if (a.keep_aspect_ratio_policy != "stretch") {
      // One scale for every named axis (all axes when none are named): the smallest (not_larger) or
      // largest (not_smaller) of sizes / input size, and each output length rounded from it.
      std::vector<size_t> policy_axes = named_axes;
      if (policy_axes.empty()) {
        for (size_t i = 0; i < rank; ++i) policy_axes.push_back(i);
      }
      double common = a.keep_aspect_ratio_policy == "not_larger" ? INFINITY : 0.0;
      for (size_t i : policy_axes) {
        if (x.shape()[i] == 0) return KernelContext::Error("keep_aspect_ratio_policy cannot scale an empty axis");
        const double r = static_cast<double>(sizes[i]) / static_cast<double>(x.shape()[i]);
        common = a.keep_aspect_ratio_policy == "not_larger" ? std::min(common, r) : std::max(common, r);
      }
      for (size_t i = 0; i < rank; ++i) {
        const bool named = std::find(policy_axes.begin(), policy_axes.end(), i) != policy_axes.end();
        const double s = named ? common : 1.0;
        if (named) sizes[i] = static_cast<int64_t>(std::floor(s * static_cast<double>(x.shape()[i]) + 0.5));
        out_shape.push_back(sizes[i]);
        scales.push_back(s);
      }
      sizes.clear();
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
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
