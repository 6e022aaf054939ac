// `tessera run`: load a model, feed .npy inputs, write every output as .npy.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "core/npy.h"
#include "tessera/session.h"

namespace tessera::cli {

namespace {

struct InputFile {
  std::string name;
  std::string path;
};

StatusOr<std::vector<InputFile>> ParseInputs(const std::vector<std::string>& specs) {
  std::vector<InputFile> inputs;
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return InvalidArgument("--input must be NAME=FILE.npy, got '" + spec + "'");
    }
    inputs.push_back({spec.substr(0, eq), spec.substr(eq + 1)});
  }
  return inputs;
}

// Matches a user's NAME to a model input after sanitising both.
StatusOr<std::string> MatchInputName(const Session& session, const std::string& name) {
  for (const TensorInfo& info : session.inputs()) {
    if (info.name == name) return info.name;
  }
  for (const TensorInfo& info : session.inputs()) {
    if (SanitizeName(info.name) == SanitizeName(name)) return info.name;
  }
  std::string known;
  for (const TensorInfo& info : session.inputs()) known += (known.empty() ? "" : ", ") + info.name;
  return InvalidArgument("model '" + session.model_name() + "' has no input '" + name + "' (inputs: " + known + ")");
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"input", "output-dir", "threads"}, {});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1) {
    return Fail(InvalidArgument("usage: tessera run MODEL --input NAME=FILE.npy ... --output-dir DIR"), kExitUsage);
  }
  if (!cl->Has("output-dir")) return Fail(InvalidArgument("--output-dir is required"), kExitUsage);
  auto threads = cl->GetInt("threads", 0, 1, 1024);
  if (!threads.ok()) return Fail(threads.status(), kExitUsage);
  auto input_files = ParseInputs(cl->All("input"));
  if (!input_files.ok()) return Fail(input_files.status(), kExitUsage);

  SessionOptions options;
  options.threads = static_cast<int>(*threads);
  auto session = Session::Load(cl->positional()[0], options);
  if (!session.ok()) return Fail(session.status());

  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const InputFile& in : *input_files) {
    auto name = MatchInputName(**session, in.name);
    if (!name.ok()) return Fail(name.status());
    auto tensor = ReadNpy(in.path);
    if (!tensor.ok()) return Fail(tensor.status().WithContext("input '" + in.name + "'"));
    feeds.emplace_back(*name, std::move(tensor).value());
  }

  auto start = std::chrono::steady_clock::now();
  auto outputs = (*session)->Run(feeds);
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!outputs.ok()) return Fail(outputs.status());

  std::error_code ec;
  std::filesystem::create_directories(cl->Get("output-dir"), ec);
  if (ec) return Fail(IoError("cannot create output folder '" + cl->Get("output-dir") + "': " + ec.message()));
  const auto& infos = (*session)->outputs();
  for (size_t i = 0; i < infos.size(); ++i) {
    std::string path = (std::filesystem::path(cl->Get("output-dir")) / (SanitizeName(infos[i].name) + ".npy")).string();
    Status s = WriteNpy(path, (*outputs)[i]);
    if (!s.ok()) return Fail(s);
    std::cout << infos[i].name << ": " << DTypeName((*outputs)[i].dtype()) << " "
              << ShapeToString((*outputs)[i].shape()) << " -> " << path << "\n";
  }
  std::cout << "ran '" << (*session)->model_name() << "' in " << elapsed << " ms, peak tensor memory "
            << (*session)->last_run_stats().peak_bytes / 1024 << " KiB\n";
  return kExitOk;
}

}  // namespace tessera::cli
