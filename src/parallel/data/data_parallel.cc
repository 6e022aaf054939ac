// Scatter, run, gather.
#include "parallel/data/data_parallel.h"

#include "core/tensor_slicing.h"
#include "parallel/comm/agreement.h"

namespace tessera {

namespace {

constexpr int kTagInputs = 10;
constexpr int kTagOutputs = 11;

// The axis of `actual` that carries the batch: a dim the model declares symbolic whose size is the
// local slice's row count; else the first dim of that size; else -1.
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

Status CheckFeeds(const Session& session, const std::vector<Tensor>& feeds, int64_t& batch) {
  if (feeds.size() != session.inputs().size()) {
    return InvalidArgument("model '" + session.model_name() + "' takes " + std::to_string(session.inputs().size()) +
                           " inputs, got " + std::to_string(feeds.size()));
  }
  batch = -1;
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (!feeds[i].defined()) return InvalidArgument("input '" + session.inputs()[i].name + "' is missing");
    if (batch < 0 && feeds[i].rank() >= 1) batch = feeds[i].dim(0);
  }
  if (batch < 0) return InvalidArgument("no input of model '" + session.model_name() + "' has a batch dimension to split");
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<Tensor>> RunDataParallel(Session& session, Communicator& comm, const std::vector<Tensor>& feeds,
                                              int root) {
  const int ranks = comm.size(), me = comm.rank();
  int64_t batch = 0;
  Status feeds_ok = me == root ? CheckFeeds(session, feeds, batch) : Status::Ok();
  TS_RETURN_IF_ERROR(AgreeOnRoot(comm, root, feeds_ok));

  // Everyone learns the batch and the slice sizes.
  Tensor batch_tensor = Tensor::FromVector<int64_t>(DType::kInt64, {1}, std::vector<int64_t>{batch});
  TS_RETURN_IF_ERROR(comm.Broadcast(batch_tensor, root));
  batch = batch_tensor.data<int64_t>()[0];
  std::vector<int64_t> rows = EvenSplit(batch, ranks);
  std::vector<int64_t> begin(static_cast<size_t>(ranks), 0);
  for (int r = 1; r < ranks; ++r) begin[static_cast<size_t>(r)] = begin[static_cast<size_t>(r) - 1] + rows[static_cast<size_t>(r) - 1];

  // An empty batch still runs once, on the root, so the outputs have their shapes.
  auto runs = [&](int r) { return rows[static_cast<size_t>(r)] > 0 || (batch == 0 && r == root); };

  auto slice_for = [&](const Tensor& t, int r) -> StatusOr<Tensor> {
    if (t.rank() == 0 || t.dim(0) != batch) return t;  // not batched: everyone gets all of it
    return SliceAlongAxis(t, 0, begin[static_cast<size_t>(r)], begin[static_cast<size_t>(r)] + rows[static_cast<size_t>(r)]);
  };

  std::vector<Tensor> local(session.inputs().size());
  if (me == root) {
    for (int r = 0; r < ranks; ++r) {
      for (size_t i = 0; i < feeds.size(); ++i) {
        auto part = slice_for(feeds[i], r);
        if (!part.ok()) comm.Abort("input '" + session.inputs()[i].name + "': " + part.status().message(), 1);
        if (r == root) {
          local[i] = std::move(part).value();
        } else if (runs(r)) {
          Status s = comm.Send(*part, r, kTagInputs);
          if (!s.ok()) comm.Abort("sending inputs to rank " + std::to_string(r) + ": " + s.message(), 1);
        }
      }
    }
  } else if (runs(me)) {
    for (size_t i = 0; i < local.size(); ++i) {
      auto t = comm.Recv(root, kTagInputs);
      if (!t.ok()) comm.Abort("receiving inputs: " + t.status().message(), 1);
      local[i] = std::move(t).value();
    }
  }

  std::vector<Tensor> mine;
  if (runs(me)) {
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t i = 0; i < local.size(); ++i) named.emplace_back(session.inputs()[i].name, local[i]);
    auto out = session.Run(named);
    if (!out.ok()) comm.Abort("replica " + std::to_string(me) + ": " + out.status().message(), 1);
    mine = std::move(out).value();
  }

  if (me != root) {
    for (const Tensor& t : mine) {
      Status s = comm.Send(t, root, kTagOutputs);
      if (!s.ok()) comm.Abort("sending outputs to the root: " + s.message(), 1);
    }
    return std::vector<Tensor>{};
  }

  // Root: collect each replica's outputs in rank order and join them on each output's batch axis.
  std::vector<std::vector<Tensor>> parts(session.outputs().size());
  for (int r = 0; r < ranks; ++r) {
    if (!runs(r)) continue;
    for (size_t o = 0; o < parts.size(); ++o) {
      if (r == root) {
        parts[o].push_back(mine[o]);
        continue;
      }
      auto t = comm.Recv(r, kTagOutputs);
      if (!t.ok()) comm.Abort("receiving outputs of rank " + std::to_string(r) + ": " + t.status().message(), 1);
      parts[o].push_back(std::move(t).value());
    }
  }
  std::vector<Tensor> outputs;
  for (size_t o = 0; o < parts.size(); ++o) {
    if (parts[o].size() == 1) {
      outputs.push_back(parts[o][0]);
      continue;
    }
    const TensorInfo& info = session.outputs()[o];
    int64_t axis = OutputBatchAxis(info, parts[o][0], rows[static_cast<size_t>(root)]);
    if (axis < 0) {
      return InvalidArgument("output '" + info.name + "' of model '" + session.model_name() + "' has shape " +
                             ShapeToString(parts[o][0].shape()) + " with no batch axis of " +
                             std::to_string(rows[static_cast<size_t>(root)]) + " rows; it cannot be gathered over replicas");
    }
    TS_ASSIGN_OR_RETURN(Tensor joined, ConcatAlongAxis(parts[o], axis));
    outputs.push_back(std::move(joined));
  }
  return outputs;
}

}  // namespace tessera
