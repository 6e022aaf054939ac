// Running one job on this rank: load (or reuse) the model's session, read the inputs, run, write outputs.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "parallel/tasks/job_spec.h"
#include "tessera/session.h"

namespace tessera {

class JobRunner {
 public:
  explicit JobRunner(SessionOptions options) : options_(options) {}

  // Runs `job` and writes each output to <output_dir>/<sanitised output name>.npy. Every failure (model,
  // inputs, run, writing) comes back as a Status naming the file or value at fault; nothing is retried.
  Status Run(const Job& job);

  // How many models this runner has loaded (each once: sessions are cached by model path).
  size_t sessions_loaded() const { return sessions_.size(); }

 private:
  StatusOr<Session*> SessionFor(const std::string& model_path);

  SessionOptions options_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
};

// Replaces every character outside [A-Za-z0-9._-] with '_', as `tessera run` names output files.
std::string OutputFileStem(const std::string& output_name);

}  // namespace tessera
