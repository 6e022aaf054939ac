// com.microsoft GatherBlockQuantized: Gather along `gather_axis` of a blockwise-quantized tensor, output
// dequantized: y = (q - zero_point) * scale, with one scale (and zero point) per `block_size` elements
// along `quantize_axis`. The quantized embedding table of int4 decoder exports.
//
// data is uint8: with bits=4 two values per byte, low nibble first, along the last axis (so its logical
// last dim is twice the stored one, and quantize_axis must be the last axis, as ONNX Runtime requires);
// with bits=8 one per byte. Tessera has no int4/uint4 tensors, so those data types are refused by dtype.
// scales has data's logical shape with quantize_axis' dim replaced by ceil(dim / block_size);
// zero_points (optional, uint8) is packed like data (bits=4: two per byte along the last axis). Default
// zero point: 8 for bits=4, 128 for bits=8. The output is scales' dtype.
#include <memory>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/quantization/quant_family.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// The 4- or 8-bit value at logical flat index i of a tensor packed along its last axis.
inline int Unpacked(const uint8_t* p, int64_t i, int64_t bits, int64_t last_logical, int64_t last_stored) {
  if (bits == 8) return p[i];
  const int64_t row = i / last_logical, col = i % last_logical;
  const uint8_t byte = p[row * last_stored + col / 2];
  return col % 2 == 0 ? byte & 0x0F : byte >> 4;
}

class GatherBlockQuantizedKernel : public Kernel {
 public:
  explicit GatherBlockQuantizedKernel(const Node& node)
      : gather_axis_(node.GetInt("gather_axis", 0)),
        quantize_axis_(node.GetInt("quantize_axis", 1)),
        block_size_(node.GetInt("block_size", 128)),
        bits_(node.GetInt("bits", 4)) {}

  Status Validate() const {
    if (bits_ != 4 && bits_ != 8) {
      return KernelContext::Error("attribute 'bits' is " + std::to_string(bits_) +
                                  "; GatherBlockQuantized supports 4 and 8");
    }
    if (block_size_ < 16 || (block_size_ & (block_size_ - 1)) != 0) {
      return KernelContext::Error("attribute 'block_size' must be a power of two >= 16, got " +
                                  std::to_string(block_size_));
    }
    return Status::Ok();
  }

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
      return KernelContext::Error("inputs 'data', 'indices' and 'scales' are required");
    }
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const Tensor& scales = ctx.input(2);
    if (data.dtype() != DType::kUInt8) {
      return KernelContext::Error(std::string("input 'data' must be uint8 (int4/uint4 tensors are not supported), got ") +
                                  DTypeName(data.dtype()));
    }
    if (data.rank() < 1) return KernelContext::Error("input 'data' must have rank >= 1");
    if (indices.dtype() != DType::kInt32 && indices.dtype() != DType::kInt64) {
      return KernelContext::Error(std::string("input 'indices' must be int32 or int64, got ") +
                                  DTypeName(indices.dtype()));
    }
    const int64_t rank = data.rank();
    TS_ASSIGN_OR_RETURN(int64_t gather_axis, NormalizeAxis(gather_axis_, rank, "attribute 'gather_axis'"));
    TS_ASSIGN_OR_RETURN(int64_t quantize_axis, NormalizeAxis(quantize_axis_, rank, "attribute 'quantize_axis'"));
    if (bits_ == 4 && quantize_axis != rank - 1) {
      return KernelContext::Error("attribute 'quantize_axis' must be the last axis for packed 4-bit uint8 data, got " +
                                  std::to_string(quantize_axis_));
    }
    Shape logical = data.shape();
    const int64_t last_stored = logical.back();
    if (bits_ == 4) logical.back() *= 2;
    const int64_t last_logical = logical.back();
    Shape scale_shape = logical;
    scale_shape[static_cast<size_t>(quantize_axis)] =
        (logical[static_cast<size_t>(quantize_axis)] + block_size_ - 1) / block_size_;
    if (scales.shape() != scale_shape) {
      return KernelContext::Error("input 'scales' must have shape " + ShapeToString(scale_shape) + " for data " +
                                  ShapeToString(data.shape()) + ", got " + ShapeToString(scales.shape()));
    }
    const Tensor* zp = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const int64_t zp_last_logical = scale_shape.back();
    const int64_t zp_last_stored = bits_ == 4 ? (zp_last_logical + 1) / 2 : zp_last_logical;
    if (zp != nullptr) {
      Shape want = scale_shape;
      want.back() = zp_last_stored;
      if (zp->dtype() != DType::kUInt8 || zp->shape() != want) {
        return KernelContext::Error("input 'zero_points' must be uint8 of shape " + ShapeToString(want) + ", got " +
                                    DTypeName(zp->dtype()) + " " + ShapeToString(zp->shape()));
      }
    }
    // Views: data as [outer, axis_dim, inner] around gather_axis.
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < gather_axis; ++d) outer *= logical[static_cast<size_t>(d)];
    for (int64_t d = gather_axis + 1; d < rank; ++d) inner *= logical[static_cast<size_t>(d)];
    const int64_t axis_dim = logical[static_cast<size_t>(gather_axis)];
    const int64_t count = indices.element_count();
    std::vector<int64_t> idx(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      int64_t v = indices.dtype() == DType::kInt32 ? indices.data<int32_t>()[i] : indices.data<int64_t>()[i];
      if (v < 0) v += axis_dim;
      if (v < 0 || v >= axis_dim) {
        return KernelContext::Error("input 'indices' value " + std::to_string(v) + " is outside [-" +
                                    std::to_string(axis_dim) + ", " + std::to_string(axis_dim) + ")");
      }
      idx[static_cast<size_t>(i)] = v;
    }
    Shape out_shape(logical.begin(), logical.begin() + gather_axis);
    out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
    out_shape.insert(out_shape.end(), logical.begin() + gather_axis + 1, logical.end());
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, scales.dtype(), out_shape));
    // Strides of the logical data, to find each element's block along quantize_axis.
    std::vector<int64_t> strides(static_cast<size_t>(rank), 1);
    for (int64_t d = rank - 2; d >= 0; --d) strides[static_cast<size_t>(d)] = strides[static_cast<size_t>(d + 1)] * logical[static_cast<size_t>(d + 1)];
    const int64_t q_stride = strides[static_cast<size_t>(quantize_axis)];
    const int64_t q_dim = logical[static_cast<size_t>(quantize_axis)];
    const int64_t q_blocks = scale_shape[static_cast<size_t>(quantize_axis)];
    const int default_zp = bits_ == 4 ? 8 : 128;
    return DispatchFloatWithHalf(
        scales.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          const T* s = scales.data<T>();
          T* out = y->data<T>();
          ctx.pool().ParallelFor(outer * count, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner)),
                                 [&](int64_t begin, int64_t end) {
            for (int64_t oi = begin; oi < end; ++oi) {
              const int64_t o = oi / count, i = oi % count;
              const int64_t base = (o * axis_dim + idx[static_cast<size_t>(i)]) * inner;
              for (int64_t e = 0; e < inner; ++e) {
                const int64_t flat = base + e;
                const int64_t qi = (flat / q_stride) % q_dim;
                // The scale's flat index: the same position with quantize_axis' index divided by block_size.
                const int64_t sflat = ((flat / q_stride / q_dim) * q_blocks + qi / block_size_) * q_stride + flat % q_stride;
                const int q = Unpacked(data.data<uint8_t>(), flat, bits_, last_logical, last_stored);
                const int z = zp ? Unpacked(zp->data<uint8_t>(), sflat, bits_, zp_last_logical, zp_last_stored) : default_zp;
                const float v = static_cast<float>(q - z) * static_cast<float>(NumericTraits<T>::Load(s[sflat]));
                out[oi * inner + e] = NumericTraits<T>::Store(static_cast<typename NumericTraits<T>::Compute>(v));
              }
            }
          });
          return Status::Ok();
        },
        "input 'scales'");
  }

 private:
  int64_t gather_axis_, quantize_axis_, block_size_, bits_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeGatherBlockQuantizedKernel(const KernelInit& init) {
  auto kernel = std::make_unique<GatherBlockQuantizedKernel>(init.node);
  TS_RETURN_IF_ERROR(kernel->Validate());
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace tessera
