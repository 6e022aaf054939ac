// Float32 MaxPool and AveragePool through oneDNN's pooling primitive on plain NC[D]HW tensors, about 6x
// faster than the generic window loops (pool_window.h) for ResNet's 3x3/2 max pool.
//
// Primitives are built on the first run with each input shape and cached. Problems oneDNN cannot express
// exactly are declined so the caller runs the loops: MaxPool's Indices output, and AveragePool counting
// pads when ceil_mode lets the last window run past the explicit end pad (oneDNN would count the overhang).
//
// Thread safety: Run may be called from several threads at once; the cache is locked.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ops/cpu/common/window_geometry.h"

namespace tessera {

class DnnlPool {
 public:
  // With `channels_last`, rank-4 x and y hold NHWC bytes under their NCHW shapes.
  DnnlPool(bool max, bool count_include_pad, bool channels_last = false);
  ~DnnlPool();

  // y = pool(x) for float32 [N, C, spatial...] with the window `g`. Returns false, writing nothing, when
  // the problem is left to the loops.
  StatusOr<bool> Run(const WindowGeometry& g, const Shape& x_shape, const float* x, float* y);

 private:
  struct Plan;

  bool max_;
  bool count_include_pad_;
  bool channels_last_;
  std::mutex mutex_;
  std::map<Shape, std::shared_ptr<Plan>> plans_;  // shared: a run keeps its plan alive
};

}  // namespace tessera
