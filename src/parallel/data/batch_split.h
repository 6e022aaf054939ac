// The batch of a run, cut into slices and joined back: shared by data parallelism (slices over
// replicas) and pipeline parallelism (micro-batches through the stages).
//
// The batch is the first dim of the first input that has one. An input whose first dim is the batch is
// cut into contiguous, as-even-as-possible slices (10 rows in 4: 3 3 2 2); other inputs go whole to
// every slice. An output is joined on its batch axis: the axis the model leaves symbolic whose size is
// the slice's row count (so LSTM-style [seq, batch, ...] outputs join correctly), else the first axis of
// that size.
#pragma once

#include <string>
#include <vector>

#include "tessera/session.h"

namespace tessera {

// Checks that every input of `inputs` is fed (`feeds` in the same order) and returns the batch size.
StatusOr<int64_t> BatchOfFeeds(const std::vector<TensorInfo>& inputs, const std::vector<Tensor>& feeds,
                               const std::string& model_name);

// `batch` rows in `parts` contiguous slices.
struct BatchSlices {
  int64_t batch = 0;
  std::vector<int64_t> rows;   // per slice
  std::vector<int64_t> begin;  // first row of each slice
};
BatchSlices SplitBatch(int64_t batch, int parts);

// Rows [begin, end) of `t` when its first dim is `batch`, else all of `t`.
StatusOr<Tensor> SliceOfBatch(const Tensor& t, int64_t batch, int64_t begin, int64_t end);

// The axis of `actual` that carries a slice of `rows` rows (see above); -1 when none does.
int64_t OutputBatchAxis(const TensorInfo& info, const Tensor& actual, int64_t rows);

// Joins the slices of output `info`, the first of which has `first_rows` rows. One part is returned
// as it is; an output with no batch axis is an InvalidArgument naming it and the model.
StatusOr<Tensor> JoinBatchSlices(const std::vector<Tensor>& parts, const TensorInfo& info, int64_t first_rows,
                                 const std::string& model_name);

}  // namespace tessera
