// Small tensors for tests, and their values back as vectors.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::testing {

inline Tensor F32(Shape shape, std::vector<float> v) { return Tensor::FromVector(DType::kFloat32, std::move(shape), v); }
inline Tensor I64(Shape shape, std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, std::move(shape), v); }
inline Tensor I32(Shape shape, std::vector<int32_t> v) { return Tensor::FromVector(DType::kInt32, std::move(shape), v); }
inline Tensor Str(Shape shape, const std::vector<std::string>& v) {
  return Tensor::FromVector(DType::kString, std::move(shape), v);
}
// A boolean scalar (If conditions, Loop's keep-going flag).
inline Tensor BoolScalar(bool b) { return Tensor::FromVector(DType::kBool, {}, std::vector<bool>{b}); }

// A tensor's elements as a vector of its storage type.
template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.element_count());
}

inline std::vector<float> FloatValues(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}
inline std::vector<int64_t> Int64Values(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.element_count());
}
inline std::vector<std::string> StringValues(const Tensor& t) {
  return std::vector<std::string>(t.data<std::string>(), t.data<std::string>() + t.element_count());
}

inline void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

}  // namespace tessera::testing
