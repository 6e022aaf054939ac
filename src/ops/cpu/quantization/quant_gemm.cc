// QuantGemm: the oneDNN product and the zero-point corrections.
#include "ops/cpu/quantization/quant_gemm.h"

namespace tessera {

void QuantGemm::SetConstantB(const void* b, DType b_type, int64_t k, int64_t n) {
  constant_b_ = b;
  const int8_t* bs = static_cast<const int8_t*>(b);
  if (b_type == DType::kUInt8) {
    constant_shifted_.resize(static_cast<size_t>(k * n));
    const uint8_t* bu = static_cast<const uint8_t*>(b);
    for (size_t i = 0; i < constant_shifted_.size(); ++i) {
      constant_shifted_[i] = static_cast<int8_t>(static_cast<int32_t>(bu[i]) - 128);
    }
    bs = constant_shifted_.data();
  }
  constant_colsum_.assign(static_cast<size_t>(n), 0);
  for (int64_t kk = 0; kk < k; ++kk) {
    for (int64_t j = 0; j < n; ++j) constant_colsum_[static_cast<size_t>(j)] += bs[kk * n + j];
  }
}

Status QuantGemm::Run(const void* a, DType a_type, int64_t rows, int64_t k, const std::vector<int32_t>& a_zp,
                      const void* b, DType b_type, int64_t n, const std::vector<int32_t>& b_zp, int32_t* c,
                      int threads) {
  using dt = dnnl::memory::data_type;
  const bool a_u8 = a_type == DType::kUInt8, b_u8 = b_type == DType::kUInt8;
  std::vector<int8_t> shifted;
  const int8_t* bs = static_cast<const int8_t*>(b);
  const bool constant = b != nullptr && b == constant_b_ && constant_colsum_.size() == static_cast<size_t>(n);
  if (constant && b_u8) {
    bs = constant_shifted_.data();
  } else if (b_u8) {
    shifted.resize(static_cast<size_t>(k * n));
    const uint8_t* bu = static_cast<const uint8_t*>(b);
    for (size_t i = 0; i < shifted.size(); ++i) shifted[i] = static_cast<int8_t>(static_cast<int32_t>(bu[i]) - 128);
    bs = shifted.data();
  }
  std::unique_ptr<DnnlMatMul>& mm = a_u8 ? u8_ : s8_;
  if (!mm) {
    mm = std::make_unique<DnnlMatMul>(a_u8 ? dt::u8 : dt::s8, dt::s8);
    if (constant_b_ != nullptr) {
      mm->SetConstantB(b_u8 ? static_cast<const void*>(constant_shifted_.data()) : constant_b_);
    }
  }
  TS_RETURN_IF_ERROR(mm->RunRaw(a, ContiguousMatrix({rows, k}), bs, ContiguousMatrix({k, n}), c,
                                ContiguousMatrix({rows, n}), threads));
  std::vector<int64_t> computed, b_zero(static_cast<size_t>(n));
  if (!constant) {
    computed.assign(static_cast<size_t>(n), 0);
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < n; ++j) computed[static_cast<size_t>(j)] += bs[kk * n + j];
    }
  }
  const std::vector<int64_t>& colsum = constant ? constant_colsum_ : computed;
  for (int64_t j = 0; j < n; ++j) {
    b_zero[static_cast<size_t>(j)] = b_zp[b_zp.size() == 1 ? 0 : static_cast<size_t>(j)] - (b_u8 ? 128 : 0);
  }
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rowsum = 0;
    if (a_u8) {
      for (int64_t kk = 0; kk < k; ++kk) rowsum += static_cast<const uint8_t*>(a)[r * k + kk];
    } else {
      for (int64_t kk = 0; kk < k; ++kk) rowsum += static_cast<const int8_t*>(a)[r * k + kk];
    }
    const int64_t az = a_zp[a_zp.size() == 1 ? 0 : static_cast<size_t>(r)];
    int32_t* row = c + r * n;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t bz = b_zero[static_cast<size_t>(j)];
      // The true result fits int32 whenever the reference's does; the int64 detour avoids signed overflow.
      row[j] = static_cast<int32_t>(row[j] - bz * rowsum - az * colsum[static_cast<size_t>(j)] + k * az * bz);
    }
  }
  return Status::Ok();
}

}  // namespace tessera
