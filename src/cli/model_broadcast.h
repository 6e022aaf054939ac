// --broadcast-weights: rank 0 sends the model file and its external data files to the other ranks, for
// hosts that do not have them.
//
// Without the flag no weight crosses the network: every rank reads its share from the files itself. With
// it, rank 0 sends each file whole (a receiving rank cannot know its share before it has the graph, and a
// rank's share is cut from the files anyway), in 64 MiB broadcasts; every other rank writes them into a
// private temporary folder and loads from there, reading only its share as usual. The folder is removed
// once the plan is built: the weights a rank kept are mapped, and a mapped file stays readable after its
// name is gone. Only the files the model names are sent: the .onnx and the main graph's external data,
// each resolved inside the model's folder as the loader does.
#pragma once

#include <string>

#include "parallel/comm/communicator.h"

namespace tessera::cli {

class SharedModelFiles {
 public:
  // Collective. Fails on every rank alike when rank 0 cannot read the files or a rank cannot write them.
  static StatusOr<SharedModelFiles> Share(Communicator& comm, const std::string& model_path);
  SharedModelFiles(SharedModelFiles&& other) noexcept;
  SharedModelFiles& operator=(SharedModelFiles&&) = delete;
  ~SharedModelFiles();

  // The model file to load on this rank: `model_path` on rank 0, the received copy elsewhere.
  const std::string& path() const { return path_; }
  // Bytes sent (rank 0) or received (the others).
  size_t bytes() const { return bytes_; }

 private:
  SharedModelFiles() = default;
  std::string path_;
  std::string temp_dir_;  // empty on rank 0
  size_t bytes_ = 0;
};

}  // namespace tessera::cli
