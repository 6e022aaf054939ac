// ReducePlan: how to walk a tensor when reducing it over a set of axes.
//
// Dims of size 1 are dropped and adjacent dims that are both kept or both reduced are merged, so any
// reduction becomes groups of output elements, each reading the same reduced "blocks". The innermost
// merged dim decides the access pattern: when it is reduced, every output reads `run` contiguous
// elements per block (inner == 1); when it is kept, every group writes `inner` contiguous outputs and
// each block contributes a contiguous vector of them (run == 1). Both layouts keep inner loops
// unit-stride so they vectorise.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

struct ReducePlan {
  std::vector<int64_t> groups;  // input offset of each output group, in output order
  std::vector<int64_t> blocks;  // offset of each reduced block relative to its group
  int64_t inner = 1;            // contiguous outputs per group (kept innermost dim)
  int64_t run = 1;              // contiguous elements per block (reduced innermost dim)
  int64_t count = 1;            // elements reduced into each output: blocks.size() * run
};

// `reduced[d]` says whether dim d of `shape` is reduced. The shape must have a valid element count.
inline ReducePlan MakeReducePlan(const Shape& shape, const std::vector<bool>& reduced) {
  struct MergedDim {
    int64_t size;
    bool reduced;
  };
  std::vector<MergedDim> dims;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!dims.empty() && dims.back().reduced == reduced[d]) {
      dims.back().size *= shape[d];
    } else {
      dims.push_back({shape[d], reduced[d]});
    }
  }
  ReducePlan plan;
  if (!dims.empty()) {
    (dims.back().reduced ? plan.run : plan.inner) = dims.back().size;
  }
  // Offsets of the outer dims, built outermost first so each list is in row-major order.
  std::vector<int64_t> stride(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) stride[d - 1] = stride[d] * dims[d].size;
  plan.groups = {0};
  plan.blocks = {0};
  for (size_t d = 0; d + 1 < dims.size(); ++d) {
    std::vector<int64_t>& list = dims[d].reduced ? plan.blocks : plan.groups;
    std::vector<int64_t> next;
    next.reserve(list.size() * static_cast<size_t>(dims[d].size));
    for (int64_t base : list) {
      for (int64_t k = 0; k < dims[d].size; ++k) next.push_back(base + k * stride[d]);
    }
    list.swap(next);
  }
  plan.count = static_cast<int64_t>(plan.blocks.size()) * plan.run;
  return plan;
}

}  // namespace tessera
