// Jobs for `tessera run-jobs`: one JSON object per line of a .jsonl file.
//
//   {"model": "resnet50/model.onnx", "inputs": {"input": "in/0.npy"}, "output_dir": "out/0"}
//
// "model" and "output_dir" are strings, "inputs" maps a model input's name to an .npy file (it may be
// empty for a model without inputs). Other keys are refused, so a misspelt key is an error rather than
// a silently ignored setting. Relative paths are relative to the folder holding the .jsonl file, so a
// job file and its data can move together. Blank lines are skipped; every other line is one job, and a
// line that is not such an object becomes a failed job (with its line number), never a stop.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tessera/status.h"

namespace tessera {

struct Job {
  int line = 0;  // 1-based line in the job file, for messages
  std::string model;
  std::vector<std::pair<std::string, std::string>> inputs;  // model input name, .npy path (file order)
  std::string output_dir;
};

// One non-blank line of a job file: the job, or why the line is not one.
struct JobLine {
  int line = 0;
  StatusOr<Job> job = Internal("unset");
};

// Parses one line's text; relative paths are joined to `base_dir` (empty: left as they are). Errors
// say what is wrong with the line, not its number (the caller holds that).
StatusOr<Job> ParseJobLine(const std::string& text, int line, const std::string& base_dir);

// Reads every non-blank line of `path`. Fails only when the file cannot be read.
StatusOr<std::vector<JobLine>> ReadJobFile(const std::string& path);

// The job as one JSON object (paths as they are, line included) and back: how a job travels to a rank.
std::string JobToJson(const Job& job);
StatusOr<Job> JobFromJson(const std::string& text);

}  // namespace tessera
