// com.microsoft Gelu, BiasGelu and FastGelu against double-precision formulas, and a rejected bias.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

double ErfGelu(double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }
double TanhGelu(double v) { return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); }

TEST(ContribGeluTest, AllThreeFormsMatchFormulas) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-5, 5);
  const int64_t rows = 1 + rng() % 4, h = 1 + rng() % 30;
  std::vector<float> x(static_cast<size_t>(rows * h)), b(static_cast<size_t>(h));
  for (auto& v : x) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  const Tensor xt = Tensor::FromVector(DType::kFloat32, {rows, h}, x), bt = Tensor::FromVector(DType::kFloat32, {h}, b);
  for (const char* op : {"Gelu", "BiasGelu", "FastGelu", "FastGeluNoBias"}) {
    const std::string name = op;
    const bool fast = name.rfind("FastGelu", 0) == 0, with_bias = name == "BiasGelu" || name == "FastGelu";
    OneNodeModel m(fast ? "FastGelu" : name, 1, "com.microsoft");
    m.Input("x", xt);
    if (with_bias) m.Input("b", bt);
    auto out = m.Output("y", 2).Run();
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().message();
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = static_cast<double>(x[i]) + (with_bias ? b[i % static_cast<size_t>(h)] : 0.0);
      ASSERT_NEAR((*out)[0].data<float>()[i], fast ? TanhGelu(v) : ErfGelu(v), 1e-5) << op << " at " << v;
    }
  }
}

TEST(ContribGeluTest, BiasOfWrongLengthIsRejected) {
  auto out = OneNodeModel("BiasGelu", 1, "com.microsoft")
                 .Input("x", Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6, 1)))
                 .Input("b", Tensor::FromVector(DType::kFloat32, {2}, std::vector<float>(2, 1))).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("last dim 3"), std::string::npos) << out.status().message();
}

TEST(ContribGeluTest, OnnxGeluOpset20LoadsThroughTheChecker) {
  auto out = OneNodeModel("Gelu", 20).Input("x", Tensor::FromVector(DType::kFloat32, {2}, std::vector<float>{-1, 2}))
                 .Output("y", 1).String("approximate", "tanh").Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR(out->at(0).data<float>()[1], TanhGelu(2.0), 1e-6);
}

}  // namespace
}  // namespace tessera
