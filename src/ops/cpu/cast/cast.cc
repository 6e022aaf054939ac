// Cast and CastLike: convert every element to another dtype (the attribute `to`, or the dtype of
// CastLike's second input).
//
// Numeric, bool and 16-bit float conversions follow value_convert.h; conversions to and from strings are
// in cast_string.cc, to and from float8, float4e2m1, int4 and uint4 in cast_low_precision.cc (with
// opset 19's `saturate`, default 1). A cast to the input's own dtype returns the input without copying.
// Opset 1 named the target type by string ("FLOAT", "INT64", ...); later opsets by its TensorProto
// number. Opset 24's float8e8m0 targets read `round_mode` ("up" by default, "down", "nearest"; see
// core/low_precision.h); an unknown mode is refused when the kernel is made, whatever the target.
#include <algorithm>
#include <cctype>
#include <string>

#include "ops/cpu/common/value_convert.h"
#include "core/low_precision.h"
#include "ops/cpu/cast/cast_bitcast.h"
#include "ops/cpu/cast/cast_low_precision.h"
#include "ops/cpu/cast/cast_string.h"
#include "ops/cpu/common/broadcast.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

template <typename From, typename To>
void CastRange(const Tensor& in, Tensor& out, ThreadPool& pool) {
  using S = std::conditional_t<std::is_same_v<From, bool>, uint8_t, From>;
  const S* src = in.data<S>();
  To* dst = out.data<To>();
  ForEachElementRange(in.element_count(), pool, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (std::is_same_v<From, bool>) dst[i] = ConvertValue<To>(LoadBool(src[i]));
      else dst[i] = ConvertValue<To>(src[i]);
    }
  });
}

// The attributes every cast reads besides its target.
struct CastOptions {
  bool saturate = true;
  E8M0Rounding rounding = E8M0Rounding::kUp;
};

StatusOr<CastOptions> ReadCastOptions(const Node& node) {
  CastOptions options;
  options.saturate = node.GetInt("saturate", 1) != 0;
  const std::string mode = node.GetString("round_mode", "up");
  if (!ParseE8M0Rounding(mode, options.rounding)) {
    return KernelContext::Error("attribute 'round_mode' is \"" + mode + "\"; expected \"up\", \"down\" or \"nearest\"");
  }
  return options;
}

Status CastTensor(KernelContext& ctx, const Tensor& in, DType to, const CastOptions& options) {
  if (in.dtype() == to) {
    ctx.SetOutput(0, in);
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, to, in.shape()));
  if (to == DType::kString) {
    if (IsLowPrecision(in.dtype())) return UnsupportedDType("Cast to string", in.dtype());
    return CastToString(in, *out);
  }
  if (in.dtype() == DType::kString) {
    if (IsLowPrecision(to)) return UnsupportedDType("Cast from string", to);
    return CastFromString(in, *out);
  }
  if (IsLowPrecision(in.dtype()) || IsLowPrecision(to)) {
    return CastLowPrecision(in, *out, options.saturate, options.rounding, ctx.pool());
  }
  return DispatchTypeClass<TypeClass::kNumericOrBool>(
      in.dtype(),
      [&](auto from_tag) {
        return DispatchTypeClass<TypeClass::kNumericOrBool>(
            to,
            [&](auto to_tag) {
              CastRange<decltype(from_tag), decltype(to_tag)>(in, *out, ctx.pool());
              return Status::Ok();
            },
            "Cast output");
      },
      "Cast input");
}

// Opset 1's string form of `to`: a TensorProto data type name, in any case.
bool ParseTypeName(std::string name, DType& dtype) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  static const std::pair<const char*, DType> kNames[] = {
      {"FLOAT", DType::kFloat32},  {"UINT8", DType::kUInt8},     {"INT8", DType::kInt8},
      {"UINT16", DType::kUInt16},  {"INT16", DType::kInt16},     {"INT32", DType::kInt32},
      {"INT64", DType::kInt64},    {"STRING", DType::kString},   {"BOOL", DType::kBool},
      {"FLOAT16", DType::kFloat16}, {"DOUBLE", DType::kFloat64}, {"UINT32", DType::kUInt32},
      {"UINT64", DType::kUInt64},  {"BFLOAT16", DType::kBFloat16}};  // opset 1 predates the newer types
  for (const auto& [n, d] : kNames) {
    if (name == n) {
      dtype = d;
      return true;
    }
  }
  return false;
}

StatusOr<std::unique_ptr<Kernel>> CreateCast(const KernelInit& init) {
  const Attribute* to = init.node.FindAttribute("to");
  if (to == nullptr) return KernelContext::Error("attribute 'to' is required");
  DType dtype = DType::kUndefined;
  if (to->type == Attribute::Type::kString) {
    if (!ParseTypeName(to->s, dtype)) return KernelContext::Error("attribute 'to' names unknown type \"" + to->s + "\"");
  } else {
    const bool known = to->i > 0 && to->i < 1000 && IsKnownDType(static_cast<int32_t>(to->i));
    if (!known || DTypeSize(static_cast<DType>(to->i)) == 0) {
      return KernelContext::Error("attribute 'to' is " + std::to_string(to->i) + ", not a supported data type");
    }
    dtype = static_cast<DType>(to->i);
  }
  TS_ASSIGN_OR_RETURN(const CastOptions options, ReadCastOptions(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<FunctionKernel>(
      [dtype, options](KernelContext& ctx) { return CastTensor(ctx, ctx.input(0), dtype, options); }));
}

}  // namespace

void RegisterCastKernels(KernelRegistry& registry) {
  registry.Register("Cast", 1, kLatestOpset, CreateCast);
  RegisterBitCastKernel(registry);
  registry.Register("CastLike", 15, kLatestOpset, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(const CastOptions options, ReadCastOptions(init.node));
    return std::unique_ptr<Kernel>(std::make_unique<FunctionKernel>([options](KernelContext& ctx) {
      return CastTensor(ctx, ctx.input(0), ctx.input(1).dtype(), options);
    }));
  });
}

}  // namespace tessera
