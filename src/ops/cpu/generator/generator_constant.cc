// Constant, ConstantOfShape, EyeLike and Range: deterministic tensors from attributes and shapes.
//
// Constant's tensor is built once when the kernel is created and every run returns that same tensor
// (the output aliases it; nobody writes into a value they did not allocate). Its value comes from exactly
// one of `value` (all opsets), `value_float(s)`, `value_int(s)`, `value_string(s)` (opset 12), or
// `sparse_value` (11), which the model loader does not convert yet.
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/generator/generator_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

StatusOr<Tensor> ConstantValue(const Node& node) {
  static const char* kKeys[] = {"value",      "value_float",  "value_floats",  "value_int",
                                "value_ints", "value_string", "value_strings", "sparse_value"};
  const Attribute* attr = nullptr;
  std::string key;
  for (const char* k : kKeys) {
    if (const Attribute* a = node.FindAttribute(k)) {
      if (attr != nullptr)
        return KernelContext::Error("has both '" + key + "' and '" + k + "'; exactly one is allowed");
      attr = a;
      key = k;
    }
  }
  using T = Attribute::Type;
  if (attr == nullptr) return KernelContext::Error("has none of the value attributes");
  if (key == "value" && attr->type == T::kTensor) return attr->t;
  if (key == "value_float" && attr->type == T::kFloat) return Tensor::FromVector<float>(DType::kFloat32, {}, {attr->f});
  if (key == "value_floats" && attr->type == T::kFloats) {
    return Tensor::FromVector<float>(DType::kFloat32, {static_cast<int64_t>(attr->floats.size())}, attr->floats);
  }
  if (key == "value_int" && attr->type == T::kInt) return Tensor::FromVector<int64_t>(DType::kInt64, {}, {attr->i});
  if (key == "value_ints" && attr->type == T::kInts) {
    return Tensor::FromVector<int64_t>(DType::kInt64, {static_cast<int64_t>(attr->ints.size())}, attr->ints);
  }
  if (key == "value_string" && attr->type == T::kString) {
    return Tensor::FromVector<std::string>(DType::kString, {}, {attr->s});
  }
  if (key == "value_strings" && attr->type == T::kStrings) {
    return Tensor::FromVector<std::string>(DType::kString, {static_cast<int64_t>(attr->strings.size())}, attr->strings);
  }
  if (key == "sparse_value") return Unimplemented("Constant with a 'sparse_value' attribute is not supported");
  return KernelContext::Error("attribute '" + key + "' has the wrong type");
}

class ConstantKernel : public Kernel {
 public:
  explicit ConstantKernel(Tensor value) : value_(std::move(value)) {}
  Status Run(KernelContext& ctx) override {
    ctx.SetOutput(0, value_);
    return Status::Ok();
  }

 private:
  Tensor value_;
};

StatusOr<std::unique_ptr<Kernel>> MakeConstantKernel(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(Tensor value, ConstantValue(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<ConstantKernel>(std::move(value)));
}

Status RunConstantOfShape(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReadInt64Values(ctx.input(0), "input 'input'"));
  for (int64_t d : shape) {
    if (d < 0) return KernelContext::Error("input shape " + ShapeToString(shape) + " has a negative dim");
  }
  const Attribute* value = ctx.node().FindAttribute("value");
  if (value == nullptr || value->type != Attribute::Type::kTensor) {
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, shape));  // default: float 0
    (void)y;
    return Status::Ok();
  }
  if (value->t.element_count() != 1) {
    return KernelContext::Error("attribute 'value' must hold one element, got shape " +
                                ShapeToString(value->t.shape()));
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, value->t.dtype(), shape));
  FillElements(y->dtype(), y->raw_data(), y->element_count(), value->t.raw_data());
  return Status::Ok();
}

Status RunEyeLike(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) return KernelContext::Error("input must be 2-D, got shape " + ShapeToString(x.shape()));
  const Attribute* dtype_attr = ctx.node().FindAttribute("dtype");
  const DType dtype = dtype_attr ? static_cast<DType>(dtype_attr->i) : x.dtype();
  if (dtype_attr && !IsKnownDType(static_cast<int32_t>(dtype_attr->i))) {
    return KernelContext::Error("attribute 'dtype' " + std::to_string(dtype_attr->i) + " is not a known dtype");
  }
  const int64_t k = ctx.node().GetInt("k", 0), rows = x.dim(0), cols = x.dim(1);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, dtype, x.shape()));
  return DispatchGenerated(
      dtype,
      [&](auto tag) {
        using T = decltype(tag);
        T* out = y->data<T>();
        const T one = StoreGenerated<T>(1.0);
        for (int64_t i = std::max<int64_t>(0, -k); i < rows && i + k < cols; ++i) out[i * cols + i + k] = one;
        return Status::Ok();
      },
      "EyeLike");
}

Status RunRange(KernelContext& ctx) {
  const Tensor &start_t = ctx.input(0), &limit_t = ctx.input(1), &delta_t = ctx.input(2);
  for (const Tensor* t : {&start_t, &limit_t, &delta_t}) {
    if (t->element_count() != 1 || t->dtype() != start_t.dtype()) {
      return KernelContext::Error("start, limit and delta must be scalars of one dtype, got " +
                                  std::string(DTypeName(t->dtype())) + " " + ShapeToString(t->shape()));
    }
  }
  return DispatchNumeric(
      start_t.dtype(),
      [&](auto tag) -> Status {
        using T = decltype(tag);
        const T start = *start_t.data<T>(), limit = *limit_t.data<T>(), delta = *delta_t.data<T>();
        if (delta == T(0)) return KernelContext::Error("delta is 0");
        int64_t n = 0;
        if constexpr (std::is_floating_point_v<T>) {
          const double steps = std::ceil((static_cast<double>(limit) - start) / delta);
          if (!(steps < 9.2e18)) return KernelContext::Error("range has too many elements");
          n = steps > 0 ? static_cast<int64_t>(steps) : 0;
        } else {
          const long double span = static_cast<long double>(limit) - static_cast<long double>(start);
          const long double steps = std::ceil(span / static_cast<long double>(delta));
          if (!(steps < 9.2e18L)) return KernelContext::Error("range has too many elements");
          n = steps > 0 ? static_cast<int64_t>(steps) : 0;
        }
        TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, start_t.dtype(), {n}));
        T* out = y->data<T>();
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
        return Status::Ok();
      },
      "Range");
}

}  // namespace

void RegisterConstantKernels(KernelRegistry& registry) {
  registry.Register("Constant", 1, kLatestOpset, MakeConstantKernel);
  registry.Register("ConstantOfShape", 9, kLatestOpset, MakeFunctionKernel(RunConstantOfShape));
  registry.Register("EyeLike", 9, kLatestOpset, MakeFunctionKernel(RunEyeLike));
  registry.Register("Range", 11, kLatestOpset, MakeFunctionKernel(RunRange));
}

}  // namespace tessera
