// com.tessera QuantizedActivationMatMul against a double-precision reference of its formula, over seeded
// random shapes (ranks 2 to 4, broadcast batch dims), uint8/int8 operands with zero points, float32 and
// quantized outputs, and alpha; then the inputs it must refuse. The seed is printed on failure.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ops/cpu/quantization/quant_common.h"
#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

struct Operand {
  DType type;
  float scale;
  int32_t zero_point;
  Shape shape;
  std::vector<int32_t> codes;
};

Operand RandomOperand(std::mt19937& rng, DType type, Shape shape) {
  Operand o{type, std::uniform_real_distribution<float>(0.005f, 0.05f)(rng), 0, std::move(shape), {}};
  const int lo = type == DType::kUInt8 ? 0 : -128, hi = type == DType::kUInt8 ? 255 : 127;
  o.zero_point = std::uniform_int_distribution<int>(lo / 2 + hi / 4, hi / 2 + hi / 4)(rng);
  std::uniform_int_distribution<int> code(lo, hi);
  o.codes.resize(static_cast<size_t>(ShapeElementCount(o.shape)));
  for (int32_t& c : o.codes) c = code(rng);
  return o;
}

Tensor CodesTensor(const Operand& o) {
  if (o.type == DType::kUInt8) return Tensor::FromVector(o.type, o.shape, std::vector<uint8_t>(o.codes.begin(), o.codes.end()));
  return Tensor::FromVector(o.type, o.shape, std::vector<int8_t>(o.codes.begin(), o.codes.end()));
}

Tensor ZeroPointTensor(DType type, int32_t zp) {
  if (type == DType::kUInt8) return Tensor::FromVector(type, {}, std::vector<uint8_t>{static_cast<uint8_t>(zp)});
  return Tensor::FromVector(type, {}, std::vector<int8_t>{static_cast<int8_t>(zp)});
}

Tensor Scalar(float v) { return Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{v}); }

// alpha * sa * sb * sum_k (a - za)(b - zb) in double, over numpy MatMul broadcasting; fills `shape`.
std::vector<double> Reference(const Operand& a, const Operand& b, double alpha, Shape* shape) {
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  auto padded = [&](const Shape& s) {
    Shape p(rank - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  };
  const Shape pa = padded(a.shape), pb = padded(b.shape);
  Shape y(rank);
  for (size_t i = 0; i + 2 < rank; ++i) y[i] = std::max(pa[i], pb[i]);
  const int64_t m = pa[rank - 2], k = pa[rank - 1], n = pb[rank - 1];
  y[rank - 2] = m;
  y[rank - 1] = n;
  *shape = y;
  const int64_t batches = ShapeElementCount(y) / (m * n);
  std::vector<double> out(static_cast<size_t>(batches * m * n));
  for (int64_t bi = 0; bi < batches; ++bi) {
    // The batch index in each operand: a broadcast dim (1) stays at 0.
    int64_t rem = bi, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
    for (size_t d = rank - 2; d-- > 0;) {
      const int64_t idx = rem % y[d];
      rem /= y[d];
      ia += (pa[d] == 1 ? 0 : idx) * stride_a;
      ib += (pb[d] == 1 ? 0 : idx) * stride_b;
      stride_a *= pa[d];
      stride_b *= pb[d];
    }
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        int64_t s = 0;
        for (int64_t p = 0; p < k; ++p) {
          s += int64_t{a.codes[size_t((ia * m + i) * k + p)] - a.zero_point} *
               (b.codes[size_t((ib * k + p) * n + j)] - b.zero_point);
        }
        out[size_t((bi * m + i) * n + j)] = alpha * a.scale * b.scale * static_cast<double>(s);
      }
    }
  }
  return out;
}

OneNodeModel Node(const Operand& a, const Operand& b) {
  OneNodeModel m("QuantizedActivationMatMul", 1, "com.tessera");
  m.Input("a", CodesTensor(a))
      .Input("a_scale", Scalar(a.scale), true)
      .Input("a_zero_point", ZeroPointTensor(a.type, a.zero_point), true)
      .Input("b", CodesTensor(b))
      .Input("b_scale", Scalar(b.scale), true)
      .Input("b_zero_point", ZeroPointTensor(b.type, b.zero_point), true);
  return m;
}

// Batch shapes that broadcast against each other, per rank: {a's batch dims, b's batch dims}.
std::pair<Shape, Shape> RandomBatches(std::mt19937& rng, int rank_a, int rank_b) {
  std::uniform_int_distribution<int> dim(1, 3), coin(0, 2);
  Shape a, b;
  const int batch = std::max(rank_a, rank_b) - 2;
  for (int d = 0; d < batch; ++d) {
    const int64_t v = dim(rng);
    const bool in_a = d >= batch - (rank_a - 2), in_b = d >= batch - (rank_b - 2);
    const int c = coin(rng);
    if (in_a) a.push_back(c == 1 ? 1 : v);
    if (in_b) b.push_back(c == 2 ? 1 : v);
  }
  return {a, b};
}

TEST(QuantizedActivationMatMulTest, MatchesDoubleReferenceOverShapesAndTypes) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> rank(2, 4), size(1, 40);
  for (int round = 0; round < 24; ++round) {
    const DType ta = round % 2 == 0 ? DType::kUInt8 : DType::kInt8;
    const DType tb = round % 4 < 2 ? DType::kUInt8 : DType::kInt8;
    const int ra = rank(rng), rb = rank(rng);
    auto [batch_a, batch_b] = RandomBatches(rng, ra, rb);
    const int64_t m = size(rng), k = size(rng), n = size(rng);
    batch_a.push_back(m);
    batch_a.push_back(k);
    batch_b.push_back(k);
    batch_b.push_back(n);
    const Operand a = RandomOperand(rng, ta, batch_a), b = RandomOperand(rng, tb, batch_b);
    const float alpha = round % 3 == 0 ? 1.0f : 0.125f;
    Shape want_shape;
    const std::vector<double> want = Reference(a, b, alpha, &want_shape);
    SCOPED_TRACE("a " + ShapeToString(a.shape) + " b " + ShapeToString(b.shape));

    // Float32 output.
    OneNodeModel f = Node(a, b);
    f.Output("y", static_cast<int>(want_shape.size())).Float("alpha", alpha);
    auto got = f.Run();
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ((*got)[0].shape(), want_shape);
    double largest = 0;
    for (double v : want) largest = std::max(largest, std::fabs(v));
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR((*got)[0].data<float>()[i], want[i], 1e-5 * (largest + 1)) << "at " << i;
    }

    // Quantized output: the reference rounded half to even onto y's codes (one code apart at most where
    // the float scaling lands within rounding of a halfway point).
    const float y_scale = static_cast<float>(largest > 0 ? largest / 100 : 1.0);
    const DType ty = round % 3 == 1 ? DType::kInt8 : DType::kUInt8;
    const int32_t y_zp = ty == DType::kUInt8 ? 128 : -3;
    OneNodeModel q = Node(a, b);
    q.Input("y_scale", Scalar(y_scale), true)
        .Input("y_zero_point", ZeroPointTensor(ty, y_zp), true)
        .Output("y", static_cast<int>(want_shape.size()), ty)
        .Float("alpha", alpha);
    auto codes = q.Run();
    ASSERT_TRUE(codes.ok()) << codes.status().message();
    const Tensor& y = (*codes)[0];
    ASSERT_EQ(y.dtype(), ty);
    for (size_t i = 0; i < want.size(); ++i) {
      const double v = want[i] / y_scale;
      const int lo = ty == DType::kUInt8 ? 0 : -128, hi = ty == DType::kUInt8 ? 255 : 127;
      const int expect = static_cast<int>(std::clamp(std::nearbyint(v) + y_zp, double(lo), double(hi)));
      const int code = ty == DType::kUInt8 ? int{y.data<uint8_t>()[i]} : int{y.data<int8_t>()[i]};
      ASSERT_LE(std::abs(code - expect), 1) << "at " << i << " value " << v;
    }
  }
}

TEST(QuantizedActivationMatMulTest, InnerDimsThatDifferAreAnError) {
  std::mt19937 rng(7);
  const Operand a = RandomOperand(rng, DType::kUInt8, {2, 3, 5});
  const Operand b = RandomOperand(rng, DType::kUInt8, {2, 4, 6});
  OneNodeModel m = Node(a, b);
  m.Output("y", 3);
  auto got = m.Run();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("inner dims differ"), std::string::npos) << got.status().message();
}

TEST(QuantizedActivationMatMulTest, NonConstantScaleFailsAtLoad) {
  std::mt19937 rng(7);
  const Operand a = RandomOperand(rng, DType::kUInt8, {3, 5});
  const Operand b = RandomOperand(rng, DType::kInt8, {5, 2});
  OneNodeModel m("QuantizedActivationMatMul", 1, "com.tessera");
  m.Input("a", CodesTensor(a))
      .Input("a_scale", Scalar(0.1f))
      .Input("a_zero_point", ZeroPointTensor(a.type, 1), true)
      .Input("b", CodesTensor(b))
      .Input("b_scale", Scalar(0.1f), true)
      .Output("y", 2);
  auto got = m.Run();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("a_scale must be a constant"), std::string::npos) << got.status().message();
}

}  // namespace
}  // namespace tessera
