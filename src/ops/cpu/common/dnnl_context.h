// The oneDNN engine and stream shared by every CPU kernel, and the thread count oneDNN uses.
#pragma once

#include <dnnl.hpp>

#include "tessera/tensor.h"

namespace tessera {

// Process-wide CPU engine.
dnnl::engine& DnnlEngine();
// A stream on that engine for the calling thread.
dnnl::stream& DnnlStream();
// oneDNN parallelises with OpenMP in Debian's build; this sets its thread count for the calling thread.
void SetDnnlThreads(int threads);
// oneDNN's data type for `dtype`, or undef.
dnnl::memory::data_type ToDnnl(DType dtype);

}  // namespace tessera
