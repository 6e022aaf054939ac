// Running the float model over the calibration samples and reducing each watched value to a range.
#include "compress/calibration.h"

#include "compress/progress_bar.h"

namespace tessera::compress {
namespace {

StatusOr<const Tensor*> FloatValue(const std::map<std::string, Tensor>& values, const std::string& name) {
  auto it = values.find(name);
  if (it == values.end()) return NotFound("calibration: the model did not produce '" + name + "'");
  if (it->second.dtype() != DType::kFloat32) {
    return InvalidArgument("calibration: value '" + name + "' is " + DTypeName(it->second.dtype()) + ", not float32");
  }
  return &it->second;
}

}  // namespace

StatusOr<std::map<std::string, ValueRange>> CalibrateRanges(ObservedSession& session,
                                                            const std::vector<CalibrationSample>& samples,
                                                            const std::vector<std::string>& tensors,
                                                            const QuantizeOptions& options, ProgressBar* progress) {
  const bool histogram_pass = options.calibrate != CalibrationMethod::kMinMax;
  const size_t passes = histogram_pass ? 2 : 1;
  std::map<std::string, ValueRange> ranges;
  for (const auto& name : tensors) ranges[name] = ValueRange{};
  for (size_t i = 0; i < samples.size(); ++i) {
    TS_ASSIGN_OR_RETURN(auto values, session.Run(samples[i]));
    for (const auto& name : tensors) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, FloatValue(values, name));
      ranges[name].Add(t->data<float>(), t->element_count());
    }
    if (progress) progress->Step("calibrating", i + 1, samples.size() * passes);
  }
  if (!histogram_pass) return ranges;
  std::map<std::string, AbsHistogram> histograms;
  for (const auto& name : tensors) histograms.emplace(name, AbsHistogram(ranges[name].AbsMax()));
  for (size_t i = 0; i < samples.size(); ++i) {
    TS_ASSIGN_OR_RETURN(auto values, session.Run(samples[i]));
    for (const auto& name : tensors) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, FloatValue(values, name));
      histograms.at(name).Add(t->data<float>(), t->element_count());
    }
    if (progress) progress->Step("calibrating", samples.size() + i + 1, samples.size() * passes);
  }
  for (const auto& name : tensors) {
    const AbsHistogram& h = histograms.at(name);
    const float t = options.calibrate == CalibrationMethod::kPercentile ? PercentileThreshold(h, options.percentile)
                                                                        : EntropyThreshold(h);
    ranges[name] = ClipRange(ranges[name], t);
  }
  return ranges;
}

}  // namespace tessera::compress
