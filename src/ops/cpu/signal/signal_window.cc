// HannWindow, HammingWindow, BlackmanWindow and MelWeightMatrix (opset 17): generators of constant
// tables for signal pipelines, computed in double and written in the `output_datatype` dtype.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/cpu/signal/signal_kernels.h"
#include "ops/cpu/common/scalar_io.h"

namespace tessera {
namespace {

// A generalized cosine window a0 - a1*cos(2*pi*k/N) + a2*cos(4*pi*k/N), N = size (periodic) or size - 1.
struct CosineWindow {
  double a0, a1, a2;
};

class WindowKernel : public Kernel {
 public:
  WindowKernel(const Node& node, CosineWindow coefficients)
      : coefficients_(coefficients),
        periodic_(node.GetInt("periodic", 1) != 0),
        output_datatype_(node.GetInt("output_datatype", static_cast<int64_t>(DType::kFloat32))) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(DType dtype, OutputDTypeAttribute(output_datatype_));
    TS_ASSIGN_OR_RETURN(int64_t size, ReadScalarInt(ctx.input(0), "input 'size'"));
    if (size < 0) return KernelContext::Error("input 'size' must not be negative, got " + std::to_string(size));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, dtype, {size}));
    // A symmetric window of one point has N = 0; its only angle is taken as 0 (the periodic value).
    const int64_t period = periodic_ ? size : size - 1;
    std::vector<double> values(static_cast<size_t>(size));
    for (int64_t k = 0; k < size; ++k) {
      const double angle =
          period > 0 ? 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(period) : 0.0;
      values[static_cast<size_t>(k)] =
          coefficients_.a0 - coefficients_.a1 * std::cos(angle) + coefficients_.a2 * std::cos(2.0 * angle);
    }
    return WriteDoubles(values, *y, "window output_datatype");
  }

 private:
  CosineWindow coefficients_;
  bool periodic_;
  int64_t output_datatype_;
};

KernelFactory WindowFactory(CosineWindow coefficients) {
  return [coefficients](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<WindowKernel>(init.node, coefficients));
  };
}

// Triangular filters evenly spaced on the mel scale, mel(f) = 2595*log10(1 + f/700), following the
// ONNX reference (and ONNX Runtime): num_mel_bins + 2 edges are mapped to spectrogram bins with
// floor((dft_length + 1) * hz / sample_rate), and filter i rises from edge i to edge i+1 and falls to
// edge i+2, with a peak of 1.
class MelWeightMatrixKernel : public Kernel {
 public:
  explicit MelWeightMatrixKernel(const Node& node)
      : output_datatype_(node.GetInt("output_datatype", static_cast<int64_t>(DType::kFloat32))) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(DType dtype, OutputDTypeAttribute(output_datatype_));
    TS_ASSIGN_OR_RETURN(int64_t mel_bins, ReadScalarInt(ctx.input(0), "input 'num_mel_bins'"));
    TS_ASSIGN_OR_RETURN(int64_t dft_length, ReadScalarInt(ctx.input(1), "input 'dft_length'"));
    TS_ASSIGN_OR_RETURN(int64_t sample_rate, ReadScalarInt(ctx.input(2), "input 'sample_rate'"));
    TS_ASSIGN_OR_RETURN(double lower_hz, ReadScalarFloat(ctx.input(3), "input 'lower_edge_hertz'"));
    TS_ASSIGN_OR_RETURN(double upper_hz, ReadScalarFloat(ctx.input(4), "input 'upper_edge_hertz'"));
    if (mel_bins <= 0) {
      return KernelContext::Error("input 'num_mel_bins' must be positive, got " + std::to_string(mel_bins));
    }
    if (dft_length <= 0) {
      return KernelContext::Error("input 'dft_length' must be positive, got " + std::to_string(dft_length));
    }
    if (sample_rate <= 0) {
      return KernelContext::Error("input 'sample_rate' must be positive, got " + std::to_string(sample_rate));
    }
    if (!(lower_hz >= 0 && lower_hz <= upper_hz)) {
      return KernelContext::Error("edge frequencies must satisfy 0 <= lower_edge_hertz <= upper_edge_hertz, got " +
                                  std::to_string(lower_hz) + " and " + std::to_string(upper_hz));
    }
    const int64_t spectrogram_bins = dft_length / 2 + 1;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, dtype, {spectrogram_bins, mel_bins}));

    auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
    const double low_mel = to_mel(lower_hz), high_mel = to_mel(upper_hz);
    const double mel_step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> edges(static_cast<size_t>(mel_bins + 2));
    for (int64_t i = 0; i < mel_bins + 2; ++i) {
      const double hz = 700.0 * (std::pow(10.0, (low_mel + mel_step * static_cast<double>(i)) / 2595.0) - 1.0);
      // Clamped so an absurd upper edge cannot overflow the conversion; such filters fall off the table anyway.
      const double bin = std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate));
      edges[static_cast<size_t>(i)] = static_cast<int64_t>(std::min(bin, 0x1p53));
    }
    std::vector<double> values(static_cast<size_t>(spectrogram_bins * mel_bins), 0.0);
    // Bins past the spectrogram (edges beyond the Nyquist frequency) are dropped.
    auto set = [&](int64_t bin, int64_t mel, double v) { values[static_cast<size_t>(bin * mel_bins + mel)] = v; };
    const int64_t last = spectrogram_bins - 1;
    for (int64_t i = 0; i < mel_bins; ++i) {
      const int64_t left = edges[static_cast<size_t>(i)], center = edges[static_cast<size_t>(i + 1)],
                    right = edges[static_cast<size_t>(i + 2)];
      if (center == left) {
        if (center <= last) set(center, i, 1.0);
      } else {
        for (int64_t j = left; j <= std::min(center, last); ++j) {
          set(j, i, static_cast<double>(j - left) / static_cast<double>(center - left));
        }
      }
      for (int64_t j = center; j < std::min(right, last + 1); ++j) {
        set(j, i, static_cast<double>(right - j) / static_cast<double>(right - center));
      }
    }
    return WriteDoubles(values, *y, "MelWeightMatrix output_datatype");
  }

 private:
  int64_t output_datatype_;
};

}  // namespace

void RegisterWindowKernels(KernelRegistry& registry) {
  registry.Register("HannWindow", 17, kLatestOpset, WindowFactory({0.5, 0.5, 0.0}));
  registry.Register("HammingWindow", 17, kLatestOpset, WindowFactory({25.0 / 46.0, 21.0 / 46.0, 0.0}));
  registry.Register("BlackmanWindow", 17, kLatestOpset, WindowFactory({0.42, 0.5, 0.08}));
  registry.Register("MelWeightMatrix", 17, kLatestOpset, MakeNodeKernelFactory<MelWeightMatrixKernel>());
}

}  // namespace tessera
