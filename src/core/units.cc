// Human-readable quantities for reports (`tessera plan`, pipeline stage tables).
#include "core/units.h"

#include <cstdio>

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

}  // namespace tessera
