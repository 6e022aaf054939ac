// ai.onnx.ml preprocessing ops:
// - Binarizer: 1 where x > threshold, else 0, in the input's type.
// - Scaler: (x - offset) * scale as float, offset and scale of one value or one per column.
// - Normalizer: each row divided by its MAX (largest value), L1 (sum of |x|) or L2 (root of the sum of
//   squares) norm, as float. A row whose norm is 0 is left as it is.
// - Imputer: values equal to replaced_value (NaN matches NaN) become the imputed value, one or per column.
// - ArrayFeatureExtractor: X[..., indices] along the last axis; a 1-D X gives [1, count].
// - FeatureVectorizer: inputs concatenated along the last axis as float, input i cut or zero-padded to
//   inputdimensions[i] columns.
// - OneHotEncoder: each value's one-hot row over cats_int64s or cats_strings (a new last axis, float);
//   a value in no category gives a row of zeros, or an error when zeros is 0. Float inputs are compared
//   as integers (truncated), as ONNX Runtime does.
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"
#include "ops/dispatch.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

Status Binarizer(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const float threshold = ctx.node().GetFloat("threshold", 0.0f);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y->data<T>();
    for (int64_t i = 0; i < x.element_count(); ++i) out[i] = static_cast<double>(in[i]) > threshold ? T(1) : T(0);
    return Status::Ok();
  };
  switch (x.dtype()) {
    case DType::kFloat32: return run(float{});
    case DType::kFloat64: return run(double{});
    case DType::kInt32: return run(int32_t{});
    case DType::kInt64: return run(int64_t{});
    default: return KernelContext::Error(std::string("Binarizer does not take ") + DTypeName(x.dtype()));
  }
}

// Per-column values of an attribute of one value or `cols` values.
StatusOr<std::vector<float>> PerColumn(const std::vector<float>& values, int64_t cols, const char* what,
                                       float fallback) {
  if (values.empty()) return std::vector<float>(static_cast<size_t>(cols), fallback);
  if (values.size() == 1) return std::vector<float>(static_cast<size_t>(cols), values[0]);
  if (static_cast<int64_t>(values.size()) != cols) {
    return KernelContext::Error(std::string("attribute '") + what + "' has " + std::to_string(values.size()) +
                                " values for " + std::to_string(cols) + " columns");
  }
  return values;
}

Status Scaler(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  TS_ASSIGN_OR_RETURN(MlRows r, ReadMlRows(x, "X"));
  TS_ASSIGN_OR_RETURN(auto offset, PerColumn(ctx.node().GetFloats("offset"), r.cols, "offset", 0.0f));
  TS_ASSIGN_OR_RETURN(auto scale, PerColumn(ctx.node().GetFloats("scale"), r.cols, "scale", 1.0f));
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, x.shape()));
  float* out = y->data<float>();
  for (int64_t i = 0; i < r.rows * r.cols; ++i) {
    const size_t c = static_cast<size_t>(i % r.cols);
    out[i] = (r.values[static_cast<size_t>(i)] - offset[c]) * scale[c];
  }
  return Status::Ok();
}

Status Normalizer(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::string norm = ctx.node().GetString("norm", "MAX");
  if (norm != "MAX" && norm != "L1" && norm != "L2") {
    return KernelContext::Error("attribute 'norm' must be MAX, L1 or L2, got \"" + norm + "\"");
  }
  TS_ASSIGN_OR_RETURN(MlRows r, ReadMlRows(x, "X"));
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, x.shape()));
  float* out = y->data<float>();
  for (int64_t row = 0; row < r.rows; ++row) {
    const float* in = r.values.data() + row * r.cols;
    double n = norm == "MAX" ? -INFINITY : 0.0;
    for (int64_t c = 0; c < r.cols; ++c) {
      if (norm == "MAX") n = std::max<double>(n, in[c]);
      if (norm == "L1") n += std::fabs(in[c]);
      if (norm == "L2") n += static_cast<double>(in[c]) * in[c];
    }
    if (norm == "L2") n = std::sqrt(n);
    for (int64_t c = 0; c < r.cols; ++c) {
      out[row * r.cols + c] = n == 0 || !std::isfinite(n) ? in[c] : static_cast<float>(in[c] / n);
    }
  }
  return Status::Ok();
}

Status Imputer(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  const int64_t cols = x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  if (x.dtype() == DType::kFloat32) {
    TS_ASSIGN_OR_RETURN(auto imputed,
                        PerColumn(node.GetFloats("imputed_value_floats"), cols, "imputed_value_floats", 0));
    if (node.GetFloats("imputed_value_floats").empty()) {
      return KernelContext::Error("attribute 'imputed_value_floats' is required for a float input");
    }
    const float replaced = node.GetFloat("replaced_value_float", 0.0f);
    const float* in = x.data<float>();
    float* out = y->data<float>();
    for (int64_t i = 0; i < x.element_count(); ++i) {
      const bool hit = std::isnan(replaced) ? std::isnan(in[i]) : in[i] == replaced;
      out[i] = hit ? imputed[static_cast<size_t>(i % cols)] : in[i];
    }
    return Status::Ok();
  }
  if (x.dtype() == DType::kInt64) {
    std::vector<int64_t> imputed = node.GetInts("imputed_value_int64s");
    if (imputed.empty()) return KernelContext::Error("attribute 'imputed_value_int64s' is required for an int64 input");
    if (imputed.size() != 1 && static_cast<int64_t>(imputed.size()) != cols) {
      return KernelContext::Error("attribute 'imputed_value_int64s' has " + std::to_string(imputed.size()) +
                                  " values for " + std::to_string(cols) + " columns");
    }
    const int64_t replaced = node.GetInt("replaced_value_int64", 0);
    const int64_t* in = x.data<int64_t>();
    int64_t* out = y->data<int64_t>();
    for (int64_t i = 0; i < x.element_count(); ++i) {
      out[i] = in[i] == replaced ? imputed[imputed.size() == 1 ? 0 : static_cast<size_t>(i % cols)] : in[i];
    }
    return Status::Ok();
  }
  return KernelContext::Error(std::string("Imputer takes float or int64, got ") + DTypeName(x.dtype()));
}

Status ArrayFeatureExtractor(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices_t = ctx.input(1);
  if (x.rank() == 0) return KernelContext::Error("input 'X' must have rank >= 1");
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInt64Values(indices_t, "input 'Y'"));
  const int64_t cols = x.dim(x.rank() - 1);
  for (int64_t i : indices) {
    if (i < 0 || i >= cols) {
      return KernelContext::Error("input 'Y' has index " + std::to_string(i) + ", outside [0, " + std::to_string(cols) +
                                  ")");
    }
  }
  Shape shape = x.shape();
  shape.back() = static_cast<int64_t>(indices.size());
  if (x.rank() == 1) shape.insert(shape.begin(), 1);
  TS_ASSIGN_OR_RETURN(Tensor * z, ctx.AllocateOutput(0, x.dtype(), shape));
  const int64_t rows = cols == 0 ? 0 : x.element_count() / cols, k = static_cast<int64_t>(indices.size());
  return DispatchByElementSize(
      x.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* in = x.data<T>();
        T* out = z->data<T>();
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < k; ++j) out[r * k + j] = in[r * cols + indices[static_cast<size_t>(j)]];
        }
        return Status::Ok();
      },
      "ArrayFeatureExtractor");
}

Status FeatureVectorizer(KernelContext& ctx) {
  const std::vector<int64_t> dims = ctx.node().GetInts("inputdimensions");
  if (dims.size() != ctx.input_count()) {
    return KernelContext::Error("attribute 'inputdimensions' has " + std::to_string(dims.size()) + " values for " +
                                std::to_string(ctx.input_count()) + " inputs");
  }
  int64_t total = 0, rows = -1;
  std::vector<MlRows> inputs;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    if (dims[i] < 0) return KernelContext::Error("attribute 'inputdimensions' has a negative value");
    TS_ASSIGN_OR_RETURN(MlRows r, ReadMlRows(ctx.input(i), "X"));
    if (rows >= 0 && r.rows != rows) return KernelContext::Error("the inputs have different row counts");
    rows = r.rows;
    total += dims[i];
    inputs.push_back(std::move(r));
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, {std::max<int64_t>(rows, 0), total}));
  float* out = y->data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    int64_t at = r * total;
    for (size_t i = 0; i < inputs.size(); ++i) {
      for (int64_t c = 0; c < dims[i]; ++c) {
        out[at + c] = c < inputs[i].cols ? inputs[i].values[static_cast<size_t>(r * inputs[i].cols + c)] : 0.0f;
      }
      at += dims[i];
    }
  }
  return Status::Ok();
}

Status OneHotEncoder(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  const std::vector<int64_t> int_cats = node.GetInts("cats_int64s");
  std::vector<std::string> string_cats;
  if (const Attribute* a = node.FindAttribute("cats_strings")) string_cats = a->strings;
  const bool strings = x.dtype() == DType::kString;
  const int64_t cats = static_cast<int64_t>(strings ? string_cats.size() : int_cats.size());
  if (cats == 0) {
    return KernelContext::Error(std::string("attribute '") + (strings ? "cats_strings" : "cats_int64s") +
                                "' is required for a " + DTypeName(x.dtype()) + " input");
  }
  const bool zeros = node.GetInt("zeros", 1) != 0;
  Shape shape = x.shape();
  shape.push_back(cats);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, shape));
  float* out = y->data<float>();
  for (int64_t i = 0; i < x.element_count(); ++i) {
    int64_t hit = -1;
    if (strings) {
      const std::string& v = x.data<std::string>()[i];
      for (int64_t c = 0; c < cats && hit < 0; ++c) hit = string_cats[static_cast<size_t>(c)] == v ? c : -1;
    } else {
      int64_t v = 0;
      switch (x.dtype()) {
        case DType::kInt64: v = x.data<int64_t>()[i]; break;
        case DType::kInt32: v = x.data<int32_t>()[i]; break;
        case DType::kFloat32: v = static_cast<int64_t>(x.data<float>()[i]); break;
        case DType::kFloat64: v = static_cast<int64_t>(x.data<double>()[i]); break;
        default: return KernelContext::Error(std::string("OneHotEncoder does not take ") + DTypeName(x.dtype()));
      }
      for (int64_t c = 0; c < cats && hit < 0; ++c) hit = int_cats[static_cast<size_t>(c)] == v ? c : -1;
    }
    if (hit < 0 && !zeros) {
      return KernelContext::Error("element " + std::to_string(i) + " of 'X' is in no category and 'zeros' is 0");
    }
    if (hit >= 0) out[i * cats + hit] = 1.0f;
  }
  return Status::Ok();
}

}  // namespace

void RegisterMlPreprocessKernels(KernelRegistry& registry) {
  RegisterMl(registry, "Binarizer", 1, MakeFunctionKernel(Binarizer));
  RegisterMl(registry, "Scaler", 1, MakeFunctionKernel(Scaler));
  RegisterMl(registry, "Normalizer", 1, MakeFunctionKernel(Normalizer));
  RegisterMl(registry, "Imputer", 1, MakeFunctionKernel(Imputer));
  RegisterMl(registry, "ArrayFeatureExtractor", 1, MakeFunctionKernel(ArrayFeatureExtractor));
  RegisterMl(registry, "FeatureVectorizer", 1, MakeFunctionKernel(FeatureVectorizer));
  RegisterMl(registry, "OneHotEncoder", 1, MakeFunctionKernel(OneHotEncoder));
}

}  // namespace tessera
