// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: kernel size, strides,
// dilations, explicit or automatic pads, and the output size they imply.
//
// Attributes are read and validated once per node (ReadWindowAttributes); the geometry for an actual input
// shape is computed at run time (ForwardWindow for Conv and pools, TransposeWindow for ConvTranspose) and
// fails with a message naming the shapes when the window does not fit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/tensor.h"

namespace tessera {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// The node's window attributes as written; empty vectors mean "not given" (defaults apply per rank).
struct WindowAttributes {
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;  // [begin..., end...]
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;
  // ConvTranspose only.
  std::vector<int64_t> output_padding;
  std::vector<int64_t> output_shape;
};

// Reads and checks the attributes' values (positive strides/dilations/kernel, non-negative pads, a known
// auto_pad); sizes against the spatial rank are checked when the input shape is known.
StatusOr<WindowAttributes> ReadWindowAttributes(const Node& node);

// The window for one input shape. Every vector has `rank` entries (the number of spatial dims).
struct WindowGeometry {
  int64_t rank = 0;
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, out;

  int64_t DilatedKernel(size_t i) const { return (kernel[i] - 1) * dilation[i] + 1; }
  int64_t InCount() const;
  int64_t OutCount() const;
  int64_t KernelCount() const;
};

// Conv and pooling: out = floor_or_ceil((in + pads - dilated_kernel) / stride) + 1. `kernel` is the
// kernel_shape attribute or the weights' spatial dims; `what` names the input for messages.
StatusOr<WindowGeometry> ForwardWindow(const WindowAttributes& attrs, const Shape& input, int64_t spatial_begin,
                                       const std::vector<int64_t>& kernel, bool allow_ceil_mode);

// ConvTranspose: out = stride * (in - 1) + output_padding + dilated_kernel - pads, or output_shape with
// pads derived from it.
StatusOr<WindowGeometry> TransposeWindow(const WindowAttributes& attrs, const Shape& input,
                                         const std::vector<int64_t>& kernel);

// Fails unless the node's first `count` inputs are all given (models are checked against the ONNX schema at
// load, but a kernel must not index past what it was handed).
Status RequireInputs(const Node& node, size_t count);

// "[a,b,c]" of a vector of ints, for messages.
std::string IntsToString(const std::vector<int64_t>& v);

}  // namespace tessera
