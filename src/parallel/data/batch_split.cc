// Batch slicing and joining.
#include "parallel/data/batch_split.h"

#include "core/tensor_slicing.h"

namespace tessera {

StatusOr<int64_t> BatchOfFeeds(const std::vector<TensorInfo>& inputs, const std::vector<Tensor>& feeds,
                               const std::string& model_name) {
  if (feeds.size() != inputs.size()) {
    return InvalidArgument("model '" + model_name + "' takes " + std::to_string(inputs.size()) + " inputs, got " +
                           std::to_string(feeds.size()));
  }
  int64_t batch = -1;
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (!feeds[i].defined()) return InvalidArgument("input '" + inputs[i].name + "' is missing");
    if (batch < 0 && feeds[i].rank() >= 1) batch = feeds[i].dim(0);
  }
  if (batch < 0) return InvalidArgument("no input of model '" + model_name + "' has a batch dimension to split");
  return batch;
}

BatchSlices SplitBatch(int64_t batch, int parts) {
  BatchSlices s;
  s.batch = batch;
  s.rows = EvenSplit(batch, parts);
  s.begin.assign(s.rows.size(), 0);
  for (size_t r = 1; r < s.rows.size(); ++r) s.begin[r] = s.begin[r - 1] + s.rows[r - 1];
  return s;
}

StatusOr<Tensor> SliceOfBatch(const Tensor& t, int64_t batch, int64_t begin, int64_t end) {
  if (t.rank() == 0 || t.dim(0) != batch) return t;  // not batched: every slice gets all of it
  if (begin == 0 && end == batch) return t;
  return SliceAlongAxis(t, 0, begin, end);
}

int64_t OutputBatchAxis(const TensorInfo& info, const Tensor& actual, int64_t rows) {
  for (int64_t k = 0; k < actual.rank(); ++k) {
    size_t uk = static_cast<size_t>(k);
    bool symbolic = info.has_shape && uk < info.dims.size() &&
                    (info.dims[uk] < 0 || (uk < info.dim_symbols.size() && !info.dim_symbols[uk].empty()));
    if (symbolic && actual.dim(k) == rows) return k;
  }
  for (int64_t k = 0; k < actual.rank(); ++k) {
    if (actual.dim(k) == rows) return k;
  }
  return -1;
}

StatusOr<Tensor> JoinBatchSlices(const std::vector<Tensor>& parts, const TensorInfo& info, int64_t first_rows,
                                 const std::string& model_name) {
  if (parts.size() == 1) return parts[0];
  if (parts.empty()) return InvalidArgument("output '" + info.name + "' of model '" + model_name + "' has no slices to join");
  int64_t axis = OutputBatchAxis(info, parts[0], first_rows);
  if (axis < 0) {
    return InvalidArgument("output '" + info.name + "' of model '" + model_name + "' has shape " +
                           ShapeToString(parts[0].shape()) + " with no batch axis of " + std::to_string(first_rows) +
                           " rows; it cannot be joined from batch slices");
  }
  return ConcatAlongAxis(parts, axis);
}

}  // namespace tessera
