// BitCast (opset 26): reinterprets each element's bits as another dtype of the same width (attribute
// `to`), keeping the shape. Bytes are taken as they lie in memory (little endian, as the spec asks of the
// hosts Tessera runs on). bool is one byte whose only valid codes are 0 and 1, so a cast to bool maps
// any nonzero byte to 1 rather than leave an invalid bool in the tensor. Strings have no bits to keep.
#include <cstring>
#include <string>

#include "ops/cpu/cast/cast_bitcast.h"

namespace tessera {
namespace {

// Bits per element: the 4-bit types are held one code per byte, so among themselves they cast as bytes.
size_t BitWidth(DType dtype) {
  if (dtype == DType::kUInt4 || dtype == DType::kInt4 || dtype == DType::kFloat4E2M1) return 4;
  return DTypeSize(dtype) * 8;
}

class BitCastKernel : public Kernel {
 public:
  explicit BitCastKernel(DType to) : to_(to) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() == DType::kString) return KernelContext::Error("input 'input' is a string tensor, which has no bits");
    if (BitWidth(x.dtype()) != BitWidth(to_)) {
      return KernelContext::Error(std::string("input 'input' is ") + DTypeName(x.dtype()) + " (" +
                                  std::to_string(BitWidth(x.dtype())) + " bits) but 'to' is " + DTypeName(to_) + " (" +
                                  std::to_string(BitWidth(to_)) + " bits): BitCast keeps the width");
    }
    if (x.dtype() == to_) {
      ctx.SetOutput(0, x);
      return Status::Ok();
    }
    if (to_ != DType::kBool) {
      ctx.SetOutput(0, Tensor(to_, x.shape(), x.buffer(), x.offset()));
      return Status::Ok();
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, to_, x.shape()));
    const uint8_t* src = x.data<uint8_t>();
    uint8_t* dst = y->data<uint8_t>();
    for (int64_t i = 0; i < x.element_count(); ++i) dst[i] = src[i] != 0;
    return Status::Ok();
  }

 private:
  DType to_;
};

StatusOr<std::unique_ptr<Kernel>> CreateBitCast(const KernelInit& init) {
  if (!init.node.HasAttribute("to")) return KernelContext::Error("attribute 'to' is required");
  const int64_t to = init.node.GetInt("to", 0);
  if (to > INT32_MAX || to < 0 || !IsKnownDType(static_cast<int32_t>(to)) || to == 0 ||
      static_cast<DType>(to) == DType::kString) {
    return KernelContext::Error("attribute 'to' is " + std::to_string(to) + ", not a non-string tensor type");
  }
  return std::unique_ptr<Kernel>(std::make_unique<BitCastKernel>(static_cast<DType>(to)));
}

}  // namespace

void RegisterBitCastKernel(KernelRegistry& registry) { registry.Register("BitCast", 26, kLatestOpset, CreateBitCast); }

}  // namespace tessera
