// Human-readable quantities for reports: "12.3 MiB", "4.10 GFLOP", "1.23 ms", "15.62" (per second).
#pragma once

#include <string>

namespace tessera {

std::string FormatBytes(double bytes);
std::string FormatFlops(double flops);
std::string FormatSeconds(double seconds);
std::string FormatRate(double per_second);

}  // namespace tessera
