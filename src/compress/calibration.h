// Calibration: the range of each activation a static QDQ model quantizes, from running the float model
// on the samples (min-max in one pass; percentile and entropy add a histogram pass).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compress/observed_session.h"
#include "compress/quantize_options.h"
#include "compress/range_estimators.h"

namespace tessera::compress {

class ProgressBar;

// The range of each of `tensors` (float values of the model) over every sample. A tensor the model
// never produces as float is an error naming it.
StatusOr<std::map<std::string, ValueRange>> CalibrateRanges(ObservedSession& session,
                                                            const std::vector<CalibrationSample>& samples,
                                                            const std::vector<std::string>& tensors,
                                                            const QuantizeOptions& options, ProgressBar* progress);

}  // namespace tessera::compress
