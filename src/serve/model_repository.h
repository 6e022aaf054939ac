// ModelRepository: finds models on disk in Triton's layout, REPO/<model>/<version>/model.onnx with an
// optional REPO/<model>/config.json, and keeps every path it hands out inside the repository.
//
// Model names come from clients (load/unload requests), so they are checked before touching the file
// system ([A-Za-z0-9_.-]+, never "." or "..") and every resolved path is canonicalised and required to
// stay under the repository's canonical root: a symlink pointing outside is refused, not followed.
//
// Thread safety: const methods may be called concurrently; the repository reads the disk on every call, so
// models added or removed while the server runs are seen by the next index or load.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera::serve {

// One model folder as found on disk.
struct ModelFolder {
  std::string name;
  std::map<int64_t, std::string> versions;  // version number -> canonical path of its model.onnx
  std::optional<std::string> config_path;   // canonical path of config.json when there is one
  std::string problem;                      // why the folder has no servable version ("" when it has one)
};

// InvalidArgument when `name` may not name a model: empty, ".", "..", too long, or a character outside
// [A-Za-z0-9_.-].
Status ValidateModelName(const std::string& name);

// `text` with every byte outside printable ASCII replaced by '?': client-sent names are echoed in error
// messages, which must stay valid text for logs, terminals and JSON.
std::string PrintableName(const std::string& text);

class ModelRepository {
 public:
  // A repository rooted at `root`; NotFound when it is not a readable directory.
  static StatusOr<ModelRepository> Open(const std::string& root);
  // A repository holding one model with one version (the bundled example).
  static ModelRepository SingleModel(const std::string& name, int64_t version, const std::string& model_path);

  // Names of every folder that could be a model (valid names only), sorted.
  std::vector<std::string> ListModels() const;
  // The folder of `name`; InvalidArgument for a bad name or a path leaving the repository, NotFound when
  // there is no such folder. A folder without any version is returned with `problem` set.
  StatusOr<ModelFolder> Locate(const std::string& name) const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;                   // canonical; empty for a single-model repository
  std::optional<ModelFolder> single_;  // set for SingleModel
};

// The bundled example model, examples/tiny_cnn/model.onnx, found beside the executable (<exe dir>/../examples)
// or in the source tree it was built from. NotFound naming the places searched.
StatusOr<std::string> FindBundledExampleModel();

}  // namespace tessera::serve
