// Value: sequences and maps as shared, immutable parts beside the plain tensor.
#include "tessera/value.h"

namespace tessera {

Value Value::Sequence(std::vector<Value> elements, DType element_dtype) {
  auto parts = std::make_shared<Parts>();
  parts->kind = Kind::kSequence;
  parts->element_dtype = element_dtype;
  parts->elements = std::move(elements);
  Value v;
  v.parts_ = std::move(parts);
  return v;
}

Value Value::Map(Tensor keys, Tensor values) {
  auto parts = std::make_shared<Parts>();
  parts->kind = Kind::kMap;
  parts->element_dtype = values.dtype();
  parts->keys = std::move(keys);
  parts->values = std::move(values);
  Value v;
  v.parts_ = std::move(parts);
  return v;
}

const std::vector<Value>& Value::elements() const {
  static const std::vector<Value> kNoElements;
  return is_sequence() ? parts_->elements : kNoElements;
}

const Tensor& Value::map_keys() const {
  static const Tensor kUndefined;
  return is_map() ? parts_->keys : kUndefined;
}

const Tensor& Value::map_values() const {
  static const Tensor kUndefined;
  return is_map() ? parts_->values : kUndefined;
}

std::string Value::Describe() const {
  switch (kind()) {
    case Kind::kNone: return "none";
    case Kind::kTensor: return std::string(DTypeName(tensor_.dtype())) + ShapeToString(tensor_.shape());
    case Kind::kSequence: {
      const size_t n = parts_->elements.size();
      const bool of_maps = n > 0 && parts_->elements[0].is_map();
      return "sequence of " + std::to_string(n) + " " + DTypeName(parts_->element_dtype) +
             (of_maps ? " map" : " tensor") + (n == 1 ? "" : "s");
    }
    case Kind::kMap:
      return std::string("map ") + DTypeName(parts_->keys.dtype()) + " -> " + DTypeName(parts_->values.dtype()) +
             " of " + std::to_string(parts_->keys.element_count()) + " entries";
  }
  return "none";
}

const char* ValueKindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNone: return "none";
    case Value::Kind::kTensor: return "tensor";
    case Value::Kind::kSequence: return "sequence";
    case Value::Kind::kMap: return "map";
  }
  return "none";
}

}  // namespace tessera
