// Human-readable quantities for reports (`tessera plan`, pipeline stage tables).
#include "core/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace tessera {

std::string FormatBytes(double bytes) {
  char text[64];
  if (bytes >= 1024.0 * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  } else if (bytes >= 1024.0 * 1024) {
    std::snprintf(text, sizeof text, "%.2f MiB", bytes / (1024.0 * 1024));
  } else if (bytes >= 1024.0) {
    std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  }
  return text;
}

std::string FormatFlops(double flops) {
  char text[64];
  if (flops >= 1e9) {
    std::snprintf(text, sizeof text, "%.2f GFLOP", flops / 1e9);
  } else if (flops >= 1e6) {
    std::snprintf(text, sizeof text, "%.2f MFLOP", flops / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.0f FLOP", flops);
  }
  return text;
}

std::string FormatRate(double per_second) {
  char text[64];
  std::snprintf(text, sizeof text, per_second >= 100 ? "%.0f" : "%.2f", per_second);
  return text;
}

std::string FormatSeconds(double seconds) {
  char text[64];
  if (seconds >= 1) {
    std::snprintf(text, sizeof text, "%.2f s", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(text, sizeof text, "%.2f ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.1f us", seconds * 1e6);
  }
  return text;
}

StatusOr<double> ParseByteSize(const std::string& text) {
  auto bad = [&]() {
    return InvalidArgument("'" + text + "' is not a byte count (examples: 1500000000, 1.5G, 512MiB, 300MB)");
  };
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return bad();
  }
  if (used == 0 || !std::isdigit(static_cast<unsigned char>(text[0]))) return bad();
  std::string unit = text.substr(used);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  const std::string prefixes = "KMGT";
  if (unit.size() >= 1 && prefixes.find(unit[0]) != std::string::npos) {
    const double power = static_cast<double>(prefixes.find(unit[0]) + 1);
    const std::string rest = unit.substr(1);
    if (rest.empty() || rest == "IB") scale = std::pow(1024.0, power);
    if (rest == "B") scale = std::pow(1000.0, power);
  }
  if (scale == 0) return bad();
  const double bytes = value * scale;
  if (!(bytes >= 1) || bytes > std::pow(2.0, 60)) return bad();
  return bytes;
}

}  // namespace tessera
