// ProgressBar: carriage-return redraws of "stage [#####.....] done/total".
#include "compress/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace tessera::compress {

ProgressBar::ProgressBar(bool enabled) : active_(enabled && isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::Step(const std::string& stage, size_t done, size_t total) {
  if (!active_ || total == 0) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  std::fprintf(stderr, "\r%-12s [%.*s%.*s] %zu/%zu", stage.c_str(), filled, "##############################",
               kWidth - filled, "..............................", done, total);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace tessera::compress
