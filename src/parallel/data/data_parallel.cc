// Scatter, run, gather.
#include "parallel/data/data_parallel.h"

#include "parallel/comm/agreement.h"

namespace tessera {

namespace {

constexpr int kTagInputs = 10;
constexpr int kTagOutputs = 11;

}  // namespace

bool BatchSliceRuns(const BatchSlices& slices, int r, int root) {
  return slices.rows[static_cast<size_t>(r)] > 0 || (slices.batch == 0 && r == root);
}

std::vector<Tensor> ScatterBatch(Communicator& comm, const std::vector<Tensor>& feeds, size_t input_count,
                                 const BatchSlices& slices, int root) {
  const int ranks = comm.size(), me = comm.rank();
  std::vector<Tensor> local;
  if (me == root) {
    local.resize(input_count);
    for (int r = 0; r < ranks; ++r) {
      if (!BatchSliceRuns(slices, r, root)) continue;
      const int64_t begin = slices.begin[static_cast<size_t>(r)], end = begin + slices.rows[static_cast<size_t>(r)];
      for (size_t i = 0; i < feeds.size(); ++i) {
        auto part = SliceOfBatch(feeds[i], slices.batch, begin, end);
        if (!part.ok()) comm.Abort("input " + std::to_string(i) + ": " + part.status().message(), 1);
        if (r == root) {
          local[i] = std::move(part).value();
        } else {
          Status s = comm.Send(*part, r, kTagInputs);
          if (!s.ok()) comm.Abort("sending inputs to rank " + std::to_string(r) + ": " + s.message(), 1);
        }
      }
    }
  } else if (BatchSliceRuns(slices, me, root)) {
    for (size_t i = 0; i < input_count; ++i) {
      auto t = comm.Recv(root, kTagInputs);
      if (!t.ok()) comm.Abort("receiving inputs: " + t.status().message(), 1);
      local.push_back(std::move(t).value());
    }
  }
  return local;
}

StatusOr<std::vector<Tensor>> GatherBatch(Communicator& comm, const std::vector<Tensor>& mine,
                                          const std::vector<TensorInfo>& outputs, const BatchSlices& slices,
                                          int root, const std::string& model_name) {
  const int ranks = comm.size(), me = comm.rank();
  if (me != root) {
    for (const Tensor& t : mine) {
      Status s = comm.Send(t, root, kTagOutputs);
      if (!s.ok()) comm.Abort("sending outputs to the root: " + s.message(), 1);
    }
    return std::vector<Tensor>{};
  }
  // Root: collect each replica's outputs in rank order and join them on each output's batch axis.
  std::vector<std::vector<Tensor>> parts(outputs.size());
  for (int r = 0; r < ranks; ++r) {
    if (!BatchSliceRuns(slices, r, root)) continue;
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
  std::vector<Tensor> joined;
  for (size_t o = 0; o < parts.size(); ++o) {
    TS_ASSIGN_OR_RETURN(Tensor t, JoinBatchSlices(parts[o], outputs[o], slices.rows[static_cast<size_t>(root)], model_name));
    joined.push_back(std::move(t));
  }
  return joined;
}

StatusOr<std::vector<Tensor>> RunDataParallel(Session& session, Communicator& comm, const std::vector<Tensor>& feeds,
                                              int root) {
  const int me = comm.rank();
  StatusOr<int64_t> batch = int64_t{0};
  if (me == root) batch = BatchOfFeeds(session.inputs(), feeds, session.model_name());
  TS_RETURN_IF_ERROR(AgreeOnRoot(comm, root, batch.status()));

  // Everyone learns the batch and the slice sizes.
  Tensor batch_tensor = Tensor::FromVector<int64_t>(DType::kInt64, {1}, std::vector<int64_t>{me == root ? *batch : 0});
  TS_RETURN_IF_ERROR(comm.Broadcast(batch_tensor, root));
  BatchSlices slices = SplitBatch(batch_tensor.data<int64_t>()[0], comm.size());

  std::vector<Tensor> local = ScatterBatch(comm, feeds, session.inputs().size(), slices, root);
  std::vector<Tensor> mine;
  if (BatchSliceRuns(slices, me, root)) {
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t i = 0; i < local.size(); ++i) named.emplace_back(session.inputs()[i].name, local[i]);
    auto out = session.Run(named);
    if (!out.ok()) comm.Abort("replica " + std::to_string(me) + ": " + out.status().message(), 1);
    mine = std::move(out).value();
  }
  return GatherBatch(comm, mine, session.outputs(), slices, root, session.model_name());
}

}  // namespace tessera
