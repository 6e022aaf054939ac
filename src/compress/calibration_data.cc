// Reading calibration samples from a folder (layout in calibration_data.h).
#include "compress/calibration_data.h"

#include <algorithm>
#include <filesystem>

#include "core/npy.h"

namespace tessera::compress {
namespace {

namespace fs = std::filesystem;

std::string FileSafeName(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

StatusOr<CalibrationSample> LoadSample(const fs::path& folder, const std::vector<std::string>& input_names) {
  CalibrationSample sample;
  for (const std::string& name : input_names) {
    fs::path file = folder / (name + ".npy");
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) file = folder / (FileSafeName(name) + ".npy");
    if (!fs::is_regular_file(file, ec)) {
      return NotFound("calibration folder '" + folder.string() + "' has no '" + FileSafeName(name) +
                      ".npy' for model input '" + name + "'");
    }
    TS_ASSIGN_OR_RETURN(Tensor t, ReadNpy(file.string()));
    sample.emplace_back(name, std::move(t));
  }
  return sample;
}

}  // namespace

StatusOr<std::vector<CalibrationSample>> LoadCalibrationSamples(const std::string& dir,
                                                                const std::vector<std::string>& input_names) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("calibration folder '" + dir + "' does not exist");
  std::vector<fs::path> subfolders;
  bool has_npy = false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory()) subfolders.push_back(entry.path());
    if (entry.is_regular_file() && entry.path().extension() == ".npy") has_npy = true;
  }
  if (ec) return IoError("cannot list calibration folder '" + dir + "'");
  std::vector<CalibrationSample> samples;
  if (has_npy) {
    TS_ASSIGN_OR_RETURN(CalibrationSample s, LoadSample(dir, input_names));
    samples.push_back(std::move(s));
    return samples;
  }
  std::sort(subfolders.begin(), subfolders.end());
  for (const fs::path& sub : subfolders) {
    TS_ASSIGN_OR_RETURN(CalibrationSample s, LoadSample(sub, input_names));
    samples.push_back(std::move(s));
  }
  if (samples.empty()) {
    return NotFound("calibration folder '" + dir + "' holds neither <input>.npy files nor sample subfolders");
  }
  return samples;
}

}  // namespace tessera::compress
