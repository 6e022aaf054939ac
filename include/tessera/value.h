// Value: what a graph input, output or edge holds — a tensor, a sequence, a map, or nothing.
//
// Most models only ever move tensors, and a Value built from a Tensor is just that tensor (no extra
// allocation). ONNX's other types are held as immutable, shared parts:
//   - a sequence (seq(tensor) from SplitToSequence, SequenceConstruct ...; seq(map) from ZipMap) is a list
//     of element Values plus the element dtype, which an empty sequence needs too;
//   - a map (ai.onnx.ml's map(int64|string, T)) is two 1-D tensors of the same length: keys and values;
//   - an empty optional is the none Value (an optional holding x is x itself).
// Copying a Value copies handles, never elements: a sequence op builds a new list of the same tensors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

class Value {
 public:
  enum class Kind { kNone, kTensor, kSequence, kMap };

  // The none Value: an empty optional, or an omitted input.
  Value() = default;
  // A tensor; an undefined Tensor gives the none Value. Implicit, so tensor code passes tensors as values.
  Value(Tensor tensor) : tensor_(std::move(tensor)) {}  // NOLINT(google-explicit-constructor)

  // A sequence of `elements` (tensors, or maps for seq(map)); `element_dtype` is the elements' dtype (a
  // map's value dtype), kept for empty sequences. The caller checks that every element has that dtype.
  static Value Sequence(std::vector<Value> elements, DType element_dtype);
  // A map from keys[i] to values[i]; both 1-D of one length (the caller checks).
  static Value Map(Tensor keys, Tensor values);

  Kind kind() const {
    if (parts_) return parts_->kind;
    return tensor_.defined() ? Kind::kTensor : Kind::kNone;
  }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_tensor() const { return !parts_ && tensor_.defined(); }
  bool is_sequence() const { return parts_ && parts_->kind == Kind::kSequence; }
  bool is_map() const { return parts_ && parts_->kind == Kind::kMap; }

  // The tensor; an undefined Tensor unless is_tensor().
  const Tensor& tensor() const { return tensor_; }
  // For kernels writing an output they allocated (KernelContext::AllocateOutput).
  Tensor* mutable_tensor() { return &tensor_; }

  // Sequence parts; empty / kUndefined unless is_sequence() (map: element_dtype is the value dtype).
  const std::vector<Value>& elements() const;
  size_t sequence_length() const { return elements().size(); }
  DType element_dtype() const { return parts_ ? parts_->element_dtype : DType::kUndefined; }

  // Map parts; undefined unless is_map().
  const Tensor& map_keys() const;
  const Tensor& map_values() const;

  // "float32[2,3]", "sequence of 3 float32 tensors", "map int64 -> float32", "none": for messages.
  std::string Describe() const;

 private:
  struct Parts {
    Kind kind = Kind::kNone;
    DType element_dtype = DType::kUndefined;
    std::vector<Value> elements;
    Tensor keys, values;
  };

  Tensor tensor_;
  std::shared_ptr<const Parts> parts_;  // set for sequences and maps only
};

// Name of a kind for messages: "none", "tensor", "sequence", "map".
const char* ValueKindName(Value::Kind kind);

}  // namespace tessera
