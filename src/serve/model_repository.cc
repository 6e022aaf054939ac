// Scanning the repository folder and resolving model paths without leaving it.
#include "serve/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace tessera::serve {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxNameLength = 255;

// Whether canonical `path` is `root` itself or below it.
bool IsInside(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

// A version folder's number: decimal digits only ("1", "20"), without sign or leading zeros beyond "0".
std::optional<int64_t> ParseVersion(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  return std::stoll(s);
}

}  // namespace

std::string PrintableName(const std::string& text) {
  std::string shown;
  for (char c : text.substr(0, 256)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 256) shown += "...";
  return shown;
}

Status ValidateModelName(const std::string& name) {
  if (name.empty()) return InvalidArgument("empty model name");
  if (name.size() > kMaxNameLength)
    return InvalidArgument("model name longer than " + std::to_string(kMaxNameLength) + " characters");
  if (name == "." || name == "..") return InvalidArgument("'" + name + "' is not a model name");
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) {
      return InvalidArgument("model name '" + PrintableName(name) +
                             "' may only hold letters, digits, '_', '.' and '-'");
    }
  }
  return Status::Ok();
}

StatusOr<ModelRepository> ModelRepository::Open(const std::string& root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) return NotFound("model repository '" + root + "' is not a directory");
  ModelRepository repo;
  repo.root_ = canonical.string();
  return repo;
}

ModelRepository ModelRepository::SingleModel(const std::string& name, int64_t version, const std::string& model_path) {
  ModelRepository repo;
  ModelFolder folder;
  folder.name = name;
  folder.versions[version] = model_path;
  repo.single_ = folder;
  return repo;
}

std::vector<std::string> ModelRepository::ListModels() const {
  if (single_) return {single_->name};
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!ValidateModelName(name).ok() || name[0] == '.') continue;  // hidden folders are not models
    if (it->is_directory(ec)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<ModelFolder> ModelRepository::Locate(const std::string& name) const {
  TS_RETURN_IF_ERROR(ValidateModelName(name));
  if (single_) {
    if (name != single_->name)
      return NotFound("no model named '" + name + "' (this server has only '" + single_->name + "')");
    return *single_;
  }
  const fs::path root(root_);
  std::error_code ec;
  fs::path dir = fs::canonical(root / name, ec);
  if (ec || !fs::is_directory(dir, ec)) return NotFound("no model named '" + name + "' in repository '" + root_ + "'");
  if (!IsInside(dir, root) || dir == root) {
    return InvalidArgument("model '" + name + "' resolves to '" + dir.string() + "', outside the repository");
  }
  ModelFolder folder;
  folder.name = name;
  std::vector<std::string> refused;  // version folders that resolve outside the repository
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::optional<int64_t> version = ParseVersion(it->path().filename().string());
    if (!version) continue;
    std::error_code file_ec;
    fs::path model = fs::canonical(it->path() / "model.onnx", file_ec);
    if (file_ec || !fs::is_regular_file(model, file_ec)) continue;
    if (!IsInside(model, root)) {
      refused.push_back(it->path().filename().string());
      continue;
    }
    folder.versions[*version] = model.string();
  }
  fs::path config = dir / "config.json";
  if (fs::exists(config, ec)) {
    fs::path canonical_config = fs::canonical(config, ec);
    if (ec || !IsInside(canonical_config, root)) {
      folder.problem = "config.json resolves outside the repository";
      folder.versions.clear();
      return folder;
    }
    folder.config_path = canonical_config.string();
  }
  if (folder.versions.empty()) {
    folder.problem = refused.empty()
                         ? "no version folder holds a model.onnx (expected " + name + "/<number>/model.onnx)"
                         : "version " + refused.front() + " resolves outside the repository";
  }
  return folder;
}

StatusOr<std::string> FindBundledExampleModel() {
  const std::string relative = "tiny_cnn/model.onnx";
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / ".." / "examples" / relative);
#ifdef TESSERA_SOURCE_DIR
  candidates.push_back(fs::path(TESSERA_SOURCE_DIR) / "examples" / relative);
#endif
  std::string searched;
  for (const fs::path& c : candidates) {
    if (fs::is_regular_file(c, ec)) return fs::weakly_canonical(c, ec).string();
    searched += (searched.empty() ? "" : ", ") + c.string();
  }
  return NotFound("the bundled example model was not found (searched " + searched + "); pass --model-repo");
}

}  // namespace tessera::serve
