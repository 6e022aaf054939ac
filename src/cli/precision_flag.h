// --precision fp32|bf16 for `tessera run` and `tessera bench`, and the error report that bf16 prints:
// the same inputs through a float32 session of the model, each float32 output compared.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tessera/session.h"

namespace tessera::cli {

// "fp32" (default when empty) or "bf16"; anything else is a usage error.
StatusOr<SessionOptions::Precision> ParsePrecision(const std::string& value);

// Runs `model_path` in float32 on `feeds` and prints, per float32 output, the max |bf16 - fp32|, the
// largest |fp32| and the cosine of `bf16_outputs` (in the session's output order) against it.
Status PrintBf16ErrorReport(const std::string& model_path, int threads,
                            const std::vector<std::pair<std::string, Tensor>>& feeds,
                            const std::vector<Tensor>& bf16_outputs, std::ostream& out);

}  // namespace tessera::cli
