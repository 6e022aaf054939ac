// Calibration samples: the model inputs, as .npy files, that calibration and the error report run on.
//
// Layout of DIR, one of:
//   DIR/<input>.npy ...                 one sample
//   DIR/<sample>/<input>.npy ...        one sample per subfolder, taken in name order
// <input> is the graph input's name, or that name with each character outside [A-Za-z0-9._-] replaced by
// '_' (the rule `tessera run` uses for output files). Every graph input needs a file in every sample; an
// .npy is fed as it is (its shape must be one the model accepts).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::compress {

using CalibrationSample = std::vector<std::pair<std::string, Tensor>>;  // feeds, by input name

// Reads every sample under `dir` for the graph inputs `input_names`. NotFound when `dir` is not a folder
// or an input has no file; the .npy reader's errors name the file.
StatusOr<std::vector<CalibrationSample>> LoadCalibrationSamples(const std::string& dir,
                                                                const std::vector<std::string>& input_names);

}  // namespace tessera::compress
