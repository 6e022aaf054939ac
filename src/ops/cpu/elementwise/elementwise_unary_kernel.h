// UnaryKernel: y = op(x) elementwise, for math functions and activations.
//
// An op is a struct with `static constexpr TypeClass kTypes` (the dtypes it accepts) and a template
// `operator()(T x)` over compute types; ops whose output is bool (IsNaN, IsInf) also set
// `static constexpr bool kBoolOutput = true`. The loop is a plain indexed loop that GCC vectorises when
// the op is simple; 16-bit floats are converted to float32 in blocks so the op itself still runs in a
// float loop.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "ops/cpu/common/broadcast.h"
#include "ops/cpu/common/type_class.h"

namespace tessera {

template <typename Op, typename = void>
struct UnaryOutputIsBool : std::false_type {};
template <typename Op>
struct UnaryOutputIsBool<Op, std::void_t<decltype(Op::kBoolOutput)>> : std::bool_constant<Op::kBoolOutput> {};

// y[i] = op(x[i]) for i in [0, n), over the thread pool when n is large.
template <typename T, typename Op>
void MapUnary(const T* x, std::conditional_t<UnaryOutputIsBool<Op>::value, bool, T>* y, int64_t n, const Op& op,
              ThreadPool& pool) {
  ForEachElementRange(n, pool, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, bool>) {
      const uint8_t* xb = reinterpret_cast<const uint8_t*>(x);
      for (int64_t i = begin; i < end; ++i) y[i] = op(LoadBool(xb[i]));
    } else if constexpr (kIsHalf<T>) {
      constexpr int64_t kBlock = 256;
      float buf[kBlock];
      for (int64_t b = begin; b < end; b += kBlock) {
        const int64_t len = std::min(kBlock, end - b);
        for (int64_t i = 0; i < len; ++i) buf[i] = LoadValue(x[b + i]);
        if constexpr (UnaryOutputIsBool<Op>::value) {
          for (int64_t i = 0; i < len; ++i) y[b + i] = op(buf[i]);
        } else {
          for (int64_t i = 0; i < len; ++i) buf[i] = op(buf[i]);
          for (int64_t i = 0; i < len; ++i) y[b + i] = StoreValue<T>(buf[i]);
        }
      }
    } else {
      for (int64_t i = begin; i < end; ++i) y[i] = op(x[i]);
    }
  });
}

template <typename Op>
class UnaryKernel : public Kernel {
 public:
  UnaryKernel(Op op, std::string name) : op_(std::move(op)), name_(std::move(name)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const DType out_dtype = UnaryOutputIsBool<Op>::value ? DType::kBool : x.dtype();
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, out_dtype, x.shape()));
    return DispatchTypeClass<Op::kTypes>(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Out = std::conditional_t<UnaryOutputIsBool<Op>::value, bool, T>;
          MapUnary<T>(x.data<T>(), y->data<Out>(), x.element_count(), op_, ctx.pool());
          return Status::Ok();
        },
        name_);
  }

 private:
  Op op_;
  std::string name_;
};

// A factory for an op with no attributes.
template <typename Op>
KernelFactory UnaryFactory(const std::string& name) {
  return [name](const KernelInit&) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<UnaryKernel<Op>>(Op{}, name));
  };
}

}  // namespace tessera
