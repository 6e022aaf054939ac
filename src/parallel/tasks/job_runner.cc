// One job on one rank, with sessions cached by model path so a model shared by many jobs loads once.
#include "parallel/tasks/job_runner.h"

#include <filesystem>

#include "core/npy.h"

namespace tessera {

namespace {

// A job's input name matched to the model's: exactly, else after sanitising both (as `tessera run` does).
StatusOr<std::string> MatchInput(const Session& session, const std::string& name) {
  for (const TensorInfo& info : session.inputs()) {
    if (info.name == name) return info.name;
  }
  for (const TensorInfo& info : session.inputs()) {
    if (OutputFileStem(info.name) == OutputFileStem(name)) return info.name;
  }
  std::string known;
  for (const TensorInfo& info : session.inputs()) known += (known.empty() ? "" : ", ") + info.name;
  return InvalidArgument("model '" + session.model_name() + "' has no input '" + name + "' (inputs: " + known + ")");
}

}  // namespace

std::string OutputFileStem(const std::string& output_name) {
  std::string out = output_name;
  for (char& c : out) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) c = '_';
  }
  return out;
}

StatusOr<Session*> JobRunner::SessionFor(const std::string& model_path) {
  auto it = sessions_.find(model_path);
  if (it != sessions_.end()) return it->second.get();
  // A failed load is not cached: the file may appear or be fixed before a later job asks again.
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Load(model_path, options_));
  return sessions_.emplace(model_path, std::move(session)).first->second.get();
}

Status JobRunner::Run(const Job& job) {
  TS_ASSIGN_OR_RETURN(Session * session, SessionFor(job.model));
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const auto& [name, path] : job.inputs) {
    TS_ASSIGN_OR_RETURN(std::string input, MatchInput(*session, name));
    auto tensor = ReadNpy(path);
    if (!tensor.ok()) return tensor.status().WithContext("input '" + name + "'");
    DType declared = DType::kUndefined;
    for (const TensorInfo& info : session->inputs()) {
      if (info.name == input) declared = info.dtype;
    }
    // Types numpy lacks arrive as raw codes (core/npy.h).
    TS_ASSIGN_OR_RETURN(Tensor fed, ConvertNpyToDeclared(std::move(tensor).value(), declared, "input '" + name + "'"));
    feeds.emplace_back(input, std::move(fed));
  }
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session->Run(feeds));
  std::error_code ec;
  std::filesystem::create_directories(job.output_dir, ec);
  if (ec) return IoError("cannot create output folder '" + job.output_dir + "': " + ec.message());
  const auto& infos = session->outputs();
  for (size_t i = 0; i < infos.size() && i < outputs.size(); ++i) {
    std::string path = (std::filesystem::path(job.output_dir) / (OutputFileStem(infos[i].name) + ".npy")).string();
    TS_RETURN_IF_ERROR(WriteNpy(path, outputs[i]));
  }
  return Status::Ok();
}

}  // namespace tessera
