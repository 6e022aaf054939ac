// MatMulNBits attribute and weight validation, and row dequantization (the prefill path and g_idx).
#include "ops/cpu/quantization/matmul_nbits_weights.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ops/cpu/common/numeric_traits.h"

namespace tessera {
namespace {

std::string Dims(const Tensor& t) { return ShapeToString(t.shape()); }

// The values of a float tensor (float32/64/16, bfloat16) as float32.
StatusOr<std::vector<float>> ReadFloats(const Tensor& t, const char* what) {
  std::vector<float> values(static_cast<size_t>(t.element_count()));
  Status s = DispatchFloatWithHalf(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(NumericTraits<T>::Load(p[i]));
        return Status::Ok();
      },
      what);
  if (!s.ok()) return s;
  return values;
}

// Zero points per (n, block) as floats: packed uint8 (4-bit: two per byte, low nibble first, each row of
// N padded to whole bytes), or one float per (n, block).
StatusOr<std::vector<float>> ReadZeroPoints(const NBitsAttributes& a, int64_t k_blocks, const Tensor* zp) {
  std::vector<float> out(static_cast<size_t>(a.N * k_blocks), a.bits == 4 ? 8.0f : 128.0f);
  if (zp == nullptr) return out;
  if (zp->dtype() == DType::kUInt8) {
    const int64_t row_bytes = (k_blocks * a.bits + 7) / 8;
    if (zp->element_count() != a.N * row_bytes) {
      return KernelContext::Error("input 'zero_points' (uint8) must have N * ceil(k_blocks * bits / 8) = " +
                                  std::to_string(a.N * row_bytes) + " elements, got shape " + Dims(*zp));
    }
    const uint8_t* p = zp->data<uint8_t>();
    for (int64_t n = 0; n < a.N; ++n) {
      for (int64_t g = 0; g < k_blocks; ++g) {
        const uint8_t byte = a.bits == 8 ? p[n * row_bytes + g] : p[n * row_bytes + g / 2];
        out[static_cast<size_t>(n * k_blocks + g)] =
            static_cast<float>(a.bits == 8 ? byte : (g % 2 == 0 ? byte & 0x0F : byte >> 4));
      }
    }
    return out;
  }
  if (zp->element_count() != a.N * k_blocks) {
    return KernelContext::Error("input 'zero_points' (float) must have N * k_blocks = " + std::to_string(a.N * k_blocks) +
                                " elements, got shape " + Dims(*zp));
  }
  const DType t = zp->dtype();
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64) {
    return KernelContext::Error(std::string("input 'zero_points' must be uint8 or a float type, got ") + DTypeName(t));
  }
  return ReadFloats(*zp, "input 'zero_points'");
}

}  // namespace

StatusOr<NBitsAttributes> ReadNBitsAttributes(const Node& node) {
  for (const char* required : {"K", "N", "block_size"}) {
    if (!node.HasAttribute(required)) {
      return KernelContext::Error(std::string("attribute '") + required + "' is required");
    }
  }
  NBitsAttributes a;
  a.K = node.GetInt("K", 0);
  a.N = node.GetInt("N", 0);
  a.bits = node.GetInt("bits", 4);
  a.block_size = node.GetInt("block_size", 0);
  a.accuracy_level = node.GetInt("accuracy_level", 0);
  if (a.K <= 0 || a.N <= 0) {
    return KernelContext::Error("attributes 'K' and 'N' must be positive, got K=" + std::to_string(a.K) +
                                " N=" + std::to_string(a.N));
  }
  if (a.bits != 4 && a.bits != 8) {
    return KernelContext::Error("attribute 'bits' is " + std::to_string(a.bits) + "; MatMulNBits supports 4 and 8");
  }
  if (a.block_size < 16 || (a.block_size & (a.block_size - 1)) != 0) {
    return KernelContext::Error("attribute 'block_size' must be a power of two >= 16, got " +
                                std::to_string(a.block_size));
  }
  if (a.accuracy_level < 0 || a.accuracy_level > 4) {
    return KernelContext::Error("attribute 'accuracy_level' must be 0 to 4, got " + std::to_string(a.accuracy_level));
  }
  return a;
}

Status BuildNBitsWeights(const NBitsAttributes& a, const Tensor& b, const Tensor& scales, const Tensor* zero_points,
                         const Tensor* g_idx, NBitsWeights& out) {
  NBitsWeights w;
  w.K = a.K;
  w.N = a.N;
  w.bits = a.bits;
  w.block_size = a.block_size;
  w.k_blocks = (a.K + a.block_size - 1) / a.block_size;
  w.blob_size = a.block_size * a.bits / 8;
  if (b.dtype() != DType::kUInt8) {
    return KernelContext::Error("input 'B' must be uint8 (packed " + std::to_string(a.bits) + "-bit values), got " +
                                std::string(DTypeName(b.dtype())));
  }
  const bool shape_ok = (b.rank() == 3 && b.dim(0) == a.N && b.dim(1) == w.k_blocks && b.dim(2) == w.blob_size) ||
                        (b.rank() == 2 && b.dim(0) == a.N && b.dim(1) == w.k_blocks * w.blob_size);
  if (!shape_ok) {
    return KernelContext::Error("input 'B' must have shape [N, k_blocks, blob_size] = [" + std::to_string(a.N) + ", " +
                                std::to_string(w.k_blocks) + ", " + std::to_string(w.blob_size) + "] for K=" +
                                std::to_string(a.K) + ", bits=" + std::to_string(a.bits) + ", block_size=" +
                                std::to_string(a.block_size) + "; got " + Dims(b));
  }
  w.q_tensor = b;
  w.q = b.data<uint8_t>();
  const bool scales_shape_ok = (scales.rank() == 1 && scales.dim(0) == a.N * w.k_blocks) ||
                               (scales.rank() == 2 && scales.dim(0) == a.N && scales.dim(1) == w.k_blocks);
  if (!scales_shape_ok) {
    return KernelContext::Error("input 'scales' must have shape [N * k_blocks] = [" + std::to_string(a.N * w.k_blocks) +
                                "] or [N, k_blocks], got " + Dims(scales));
  }
  TS_ASSIGN_OR_RETURN(w.scales, ReadFloats(scales, "input 'scales'"));
  TS_ASSIGN_OR_RETURN(std::vector<float> zp, ReadZeroPoints(a, w.k_blocks, zero_points));
  w.scaled_zero.resize(zp.size());
  for (size_t i = 0; i < zp.size(); ++i) w.scaled_zero[i] = zp[i] * w.scales[i];
  const bool integral =
      std::all_of(zp.begin(), zp.end(), [](float z) { return z >= 0 && z <= 255 && z == std::floor(z); });
  if (integral) w.zero_bytes.assign(zp.begin(), zp.end());
  if (g_idx != nullptr) {
    if (g_idx->dtype() != DType::kInt32 || g_idx->element_count() != a.K) {
      return KernelContext::Error("input 'g_idx' must be int32 with K = " + std::to_string(a.K) + " elements, got " +
                                  DTypeName(g_idx->dtype()) + " " + Dims(*g_idx));
    }
    const int32_t* gp = g_idx->data<int32_t>();
    bool trivial = true;
    for (int64_t k = 0; k < a.K; ++k) {
      if (gp[k] < 0 || gp[k] >= w.k_blocks) {
        return KernelContext::Error("input 'g_idx' has block " + std::to_string(gp[k]) + " at k=" + std::to_string(k) +
                                    ", outside [0, " + std::to_string(w.k_blocks) + ")");
      }
      trivial = trivial && gp[k] == k / a.block_size;
    }
    if (!trivial) w.g_idx.assign(gp, gp + a.K);
  }
  out = std::move(w);
  return Status::Ok();
}

void DequantizeNBitsRows(const NBitsWeights& w, int64_t n0, int64_t n1, float* out, int64_t row_stride) {
  for (int64_t n = n0; n < n1; ++n, out += row_stride) {
    const uint8_t* row = w.q + n * w.k_blocks * w.blob_size;
    const float* s = w.scales.data() + n * w.k_blocks;
    const float* sz = w.scaled_zero.data() + n * w.k_blocks;
    for (int64_t k = 0; k < w.K; ++k) {
      const int64_t g = w.g_idx.empty() ? k / w.block_size : w.g_idx[static_cast<size_t>(k)];
      const int q = w.bits == 8 ? row[k] : (k % 2 == 0 ? row[k / 2] & 0x0F : row[k / 2] >> 4);
      out[k] = static_cast<float>(q) * s[g] - sz[g];
    }
  }
}

}  // namespace tessera
