// Axis, broadcast and shape-input helpers.
#include "ops/op_helpers.h"

#include "core/half.h"

namespace tessera {

StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0)) {
    return InvalidArgument(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
                           std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return InvalidArgument("shapes " + ShapeToString(a) + " and " + ShapeToString(b) + " cannot be broadcast");
    }
  }
  return out;
}

std::vector<int64_t> ContiguousStrides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) {
    strides[static_cast<size_t>(i)] = strides[static_cast<size_t>(i) + 1] * shape[static_cast<size_t>(i) + 1];
  }
  return strides;
}

std::vector<int64_t> BroadcastStrides(const Shape& shape, const Shape& out_shape) {
  std::vector<int64_t> strides(out_shape.size(), 0);
  std::vector<int64_t> own = ContiguousStrides(shape);
  size_t offset = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) strides[i + offset] = shape[i] == 1 ? 0 : own[i];
  return strides;
}

StatusOr<std::vector<int64_t>> ReadInt64Values(const Tensor& t, const char* what) {
  std::vector<int64_t> values(static_cast<size_t>(t.element_count()));
  if (t.dtype() == DType::kInt64) {
    for (size_t i = 0; i < values.size(); ++i) values[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DType::kInt32) {
    for (size_t i = 0; i < values.size(); ++i) values[i] = t.data<int32_t>()[i];
  } else {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + DTypeName(t.dtype()));
  }
  return values;
}

StatusOr<std::vector<float>> ReadFloatValues(const Tensor& t, const char* what) {
  std::vector<float> values(static_cast<size_t>(t.element_count()));
  for (size_t i = 0; i < values.size(); ++i) {
    switch (t.dtype()) {
      case DType::kFloat32: values[i] = t.data<float>()[i]; break;
      case DType::kFloat64: values[i] = static_cast<float>(t.data<double>()[i]); break;
      case DType::kFloat16: values[i] = HalfToFloat(t.data<uint16_t>()[i]); break;
      default: return InvalidArgument(std::string(what) + " must be a float tensor, got " + DTypeName(t.dtype()));
    }
  }
  return values;
}

}  // namespace tessera
