// Tensor: a typed, shaped, contiguous (row-major) view onto shared memory.
//
// Copying a Tensor copies the handle, not the data: several tensors may alias one buffer (a Reshape
// output, a weight that points into the model file). Kernels that write an output always write into a
// buffer they allocated through the runtime, so aliasing never exposes a write to another value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera {

// Element types, numbered as ONNX's TensorProto.DataType so model files map directly.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,  // unsigned powers of two 2^-127..2^127 (bias 127), 0xFF NaN: MX block scales
};

// The 4-bit types (kUInt4, kInt4, kFloat4E2M1) are held one element per byte in a Tensor: the value's
// 4-bit code in the low nibble, the high nibble zero (for kInt4 too: the code is the two's-complement
// nibble, not a sign-extended byte). ONNX files pack them two per byte, low nibble first; the loader
// unpacks them and writers pack them again (core/low_precision.h). Holding them unpacked lets every
// op that moves elements (Transpose, Gather, Slice, Concat, ...) treat them as bytes.
//
// Bytes per element of a Tensor; 0 for kUndefined. Strings are stored as std::string objects.
size_t DTypeSize(DType dtype);
// "float32", "int64", ... (numpy's spelling).
const char* DTypeName(DType dtype);
// Whether `value` is one of the enum's members.
bool IsKnownDType(int32_t value);

using Shape = std::vector<int64_t>;

// Number of elements of `shape` (1 for a scalar); -1 if any dim is negative or the product overflows.
int64_t ShapeElementCount(const Shape& shape);
// "[1,3,224,224]".
std::string ShapeToString(const Shape& shape);

// Owns aligned memory. Live and peak bytes over all buffers are tracked for memory reports and limits.
class Buffer {
 public:
  // Allocates `bytes` (64-byte aligned, zero-filled when `zero` is set). Fails with kResourceExhausted
  // above the process-wide allocation limit instead of letting the kernel's OOM killer decide.
  static StatusOr<std::shared_ptr<Buffer>> Allocate(size_t bytes, bool zero = false);
  // Wraps memory owned by someone else; `keep_alive` holds the owner (a model proto, an mmap).
  static std::shared_ptr<Buffer> Wrap(void* data, size_t bytes, std::shared_ptr<void> keep_alive);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

  // Process-wide accounting of buffers Tessera allocated (wrapped memory is not counted).
  static size_t live_bytes();
  static size_t peak_bytes();
  static void reset_peak_bytes();
  // Largest total that Allocate will hold at once. Default: 80% of physical memory.
  static void set_limit_bytes(size_t limit);
  static size_t limit_bytes();

 private:
  Buffer() = default;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool owned_ = false;
  std::shared_ptr<void> keep_alive_;
};

class Tensor {
 public:
  Tensor() = default;

  // Allocates a tensor of `dtype` and `shape` (zero-filled). Strings are default-constructed.
  static StatusOr<Tensor> Allocate(DType dtype, Shape shape);
  // Like Allocate, but numeric contents are left uninitialized: for outputs a kernel overwrites fully.
  static StatusOr<Tensor> AllocateUninitialized(DType dtype, Shape shape);
  // A tensor over existing memory; `buffer` must hold at least the tensor's bytes past `offset`.
  Tensor(DType dtype, Shape shape, std::shared_ptr<Buffer> buffer, size_t offset = 0);

  // Convenience for tests and tools: a tensor holding a copy of `values`.
  template <typename T>
  static Tensor FromVector(DType dtype, Shape shape, const std::vector<T>& values);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t element_count() const { return ShapeElementCount(shape_); }
  size_t byte_size() const { return static_cast<size_t>(element_count()) * DTypeSize(dtype_); }
  bool defined() const { return dtype_ != DType::kUndefined; }

  void* raw_data() { return buffer_ ? static_cast<char*>(buffer_->data()) + offset_ : nullptr; }
  const void* raw_data() const {
    return buffer_ ? static_cast<const char*>(buffer_->data()) + offset_ : nullptr;
  }
  template <typename T>
  T* data() { return static_cast<T*>(raw_data()); }
  template <typename T>
  const T* data() const { return static_cast<const T*>(raw_data()); }

  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }
  size_t offset() const { return offset_; }

  // Same data, new shape with the same element count (the caller checks the count).
  Tensor Reshaped(Shape shape) const { return Tensor(dtype_, std::move(shape), buffer_, offset_); }
  // Deep copy into fresh memory.
  StatusOr<Tensor> Clone() const;

 private:
  static StatusOr<Tensor> AllocateImpl(DType dtype, Shape shape, bool zero);

  DType dtype_ = DType::kUndefined;
  Shape shape_;
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
};

template <typename T>
Tensor Tensor::FromVector(DType dtype, Shape shape, const std::vector<T>& values) {
  auto t = Allocate(dtype, std::move(shape));
  Tensor out = std::move(t).value();  // tests only: small sizes, allocation cannot hit the limit
  T* dst = out.data<T>();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < out.element_count(); ++i) dst[i] = values[i];
  return out;
}

}  // namespace tessera
