// Einsum against a brute-force reference that loops over every assignment of label values: products,
// batches, diagonals, sums, outer products, implicit outputs, several operands, ellipsis broadcasting,
// and equations that must be rejected.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

// Brute force for equations of letters only with an explicit "->" output.
std::vector<double> BruteForceEinsum(const std::string& eq, const std::vector<std::vector<float>>& data,
                                     const std::vector<Shape>& shapes, Shape* out_shape) {
  const size_t arrow = eq.find("->");
  std::vector<std::string> terms;
  std::string lhs = eq.substr(0, arrow), term;
  for (char c : lhs + ",") {
    if (c == ',')
      terms.push_back(term), term.clear();
    else
      term.push_back(c);
  }
  const std::string out = eq.substr(arrow + 2);
  std::map<char, int64_t> sizes;
  for (size_t i = 0; i < terms.size(); ++i) {
    for (size_t d = 0; d < terms[i].size(); ++d) sizes[terms[i][d]] = shapes[i][d];
  }
  std::vector<char> labels;
  for (auto& [c, s] : sizes) labels.push_back(c);
  out_shape->clear();
  for (char c : out) out_shape->push_back(sizes[c]);
  std::vector<double> y(static_cast<size_t>(ShapeElementCount(*out_shape)), 0.0);
  std::map<char, int64_t> value;
  for (char c : labels) value[c] = 0;
  while (true) {
    double p = 1;
    for (size_t i = 0; i < terms.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < terms[i].size(); ++d) off = off * shapes[i][d] + value[terms[i][d]];
      p *= data[i][static_cast<size_t>(off)];
    }
    int64_t o = 0;
    for (char c : out) o = o * sizes[c] + value[c];
    y[static_cast<size_t>(o)] += p;
    size_t l = labels.size();
    while (l-- > 0) {
      if (++value[labels[l]] < sizes[labels[l]]) break;
      value[labels[l]] = 0;
    }
    if (l == static_cast<size_t>(-1)) break;
  }
  return y;
}

void CheckEinsum(const std::string& eq, const std::vector<Shape>& shapes, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::vector<float>> data;
  OneNodeModel model("Einsum", 12);
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::vector<float> v(static_cast<size_t>(ShapeElementCount(shapes[i])));
    for (float& x : v) x = dist(rng);
    std::string name = "x";  // appended rather than "x" + ...: GCC 12 warns falsely (-Wrestrict) on the latter
    name += std::to_string(i);
    model.Input(name, Tensor::FromVector(DType::kFloat32, shapes[i], v));
    data.push_back(std::move(v));
  }
  Shape want_shape;
  const auto want = BruteForceEinsum(eq, data, shapes, &want_shape);
  auto out = model.Output("y", static_cast<int>(want_shape.size())).String("equation", eq).Run();
  ASSERT_TRUE(out.ok()) << eq << ": " << out.status().message();
  ASSERT_EQ((*out)[0].shape(), want_shape) << eq;
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4) << eq << " at " << i;
}

TEST(EinsumTest, EquationsMatchBruteForce) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  CheckEinsum("ij,jk->ik", {{3, 4}, {4, 5}}, rng);
  CheckEinsum("bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}, rng);
  CheckEinsum("ij->ji", {{3, 4}}, rng);
  CheckEinsum("ii->i", {{4, 4}}, rng);
  CheckEinsum("ii->", {{4, 4}}, rng);
  CheckEinsum("bii->bi", {{2, 3, 3}}, rng);
  CheckEinsum("ij->", {{3, 4}}, rng);
  CheckEinsum("ij->i", {{3, 4}}, rng);
  CheckEinsum("i,j->ij", {{3}, {4}}, rng);
  CheckEinsum("i,i->", {{5}, {5}}, rng);
  CheckEinsum("ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 5}}, rng);
  CheckEinsum("bhqd,bhkd->bhqk", {{2, 3, 4, 5}, {2, 3, 6, 5}}, rng);
  CheckEinsum("ijk,ikl->jl", {{2, 3, 4}, {2, 4, 5}}, rng);
  CheckEinsum("abc,cd->dba", {{2, 3, 4}, {4, 5}}, rng);
  CheckEinsum("iij,jk->ik", {{3, 3, 4}, {4, 2}}, rng);
  CheckEinsum("ij,ij->ij", {{3, 4}, {3, 4}}, rng);
  CheckEinsum("ij,kl->", {{2, 3}, {4, 5}}, rng);
}

TEST(EinsumTest, ImplicitOutputIsSortedLettersUsedOnce) {
  // "ba" means "ba->ab" (a transpose); "ij,jk" means "ij,jk->ik".
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  auto out = OneNodeModel("Einsum", 12).Input("x", x).Output("y", 2).String("equation", "ba").Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({3, 2}));
  EXPECT_EQ((*out)[0].data<float>()[1], 4.0f);
  Tensor trace = Tensor::FromVector(DType::kFloat32, {2, 2}, std::vector<float>{1, 2, 3, 4});
  auto t = OneNodeModel("Einsum", 12).Input("x", trace).Output("y", 0).String("equation", "ii").Run();
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)[0].shape(), Shape({}));
  EXPECT_EQ((*t)[0].data<float>()[0], 5.0f);
}

TEST(EinsumTest, EllipsisBroadcastsBatchDims) {
  // "...ij,...jk->...ik" with batch [2,1] against [3]: numpy broadcasts to [2,3].
  std::vector<float> a(2 * 1 * 2 * 2), b(3 * 2 * 2);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i + 1);
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 5) - 2;
  auto out = OneNodeModel("Einsum", 12)
                 .Input("a", Tensor::FromVector(DType::kFloat32, {2, 1, 2, 2}, a))
                 .Input("b", Tensor::FromVector(DType::kFloat32, {3, 2, 2}, b))
                 .Output("y", 4)
                 .String("equation", "...ij,...jk->...ik")
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), Shape({2, 3, 2, 2}));
  for (int p = 0; p < 2; ++p) {
    for (int q = 0; q < 3; ++q) {
      for (int i = 0; i < 2; ++i) {
        for (int k = 0; k < 2; ++k) {
          float s = 0;
          for (int j = 0; j < 2; ++j) s += a[size_t(p * 4 + i * 2 + j)] * b[size_t(q * 4 + j * 2 + k)];
          EXPECT_EQ((*out)[0].data<float>()[((p * 3 + q) * 2 + i) * 2 + k], s);
        }
      }
    }
  }
}

TEST(EinsumTest, DoubleAndIntegerInputs) {
  auto d = OneNodeModel("Einsum", 12)
               .Input("a", Tensor::FromVector(DType::kFloat64, {2, 2}, std::vector<double>{1, 2, 3, 4}))
               .Input("b", Tensor::FromVector(DType::kFloat64, {2}, std::vector<double>{5, 6}))
               .Output("y", 1, DType::kFloat64)
               .String("equation", "ij,j->i")
               .Run();
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ((*d)[0].data<double>()[1], 39.0);
  auto i = OneNodeModel("Einsum", 12)
               .Input("a", Tensor::FromVector(DType::kInt64, {3}, std::vector<int64_t>{1, 2, 3}))
               .Output("y", 0, DType::kInt64)
               .String("equation", "i->")
               .Run();
  ASSERT_TRUE(i.ok()) << i.status().message();
  EXPECT_EQ((*i)[0].data<int64_t>()[0], 6);
}

TEST(EinsumTest, HugeOuterProductFailsCleanly) {
  Tensor v = Tensor::FromVector(DType::kFloat32, {1000000}, std::vector<float>{});
  auto out = OneNodeModel("Einsum", 12).Input("a", v).Input("b", v).Output("y", 2).String("equation", "i,j->ij").Run();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().message();
}

TEST(EinsumTest, MalformedEquationsFail) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6));
  for (const char* eq : {"ijk->i", "ij->k", "ij->ii", "i.j->i", "i1->i", "ij,jk->ik"}) {
    auto out = OneNodeModel("Einsum", 12).Input("x", x).Output("y", 1).String("equation", eq).Run();
    EXPECT_FALSE(out.ok()) << eq;
  }
  Tensor square = Tensor::FromVector(DType::kFloat32, {2, 2}, std::vector<float>(4));
  auto mismatch =
      OneNodeModel("Einsum", 12).Input("a", x).Input("b", square).Output("y", 2).String("equation", "ij,jk->ik").Run();
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("[2,2]"), std::string::npos) << mismatch.status().message();
}

}  // namespace
}  // namespace tessera
