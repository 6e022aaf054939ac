// Parsing and serialising the lines of a job file.
#include "parallel/tasks/job_spec.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tessera {

namespace {

// Ordered: inputs keep the order the user wrote them in.
using json = nlohmann::ordered_json;

std::string Resolve(const std::string& path, const std::string& base_dir) {
  if (base_dir.empty() || path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

StatusOr<std::string> StringField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return InvalidArgument(std::string("missing \"") + key + "\"");
  if (!it->is_string()) return InvalidArgument(std::string("\"") + key + "\" must be a string");
  std::string value = it->get<std::string>();
  if (value.empty()) return InvalidArgument(std::string("\"") + key + "\" is empty");
  return value;
}

// The fields of a job object; `with_line` accepts the "line" key the wire form carries.
StatusOr<Job> JobFromObject(const json& object, bool with_line) {
  if (!object.is_object()) return InvalidArgument("a job must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (key != "model" && key != "inputs" && key != "output_dir" && !(with_line && key == "line")) {
      return InvalidArgument("unknown key \"" + key + "\" (a job has \"model\", \"inputs\", \"output_dir\")");
    }
  }
  Job job;
  TS_ASSIGN_OR_RETURN(job.model, StringField(object, "model"));
  TS_ASSIGN_OR_RETURN(job.output_dir, StringField(object, "output_dir"));
  auto inputs = object.find("inputs");
  if (inputs == object.end()) return InvalidArgument("missing \"inputs\"");
  if (!inputs->is_object()) return InvalidArgument("\"inputs\" must be an object of input name to .npy file");
  for (const auto& [name, file] : inputs->items()) {
    if (!file.is_string() || file.get<std::string>().empty()) {
      return InvalidArgument("input \"" + name + "\" must name an .npy file");
    }
    job.inputs.emplace_back(name, file.get<std::string>());
  }
  if (with_line) {
    auto line = object.find("line");
    if (line == object.end() || !line->is_number_integer()) return InvalidArgument("job without a line number");
    job.line = line->get<int>();
  }
  return job;
}

}  // namespace

StatusOr<Job> ParseJobLine(const std::string& text, int line, const std::string& base_dir) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("not valid JSON");
  TS_ASSIGN_OR_RETURN(Job job, JobFromObject(parsed, /*with_line=*/false));
  job.line = line;
  job.model = Resolve(job.model, base_dir);
  job.output_dir = Resolve(job.output_dir, base_dir);
  for (auto& [name, path] : job.inputs) path = Resolve(path, base_dir);
  return job;
}

StatusOr<std::vector<JobLine>> ReadJobFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open job file '" + path + "'");
  const std::string base_dir = std::filesystem::absolute(path).parent_path().string();
  std::vector<JobLine> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    lines.push_back({number, ParseJobLine(text, number, base_dir)});
  }
  if (in.bad()) return IoError("error reading job file '" + path + "'");
  return lines;
}

std::string JobToJson(const Job& job) {
  json object;
  object["line"] = job.line;
  object["model"] = job.model;
  object["inputs"] = json::object();
  for (const auto& [name, file] : job.inputs) object["inputs"][name] = file;
  object["output_dir"] = job.output_dir;
  return object.dump();
}

StatusOr<Job> JobFromJson(const std::string& text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("a job message that is not valid JSON");
  return JobFromObject(parsed, /*with_line=*/true);
}

}  // namespace tessera
