// Human-readable quantities for reports: "12.3 MiB", "4.10 GFLOP", "1.23 ms", "15.62" (per second).
#pragma once

#include <string>

#include "tessera/status.h"

namespace tessera {

std::string FormatBytes(double bytes);
std::string FormatFlops(double flops);
std::string FormatSeconds(double seconds);
std::string FormatRate(double per_second);

// A byte count as a user writes it: "1500000000", "1.5G", "512MiB", "300MB". K, M, G, T alone or with
// "iB" are powers of 1024; with "B" (KB, MB, GB, TB) powers of 1000; a plain number or "B" is bytes.
// Fails on anything else, on zero, negatives and values above 2^60.
StatusOr<double> ParseByteSize(const std::string& text);

}  // namespace tessera
