// Helpers shared by the normalization kernels: reading small parameter tensors (scale, bias, mean,
// variance, weights) whose dtype may differ from the data's, and the factories registered in
// normalization.cc but defined in the other normalization_*.cc files.
#pragma once

#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/kernel.h"
#include "ops/registry.h"

namespace tessera {

// The values of a float tensor (float32/64/16, bfloat16) converted to C; fails naming `what` when the
// dtype is not a float or the element count is not `expected_count` (skipped when negative).
template <typename C>
StatusOr<std::vector<C>> ReadParam(const Tensor& t, const std::string& what, int64_t expected_count) {
  if (expected_count >= 0 && t.element_count() != expected_count) {
    return KernelContext::Error(what + " must have " + std::to_string(expected_count) + " elements, got shape " +
                                ShapeToString(t.shape()));
  }
  std::vector<C> values(static_cast<size_t>(t.element_count()));
  Status status = DispatchFloatWithHalf(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<C>(NumericTraits<T>::Load(p[i]));
        return Status::Ok();
      },
      what.c_str());
  if (!status.ok()) return status;
  return values;
}

// Writes `values` into a tensor of float dtype `t` (converted from C).
template <typename C>
void WriteParam(const std::vector<C>& values, Tensor& t) {
  (void)DispatchFloatWithHalf(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Compute = typename NumericTraits<T>::Compute;
    T* p = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = NumericTraits<T>::Store(static_cast<Compute>(values[i]));
    return Status::Ok();
  });
}

KernelFactory MakeGroupNormalizationFactory();  // normalization_group.cc
KernelFactory MakeLayerNormalizationFactory();
KernelFactory MakeLpNormalizationFactory();
KernelFactory MakeLrnFactory();
KernelFactory MakeMeanVarianceNormalizationFactory();
KernelFactory MakeNegativeLogLikelihoodLossFactory();
KernelFactory MakeSoftmaxCrossEntropyLossFactory();
// RMSNormalization, SimplifiedLayerNormalization, Skip(Simplified)LayerNormalization (normalization_rms_skip.cc).
void RegisterRowNormalizationKernels(KernelRegistry& registry);
KernelFactory MakeEmbedLayerNormalizationFactory();  // com.microsoft EmbedLayerNormalization (normalization_embed.cc)

}  // namespace tessera
