// Condition reading, slicing and stacking shared by If, Loop and Scan.
#include "ops/cpu/control_flow/control_flow_common.h"

#include <cstring>
#include <string>

namespace tessera {

namespace {

// Product of shape[begin, end).
int64_t DimProduct(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= shape[d];
  return n;
}

}  // namespace

StatusOr<bool> ReadCondition(const Tensor& t, const std::string& what) {
  if (t.dtype() != DType::kBool) {
    return KernelContext::Error(what + " must be a bool tensor, got " + DTypeName(t.dtype()));
  }
  if (t.element_count() != 1) {
    return KernelContext::Error(what + " must hold exactly one element, got shape " + ShapeToString(t.shape()));
  }
  return *t.data<bool>();
}

StatusOr<Tensor> MakeInt64Scalar(int64_t value) {
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::AllocateUninitialized(DType::kInt64, {}));
  *t.data<int64_t>() = value;
  return t;
}

StatusOr<Tensor> MakeBoolScalar(bool value) {
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::AllocateUninitialized(DType::kBool, {}));
  *t.data<bool>() = value;
  return t;
}

void CopyTypedElements(DType dtype, const void* src, void* dst, int64_t count) {
  if (count <= 0) return;
  if (dtype == DType::kString) {
    const auto* s = static_cast<const std::string*>(src);
    auto* d = static_cast<std::string*>(dst);
    for (int64_t i = 0; i < count; ++i) d[i] = s[i];
    return;
  }
  std::memcpy(dst, src, static_cast<size_t>(count) * DTypeSize(dtype));
}

StatusOr<Tensor> SliceAlongAxis(const Tensor& t, int64_t axis, int64_t index) {
  const Shape& shape = t.shape();
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = DimProduct(shape, 0, a);
  const int64_t length = shape[a];
  const int64_t inner = DimProduct(shape, a + 1, shape.size());
  Shape slice_shape = shape;
  slice_shape.erase(slice_shape.begin() + axis);
  const size_t elem = DTypeSize(t.dtype());
  if (outer == 1) {
    return Tensor(t.dtype(), std::move(slice_shape), t.buffer(),
                  t.offset() + static_cast<size_t>(index * inner) * elem);
  }
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(t.dtype(), std::move(slice_shape)));
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t o = 0; o < outer; ++o) {
    CopyTypedElements(t.dtype(), src + static_cast<size_t>((o * length + index) * inner) * elem,
                 dst + static_cast<size_t>(o * inner) * elem, inner);
  }
  return out;
}

Status WriteStackedOutput(KernelContext& ctx, size_t out, const std::vector<Tensor>& parts, int64_t axis, bool reverse,
                          const ValueInfo& declared, const std::string& what) {
  const int64_t count = static_cast<int64_t>(parts.size());
  if (parts.empty()) {
    // Zero iterations: the body never said what one slice looks like, so trust its declaration.
    Shape shape;
    if (declared.IsStatic()) shape = declared.StaticDims();
    const size_t a = static_cast<size_t>(axis) <= shape.size() ? static_cast<size_t>(axis) : shape.size();
    shape.insert(shape.begin() + static_cast<int64_t>(a), 0);
    DType dtype = declared.dtype == DType::kUndefined ? DType::kFloat32 : declared.dtype;
    return ctx.AllocateOutput(out, dtype, std::move(shape)).status();
  }
  const Tensor& first = parts[0];
  for (int64_t t = 1; t < count; ++t) {
    const Tensor& p = parts[static_cast<size_t>(t)];
    if (p.dtype() != first.dtype() || p.shape() != first.shape()) {
      return KernelContext::Error(what + ": iteration " + std::to_string(t) + " produced " + DTypeName(p.dtype()) +
                                  " " + ShapeToString(p.shape()) + " but iteration 0 produced " +
                                  DTypeName(first.dtype()) + " " + ShapeToString(first.shape()) +
                                  "; scan outputs must keep one shape");
    }
  }
  if (!first.defined()) return KernelContext::Error(what + ": the body produced no value");
  if (axis < 0 || axis > first.rank()) {
    return KernelContext::Error(what + ": axis " + std::to_string(axis) + " is out of range for slices of rank " +
                                std::to_string(first.rank()));
  }
  const size_t a = static_cast<size_t>(axis);
  Shape shape = first.shape();
  shape.insert(shape.begin() + axis, count);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(out, first.dtype(), shape));
  const int64_t outer = DimProduct(first.shape(), 0, a);
  const int64_t inner = DimProduct(first.shape(), a, first.shape().size());
  const size_t elem = DTypeSize(first.dtype());
  char* dst = static_cast<char*>(y->raw_data());
  for (int64_t t = 0; t < count; ++t) {
    const int64_t position = reverse ? count - 1 - t : t;
    const char* src = static_cast<const char*>(parts[static_cast<size_t>(t)].raw_data());
    for (int64_t o = 0; o < outer; ++o) {
      CopyTypedElements(first.dtype(), src + static_cast<size_t>(o * inner) * elem,
                   dst + static_cast<size_t>((o * count + position) * inner) * elem, inner);
    }
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<SubgraphRunner>> CompileGraphAttribute(const KernelInit& init, const std::string& name,
                                                                const Graph** graph) {
  const Attribute* attr = init.node.FindAttribute(name);
  if (attr == nullptr || attr->type != Attribute::Type::kGraph || attr->g == nullptr) {
    return KernelContext::Error("graph attribute '" + name + "' is missing");
  }
  if (graph != nullptr) *graph = attr->g.get();
  return init.compile_subgraph(*attr->g);
}

}  // namespace tessera
