// Binary arithmetic with numpy broadcasting: Add, Sub, Mul, Div, Mod, BitShift, BitwiseAnd/Or/Xor,
// and the registration of the whole binary family (Pow and PRelu: elementwise_pow.cc; comparisons and
// logic: elementwise_compare.cc; Max/Min/Sum/Mean/Where: elementwise_variadic.cc).
//
// Integer arithmetic wraps. Integer Div truncates toward zero and Mod follows the divisor's sign unless
// fmod=1 (then the dividend's, like C's %); a zero divisor is an error rather than a crash, and
// INT_MIN / -1 wraps to INT_MIN.
#include <cmath>

#include "ops/cpu/elementwise/elementwise_binary_kernel.h"
#include "ops/cpu/elementwise/elementwise_registration.h"
#include "ops/op_list.h"

namespace tessera {

Shape LegacyBroadcastShape(const Node& node, const Shape& a, const Shape& b) {
  if (node.GetInt("broadcast", 0) == 0 || !node.HasAttribute("axis")) return b;
  int64_t axis = node.GetInt("axis", 0);
  const int64_t rank = static_cast<int64_t>(a.size());
  if (axis < 0) axis += rank;
  const int64_t trailing = rank - axis - static_cast<int64_t>(b.size());
  if (axis < 0 || trailing < 0) return b;  // not alignable: numpy broadcasting reports the mismatch
  Shape padded = b;
  padded.insert(padded.end(), static_cast<size_t>(trailing), 1);
  return padded;
}

namespace {

struct AddOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  template <typename T>
  T operator()(T a, T b) const { return WrapAdd(a, b); }
};

struct SubOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  template <typename T>
  T operator()(T a, T b) const { return WrapSub(a, b); }
};

struct MulOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  template <typename T>
  T operator()(T a, T b) const { return WrapMul(a, b); }
};

struct DivOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  static constexpr bool kNeedsNonzeroDivisor = true;
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);  // unreachable: RunBinaryOp rejects zero divisors first
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return WrapNeg(a);
      }
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};

struct ModOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  static constexpr bool kNeedsNonzeroDivisor = true;
  bool fmod = false;
  template <typename T>
  T operator()(T a, T b) const {
    T r;
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);  // unreachable, as in DivOp
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
      }
      r = static_cast<T>(a % b);
    } else {
      r = std::fmod(a, b);
    }
    if constexpr (std::is_signed_v<T> || std::is_floating_point_v<T>) {
      if (!fmod && r != T(0) && ((r < T(0)) != (b < T(0)))) r = static_cast<T>(r + b);
    }
    return r;
  }
};

struct BitShiftOp {
  static constexpr TypeClass kTypes = TypeClass::kUnsigned;
  bool left = true;
  template <typename T>
  T operator()(T a, T b) const {
    // Shifting by the width or more is undefined in C++; every bit is shifted out, so the result is 0.
    if (b >= T(sizeof(T) * 8)) return T(0);
    return static_cast<T>(left ? a << b : a >> b);
  }
};

struct BitwiseAndOp {
  static constexpr TypeClass kTypes = TypeClass::kInteger;
  template <typename T>
  T operator()(T a, T b) const { return static_cast<T>(a & b); }
};
struct BitwiseOrOp {
  static constexpr TypeClass kTypes = TypeClass::kInteger;
  template <typename T>
  T operator()(T a, T b) const { return static_cast<T>(a | b); }
};
struct BitwiseXorOp {
  static constexpr TypeClass kTypes = TypeClass::kInteger;
  template <typename T>
  T operator()(T a, T b) const { return static_cast<T>(a ^ b); }
};

KernelFactory ModFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<ModOp>>(ModOp{init.node.GetInt("fmod", 0) != 0}, "Mod"));
  };
}

KernelFactory BitShiftFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    const std::string direction = init.node.GetString("direction", "");
    if (direction != "LEFT" && direction != "RIGHT") {
      return KernelContext::Error("attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"" + direction + "\"");
    }
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BitShiftOp>>(BitShiftOp{direction == "LEFT"}, "BitShift"));
  };
}

}  // namespace

void RegisterElementwiseBinaryKernels(KernelRegistry& registry) {
  // Opset 1-6 forms differ only in how they broadcast (LegacyBroadcastShape); opset 1-5 also carry a
  // `consumed_inputs` attribute that does not affect inference.
  registry.Register("Add", 1, kLatestOpset, BinaryFactory<AddOp>("Add"));
  registry.Register("Sub", 1, kLatestOpset, BinaryFactory<SubOp>("Sub"));
  registry.Register("Mul", 1, kLatestOpset, BinaryFactory<MulOp>("Mul"));
  registry.Register("Div", 1, kLatestOpset, BinaryFactory<DivOp>("Div"));
  registry.Register("Mod", 10, kLatestOpset, ModFactory());
  registry.Register("BitShift", 11, kLatestOpset, BitShiftFactory());
  registry.Register("BitwiseAnd", 18, kLatestOpset, BinaryFactory<BitwiseAndOp>("BitwiseAnd"));
  registry.Register("BitwiseOr", 18, kLatestOpset, BinaryFactory<BitwiseOrOp>("BitwiseOr"));
  registry.Register("BitwiseXor", 18, kLatestOpset, BinaryFactory<BitwiseXorOp>("BitwiseXor"));

  RegisterElementwisePowKernels(registry);
  RegisterElementwiseCompareKernels(registry);
  RegisterElementwiseVariadicKernels(registry);
  RegisterElementwiseChannelScaleKernels(registry);
}

}  // namespace tessera
