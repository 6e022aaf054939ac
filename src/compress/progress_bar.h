// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and CI see nothing).
#pragma once

#include <cstddef>
#include <string>

namespace tessera::compress {

class ProgressBar {
 public:
  // `enabled` false (or stderr not a terminal) makes every call a no-op.
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  void Step(const std::string& stage, size_t done, size_t total);

 private:
  bool active_;
  bool drawn_ = false;
};

}  // namespace tessera::compress
