// Running an ensemble: round-robin placement, broadcast inputs, gather outputs on rank 0, combine.
#include "parallel/ensemble/ensemble.h"

#include <cctype>
#include <memory>

#include "core/npy.h"
#include "parallel/comm/agreement.h"

namespace tessera {

namespace {

// A request's input name matched to one model's input: exactly, else ignoring characters that are not
// [A-Za-z0-9._-] (as `tessera run` does, since names come from file names).
StatusOr<std::string> MatchInput(const Session& session, const std::string& name) {
  auto plain = [](std::string s) {
    for (char& c : s) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
    }
    return s;
  };
  for (const TensorInfo& info : session.inputs()) {
    if (info.name == name) return info.name;
  }
  for (const TensorInfo& info : session.inputs()) {
    if (plain(info.name) == plain(name)) return info.name;
  }
  std::string known;
  for (const TensorInfo& info : session.inputs()) known += (known.empty() ? "" : ", ") + info.name;
  return InvalidArgument("ensemble model '" + session.model_name() + "' has no input '" + name + "' (inputs: " + known + ")");
}

StatusOr<std::vector<Tensor>> ReadInputs(const EnsembleRequest& request) {
  std::vector<Tensor> tensors;
  for (const auto& [name, path] : request.inputs) {
    auto t = ReadNpy(path);
    if (!t.ok()) return t.status().WithContext("input '" + name + "'");
    tensors.push_back(std::move(t).value());
  }
  return tensors;
}

StatusOr<std::vector<Tensor>> RunModel(Session& session, const EnsembleRequest& request, const std::vector<Tensor>& inputs) {
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TS_ASSIGN_OR_RETURN(std::string name, MatchInput(session, request.inputs[i].first));
    feeds.emplace_back(name, inputs[i]);
  }
  return session.Run(feeds);
}

Status SendOutputs(Communicator& comm, const std::vector<Tensor>& outputs) {
  TS_RETURN_IF_ERROR(comm.Send(Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{static_cast<int64_t>(outputs.size())}), 0,
                               kEnsembleOutputsTag));
  for (const Tensor& t : outputs) TS_RETURN_IF_ERROR(comm.Send(t, 0, kEnsembleOutputsTag));
  return Status::Ok();
}

StatusOr<std::vector<Tensor>> RecvOutputs(Communicator& comm, int src) {
  TS_ASSIGN_OR_RETURN(Tensor count, comm.Recv(src, kEnsembleOutputsTag));
  // The peer runs the same program; a count out of range means a corrupted stream, not a user error.
  if (count.dtype() != DType::kInt64 || count.element_count() != 1 || count.data<int64_t>()[0] < 0 ||
      count.data<int64_t>()[0] > 1 << 20) {
    return InvalidArgument("rank " + std::to_string(src) + " sent a malformed ensemble output count");
  }
  std::vector<Tensor> outputs;
  for (int64_t i = 0; i < count.data<int64_t>()[0]; ++i) {
    TS_ASSIGN_OR_RETURN(Tensor t, comm.Recv(src, kEnsembleOutputsTag));
    outputs.push_back(std::move(t));
  }
  return outputs;
}

}  // namespace

std::vector<size_t> EnsembleModelsOfRank(size_t model_count, int rank, int world_size) {
  std::vector<size_t> mine;
  for (size_t m = static_cast<size_t>(rank); m < model_count; m += static_cast<size_t>(world_size)) mine.push_back(m);
  return mine;
}

StatusOr<EnsembleResult> RunEnsemble(Communicator& comm, const EnsembleRequest& request, bool* failed_here) {
  bool ignored = false;
  bool& own = failed_here ? *failed_here : ignored;
  own = true;  // until a step fails elsewhere
  if (request.model_paths.empty()) return InvalidArgument("an ensemble needs at least one --model");
  const bool root = comm.rank() == 0;
  const std::vector<size_t> mine = EnsembleModelsOfRank(request.model_paths.size(), comm.rank(), comm.size());

  std::vector<std::unique_ptr<Session>> sessions;
  Status loaded = Status::Ok();
  for (size_t m : mine) {
    auto session = Session::Load(request.model_paths[m], request.options);
    if (!session.ok()) {
      loaded = session.status();
      break;
    }
    sessions.push_back(std::move(session).value());
  }
  own = !loaded.ok();
  TS_RETURN_IF_ERROR(AgreeAll(comm, loaded));

  StatusOr<std::vector<Tensor>> inputs = std::vector<Tensor>(request.inputs.size());
  if (root) inputs = ReadInputs(request);
  own = root;
  TS_RETURN_IF_ERROR(AgreeOnRoot(comm, 0, inputs.status()));
  for (Tensor& t : *inputs) TS_RETURN_IF_ERROR(comm.Broadcast(t, 0));

  std::vector<std::vector<Tensor>> my_outputs;
  Status ran = Status::Ok();
  for (size_t i = 0; i < sessions.size() && ran.ok(); ++i) {
    auto outputs = RunModel(*sessions[i], request, *inputs);
    if (outputs.ok()) my_outputs.push_back(std::move(outputs).value());
    ran = outputs.status();
  }
  own = !ran.ok();
  TS_RETURN_IF_ERROR(AgreeAll(comm, ran));
  own = root;  // from here on only rank 0 can fail (combining)

  EnsembleResult result;
  if (!root) {
    for (const auto& outputs : my_outputs) {
      if (Status s = SendOutputs(comm, outputs); !s.ok()) comm.Abort("ensemble: " + s.message(), 1);
    }
    return result;
  }
  // Rank 0 collects in model order: its own models from memory, the others' in the order each rank ran them.
  std::vector<std::vector<Tensor>> all(request.model_paths.size());
  std::vector<std::string> names(request.model_paths.size());
  for (size_t i = 0; i < mine.size(); ++i) all[mine[i]] = std::move(my_outputs[i]);
  for (size_t m = 0; m < request.model_paths.size(); ++m) {
    names[m] = request.model_paths[m];
    int owner = static_cast<int>(m % static_cast<size_t>(comm.size()));
    if (owner == 0) continue;
    auto outputs = RecvOutputs(comm, owner);
    if (!outputs.ok()) comm.Abort("ensemble: " + outputs.status().message(), 1);
    all[m] = std::move(outputs).value();
  }
  TS_ASSIGN_OR_RETURN(result.outputs, AggregateEnsembleOutputs(all, names, request.aggregation));
  for (const TensorInfo& info : sessions[0]->outputs()) result.output_names.push_back(info.name);
  return result;
}

}  // namespace tessera
