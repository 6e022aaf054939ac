// Window geometry: attribute parsing and output-size arithmetic for convolutions and pools.
#include "ops/cpu/common/window_geometry.h"

#include <algorithm>

namespace tessera {

std::string IntsToString(const std::vector<int64_t>& v) { return ShapeToString(v); }

Status RequireInputs(const Node& node, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (i >= node.explicit_input_count || node.inputs[i] == kNoValue)
      return InvalidArgument(node.op_type + " needs " + std::to_string(count) + " inputs; input " + std::to_string(i) +
                             " is missing");
  }
  return Status::Ok();
}

StatusOr<WindowAttributes> ReadWindowAttributes(const Node& node) {
  WindowAttributes a;
  a.kernel_shape = node.GetInts("kernel_shape");
  a.strides = node.GetInts("strides");
  a.dilations = node.GetInts("dilations");
  a.pads = node.GetInts("pads");
  a.output_padding = node.GetInts("output_padding");
  a.output_shape = node.GetInts("output_shape");
  a.ceil_mode = node.GetInt("ceil_mode", 0) != 0;
  const std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET" || auto_pad.empty())
    a.auto_pad = AutoPad::kNotSet;
  else if (auto_pad == "SAME_UPPER")
    a.auto_pad = AutoPad::kSameUpper;
  else if (auto_pad == "SAME_LOWER")
    a.auto_pad = AutoPad::kSameLower;
  else if (auto_pad == "VALID")
    a.auto_pad = AutoPad::kValid;
  else
    return InvalidArgument("attribute 'auto_pad' must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + auto_pad +
                           "'");
  auto all = [](const std::vector<int64_t>& v, auto pred) { return std::all_of(v.begin(), v.end(), pred); };
  // Window arithmetic multiplies these values; bounding them keeps every product far from overflow.
  constexpr int64_t kMaxWindowValue = int64_t{1} << 31;
  for (const auto* v : {&a.kernel_shape, &a.strides, &a.dilations, &a.pads, &a.output_padding, &a.output_shape}) {
    if (!all(*v, [](int64_t x) { return x < kMaxWindowValue; }))
      return InvalidArgument("window attribute " + IntsToString(*v) + " has a value of 2^31 or more");
  }
  if (!all(a.kernel_shape, [](int64_t k) { return k > 0; }))
    return InvalidArgument("attribute 'kernel_shape' must be positive, got " + IntsToString(a.kernel_shape));
  if (!all(a.strides, [](int64_t s) { return s > 0; }))
    return InvalidArgument("attribute 'strides' must be positive, got " + IntsToString(a.strides));
  if (!all(a.dilations, [](int64_t d) { return d > 0; }))
    return InvalidArgument("attribute 'dilations' must be positive, got " + IntsToString(a.dilations));
  if (!all(a.pads, [](int64_t p) { return p >= 0; }))
    return InvalidArgument("attribute 'pads' must be non-negative, got " + IntsToString(a.pads));
  if (!all(a.output_padding, [](int64_t p) { return p >= 0; }))
    return InvalidArgument("attribute 'output_padding' must be non-negative, got " + IntsToString(a.output_padding));
  return a;
}

int64_t WindowGeometry::InCount() const {
  int64_t n = 1;
  for (int64_t v : in) n *= v;
  return n;
}
int64_t WindowGeometry::OutCount() const {
  int64_t n = 1;
  for (int64_t v : out) n *= v;
  return n;
}
int64_t WindowGeometry::KernelCount() const {
  int64_t n = 1;
  for (int64_t v : kernel) n *= v;
  return n;
}

namespace {

// Fills rank, in, kernel, stride, dilation and explicit pads, checking every attribute's length.
Status FillCommon(const WindowAttributes& a, const Shape& input, int64_t spatial_begin,
                  const std::vector<int64_t>& kernel, WindowGeometry& g) {
  g.rank = static_cast<int64_t>(input.size()) - spatial_begin;
  const size_t r = static_cast<size_t>(g.rank);
  if (g.rank < 1) return InvalidArgument("input has shape " + ShapeToString(input) + ", which has no spatial dims");
  if (kernel.size() != r)
    return InvalidArgument("kernel shape " + IntsToString(kernel) + " does not match the " + std::to_string(r) +
                           " spatial dims of input shape " + ShapeToString(input));
  auto check_len = [&](const std::vector<int64_t>& v, size_t want, const char* name) -> Status {
    if (!v.empty() && v.size() != want)
      return InvalidArgument(std::string("attribute '") + name + "' " + IntsToString(v) + " must have " +
                             std::to_string(want) + " values for input shape " + ShapeToString(input));
    return Status::Ok();
  };
  TS_RETURN_IF_ERROR(check_len(a.strides, r, "strides"));
  TS_RETURN_IF_ERROR(check_len(a.dilations, r, "dilations"));
  TS_RETURN_IF_ERROR(check_len(a.pads, 2 * r, "pads"));
  g.in.assign(input.begin() + spatial_begin, input.end());
  for (int64_t d : g.in) {
    if (d >= (int64_t{1} << 31))
      return InvalidArgument("input shape " + ShapeToString(input) + " has a spatial dim of 2^31 or more");
  }
  g.kernel = kernel;
  g.stride = a.strides.empty() ? std::vector<int64_t>(r, 1) : a.strides;
  g.dilation = a.dilations.empty() ? std::vector<int64_t>(r, 1) : a.dilations;
  g.pad_begin.assign(r, 0);
  g.pad_end.assign(r, 0);
  if (a.auto_pad == AutoPad::kNotSet && !a.pads.empty()) {
    for (size_t i = 0; i < r; ++i) {
      g.pad_begin[i] = a.pads[i];
      g.pad_end[i] = a.pads[r + i];
    }
  }
  g.out.assign(r, 0);
  return Status::Ok();
}

int64_t CeilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

}  // namespace

StatusOr<WindowGeometry> ForwardWindow(const WindowAttributes& a, const Shape& input, int64_t spatial_begin,
                                       const std::vector<int64_t>& kernel, bool allow_ceil_mode) {
  WindowGeometry g;
  TS_RETURN_IF_ERROR(FillCommon(a, input, spatial_begin, kernel, g));
  const bool ceil_mode = allow_ceil_mode && a.ceil_mode;
  for (size_t i = 0; i < static_cast<size_t>(g.rank); ++i) {
    const int64_t dk = g.DilatedKernel(i), s = g.stride[i], in = g.in[i];
    if (a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
      g.out[i] = CeilDiv(in, s);
      const int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * s + dk - in);
      // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning.
      g.pad_begin[i] = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
      continue;
    }
    const int64_t span = in + g.pad_begin[i] + g.pad_end[i] - dk;
    if (span < 0)
      return InvalidArgument("kernel " + IntsToString(kernel) + " with dilations " + IntsToString(g.dilation) +
                             " is larger than the padded input: input shape " + ShapeToString(input) + ", pads " +
                             IntsToString(g.pad_begin) + "+" + IntsToString(g.pad_end));
    g.out[i] = (ceil_mode ? CeilDiv(span, s) : span / s) + 1;
    // A window that would start in the end padding is dropped (as PyTorch and ONNX's reference do).
    if (ceil_mode && (g.out[i] - 1) * s >= in + g.pad_begin[i]) --g.out[i];
  }
  return g;
}

StatusOr<WindowGeometry> TransposeWindow(const WindowAttributes& a, const Shape& input,
                                         const std::vector<int64_t>& kernel) {
  WindowGeometry g;
  TS_RETURN_IF_ERROR(FillCommon(a, input, 2, kernel, g));
  const size_t r = static_cast<size_t>(g.rank);
  if (!a.output_padding.empty() && a.output_padding.size() != r)
    return InvalidArgument("attribute 'output_padding' " + IntsToString(a.output_padding) + " must have " +
                           std::to_string(r) + " values for input shape " + ShapeToString(input));
  const std::vector<int64_t> op = a.output_padding.empty() ? std::vector<int64_t>(r, 0) : a.output_padding;
  // output_shape may list only the spatial dims or the whole output shape.
  std::vector<int64_t> target;
  if (!a.output_shape.empty()) {
    if (a.output_shape.size() < r)
      return InvalidArgument("attribute 'output_shape' " + IntsToString(a.output_shape) + " has fewer than the " +
                             std::to_string(r) + " spatial dims of input shape " + ShapeToString(input));
    target.assign(a.output_shape.end() - static_cast<int64_t>(r), a.output_shape.end());
  } else if (a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
    for (size_t i = 0; i < r; ++i) target.push_back(g.in[i] * g.stride[i]);
  }
  for (size_t i = 0; i < r; ++i) {
    const int64_t full = g.stride[i] * (g.in[i] - 1) + op[i] + g.DilatedKernel(i);
    if (!target.empty()) {
      // Pads derived from the requested size (ConvTranspose-11 spec); a negative total means the output
      // is larger than the transposed convolution covers and the extra positions stay bias-only.
      const int64_t total = full - target[i];
      if (total >= 0) {
        g.pad_begin[i] = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
        g.pad_end[i] = total - g.pad_begin[i];
      } else {
        g.pad_begin[i] = 0;
        g.pad_end[i] = 0;
      }
      g.out[i] = target[i];
    } else {
      if (a.auto_pad == AutoPad::kValid) g.pad_begin[i] = g.pad_end[i] = 0;
      g.out[i] = full - g.pad_begin[i] - g.pad_end[i];
    }
    if (g.out[i] < 0)
      return InvalidArgument("ConvTranspose output would have negative size for input shape " + ShapeToString(input) +
                             ", kernel " + IntsToString(kernel) + " and pads " + IntsToString(g.pad_begin) + "+" +
                             IntsToString(g.pad_end));
  }
  return g;
}

}  // namespace tessera
