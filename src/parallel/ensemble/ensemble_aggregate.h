// Combining the outputs of several models that ran on the same inputs, output by output (by position).
//
// Every model must give the same number of outputs. sum and mean need equal dtypes and shapes and work
// on float32, float64 (mean accumulates in double, then rounds once), and for sum also int32 and int64;
// concat joins along axis 0 (the batch axis of most models: the ensemble's answers stacked model after
// model), so the dtypes, ranks and every dim but the first must agree. Errors name the models, the
// output and the mismatch.
#pragma once

#include <string>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

enum class EnsembleAggregation { kSum, kMean, kConcat };

// "sum", "mean" or "concat".
StatusOr<EnsembleAggregation> ParseEnsembleAggregation(const std::string& name);
const char* EnsembleAggregationName(EnsembleAggregation aggregation);

// `outputs[m][k]` is model m's k-th output; `model_names[m]` names model m in errors. At least one model.
StatusOr<std::vector<Tensor>> AggregateEnsembleOutputs(const std::vector<std::vector<Tensor>>& outputs,
                                                       const std::vector<std::string>& model_names,
                                                       EnsembleAggregation aggregation);

}  // namespace tessera
