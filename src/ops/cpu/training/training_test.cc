// The ai.onnx.preview.training optimizers (Adagrad, Adam, Momentum) through one-node models, on
// hand-checked updates plus inputs that must be rejected with an error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

constexpr const char* kTraining = "ai.onnx.preview.training";

// --- Training optimizers ------------------------------------------------------------------------------

TEST(SpecialTrainingTest, AdagradDecaysTheRateWithT) {
  auto out = OneNodeModel("Adagrad", 1, kTraining)
                 .Input("r", F32({}, {0.1f}))
                 .Input("t", I64({}, {2}))
                 .Input("x", F32({2}, {1, 2}))
                 .Input("g", F32({2}, {-1, 3}))
                 .Input("h", F32({2}, {2, 0}))
                 .Output("x_new", 1)
                 .Output("h_new", 1)
                 .Float("decay_factor", 0.5f)
                 .Float("epsilon", 0)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double r = 0.1 / (1 + 2 * 0.5);
  ExpectNear(FloatValues((*out)[0]), {1 + r / std::sqrt(3.0), 2 - r * 3 / 3});
  ExpectNear(FloatValues((*out)[1]), {3, 9});
}

TEST(SpecialTrainingTest, AdamBiasCorrectsForPositiveT) {
  auto out = OneNodeModel("Adam", 1, kTraining)
                 .Input("r", F32({}, {0.1f}))
                 .Input("t", I64({}, {3}))
                 .Input("x", F32({1}, {1}))
                 .Input("g", F32({1}, {2}))
                 .Input("v", F32({1}, {1}))
                 .Input("h", F32({1}, {4}))
                 .Output("x_new", 1)
                 .Output("v_new", 1)
                 .Output("h_new", 1)
                 .Float("alpha", 0.5f)
                 .Float("beta", 0.5f)
                 .Float("epsilon", 0)
                 .Float("norm_coefficient_post", 0.5f)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double v = 0.5 * 1 + 0.5 * 2, h = 0.5 * 4 + 0.5 * 4;
  const double r = 0.1 * std::sqrt(1 - 0.125) / (1 - 0.125);
  ExpectNear(FloatValues((*out)[0]), {0.5 * (1 - r * v / std::sqrt(h))});
  ExpectNear(FloatValues((*out)[1]), {v});
  ExpectNear(FloatValues((*out)[2]), {h});
}

TEST(SpecialTrainingTest, MomentumStandardAndNesterovOverTwoTensors) {
  for (const char* mode : {"standard", "nesterov"}) {
    auto out = OneNodeModel("Momentum", 1, kTraining)
                   .Input("r", F32({}, {0.5f}))
                   .Input("t", I64({}, {1}))
                   .Input("x1", F32({1}, {1}))
                   .Input("x2", F32({2}, {2, 3}))
                   .Input("g1", F32({1}, {1}))
                   .Input("g2", F32({2}, {-1, 0}))
                   .Input("v1", F32({1}, {2}))
                   .Input("v2", F32({2}, {0, 4}))
                   .Output("x1_new", 1)
                   .Output("x2_new", 1)
                   .Output("v1_new", 1)
                   .Output("v2_new", 1)
                   .Float("alpha", 0.5f)
                   .Float("beta", 2)
                   .Float("norm_coefficient", 0)
                   .String("mode", mode)
                   .Run();
    ASSERT_TRUE(out.ok()) << mode << ": " << out.status().message();
    // v_new = 0.5 v + 2 g
    ExpectNear(FloatValues((*out)[2]), {3});
    ExpectNear(FloatValues((*out)[3]), {-2, 2});
    if (std::string(mode) == "standard") {
      ExpectNear(FloatValues((*out)[0]), {1 - 0.5 * 3});
      ExpectNear(FloatValues((*out)[1]), {2 + 1, 3 - 1});
    } else {
      ExpectNear(FloatValues((*out)[0]), {1 - 0.5 * (1 + 0.5 * 3)});
      ExpectNear(FloatValues((*out)[1]), {2 - 0.5 * (-1 - 1), 3 - 0.5 * (0 + 1)});
    }
  }
}

TEST(SpecialTrainingTest, MismatchedShapesAndMissingAttributesAreRejected) {
  auto mismatched = OneNodeModel("Adagrad", 1, kTraining)
                        .Input("r", F32({}, {0.1f}))
                        .Input("t", I64({}, {0}))
                        .Input("x", F32({2}, {1, 2}))
                        .Input("g", F32({1}, {1}))
                        .Input("h", F32({2}, {1, 1}))
                        .Output("x_new", 1)
                        .Output("h_new", 1)
                        .Run();
  EXPECT_FALSE(mismatched.ok());
  auto no_mode = OneNodeModel("Momentum", 1, kTraining)
                     .Input("r", F32({}, {0.1f}))
                     .Input("t", I64({}, {0}))
                     .Input("x", F32({1}, {1}))
                     .Input("g", F32({1}, {1}))
                     .Input("v", F32({1}, {1}))
                     .Output("x_new", 1)
                     .Output("v_new", 1)
                     .Float("alpha", 0.5f)
                     .Float("beta", 1)
                     .Float("norm_coefficient", 0)
                     .Run();
  EXPECT_FALSE(no_mode.ok());
  auto wrong_count = OneNodeModel("Adam", 1, kTraining)
                         .Input("r", F32({}, {0.1f}))
                         .Input("t", I64({}, {0}))
                         .Input("x", F32({1}, {1}))
                         .Input("g", F32({1}, {1}))
                         .Input("v", F32({1}, {1}))
                         .Output("x_new", 1)
                         .Run();
  EXPECT_FALSE(wrong_count.ok());
}

}  // namespace
}  // namespace tessera
