// Elementwise sum/mean and axis-0 concatenation of the ensemble's outputs.
#include "parallel/ensemble/ensemble_aggregate.h"

#include <cstring>
#include <type_traits>

namespace tessera {

namespace {

std::string Describe(const Tensor& t) { return std::string(DTypeName(t.dtype())) + " " + ShapeToString(t.shape()); }

template <typename T>
Tensor SumAs(const std::vector<const Tensor*>& parts, Tensor out, bool mean) {
  const int64_t n = out.element_count();
  T* dst = out.data<T>();
  if constexpr (std::is_floating_point_v<T>) {
    // Accumulate in double so the order of models does not change the result beyond one rounding.
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (const Tensor* p : parts) acc += static_cast<double>(p->data<T>()[i]);
      dst[i] = static_cast<T>(mean ? acc / static_cast<double>(parts.size()) : acc);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      T acc = 0;
      for (const Tensor* p : parts) acc = static_cast<T>(acc + p->data<T>()[i]);
      dst[i] = acc;
    }
  }
  return out;
}

StatusOr<Tensor> SumOrMean(const std::vector<const Tensor*>& parts, bool mean, const std::string& what) {
  const Tensor& first = *parts[0];
  const DType dtype = first.dtype();
  const bool is_float = dtype == DType::kFloat32 || dtype == DType::kFloat64;
  const bool is_int = dtype == DType::kInt32 || dtype == DType::kInt64;
  if (!is_float && !(is_int && !mean)) {
    return InvalidArgument(what + " is " + DTypeName(dtype) + ": --aggregate " + (mean ? "mean" : "sum") + " takes " +
                           (mean ? "float32 or float64" : "float32, float64, int32 or int64") + " outputs (concat takes any)");
  }
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(dtype, first.shape()));
  switch (dtype) {
    case DType::kFloat32: return SumAs<float>(parts, out, mean);
    case DType::kFloat64: return SumAs<double>(parts, out, mean);
    case DType::kInt32: return SumAs<int32_t>(parts, out, mean);
    default: return SumAs<int64_t>(parts, out, mean);
  }
}

StatusOr<Tensor> ConcatAxis0(const std::vector<const Tensor*>& parts) {
  Shape shape = parts[0]->shape();
  shape[0] = 0;
  for (const Tensor* p : parts) shape[0] += p->dim(0);
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(parts[0]->dtype(), shape));
  char* dst = static_cast<char*>(out.raw_data());
  for (const Tensor* p : parts) {
    if (p->byte_size() > 0) std::memcpy(dst, p->raw_data(), p->byte_size());
    dst += p->byte_size();
  }
  return out;
}

}  // namespace

StatusOr<EnsembleAggregation> ParseEnsembleAggregation(const std::string& name) {
  if (name == "sum") return EnsembleAggregation::kSum;
  if (name == "mean") return EnsembleAggregation::kMean;
  if (name == "concat") return EnsembleAggregation::kConcat;
  return InvalidArgument("--aggregate must be sum, mean or concat, got '" + name + "'");
}

const char* EnsembleAggregationName(EnsembleAggregation aggregation) {
  switch (aggregation) {
    case EnsembleAggregation::kSum: return "sum";
    case EnsembleAggregation::kMean: return "mean";
    default: return "concat";
  }
}

StatusOr<std::vector<Tensor>> AggregateEnsembleOutputs(const std::vector<std::vector<Tensor>>& outputs,
                                                       const std::vector<std::string>& model_names,
                                                       EnsembleAggregation aggregation) {
  if (outputs.empty() || outputs.size() != model_names.size()) return InvalidArgument("an ensemble needs at least one model");
  for (size_t m = 1; m < outputs.size(); ++m) {
    if (outputs[m].size() != outputs[0].size()) {
      return InvalidArgument("ensemble models disagree on the number of outputs: '" + model_names[0] + "' has " +
                             std::to_string(outputs[0].size()) + ", '" + model_names[m] + "' has " +
                             std::to_string(outputs[m].size()));
    }
  }
  std::vector<Tensor> result;
  for (size_t k = 0; k < outputs[0].size(); ++k) {
    const Tensor& first = outputs[0][k];
    const std::string what = "output " + std::to_string(k) + " of '" + model_names[0] + "'";
    std::vector<const Tensor*> parts;
    for (size_t m = 0; m < outputs.size(); ++m) {
      const Tensor& t = outputs[m][k];
      bool same = t.dtype() == first.dtype() && t.rank() == first.rank();
      if (same && aggregation == EnsembleAggregation::kConcat) {
        for (int64_t d = 1; d < t.rank(); ++d) same = same && t.dim(d) == first.dim(d);
      } else if (same) {
        same = t.shape() == first.shape();
      }
      if (!same) {
        return InvalidArgument("cannot " + std::string(EnsembleAggregationName(aggregation)) + " output " + std::to_string(k) +
                               ": '" + model_names[0] + "' gives " + Describe(first) + ", '" + model_names[m] + "' gives " +
                               Describe(t) +
                               (aggregation == EnsembleAggregation::kConcat ? " (concat needs equal dtypes and all dims but the first)"
                                                                            : " (sum and mean need equal dtypes and shapes)"));
      }
      parts.push_back(&t);
    }
    if (aggregation == EnsembleAggregation::kConcat) {
      if (first.rank() == 0) return InvalidArgument(what + " is a scalar: concat joins along axis 0, so it needs rank 1 or more");
      if (first.dtype() == DType::kString) return Unimplemented(what + " holds strings, which concat does not join");
      TS_ASSIGN_OR_RETURN(Tensor joined, ConcatAxis0(parts));
      result.push_back(std::move(joined));
    } else {
      TS_ASSIGN_OR_RETURN(Tensor combined, SumOrMean(parts, aggregation == EnsembleAggregation::kMean, what));
      result.push_back(std::move(combined));
    }
  }
  return result;
}

}  // namespace tessera
