// RNN, GRU and LSTM through one-node models against a plain per-step, per-batch-row reference in double
// (the ONNX equations written out), over seeded random sizes and every option: directions, sequence_lens,
// initial states, bias, peepholes, clip, linear_before_reset, input_forget, layout, omitted outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "testing/one_node_model.h"
#include "ops/cpu/recurrent/recurrent_test_reference.h"

namespace tessera {
namespace {

using testing::Act;
using testing::Config;
using testing::Inputs;
using testing::Outputs;
using testing::RandomInputs;
using testing::OneNodeModel;
using testing::Reference;

// W, R and B are initializers when `constant_weights` (the packed-weight path), graph inputs otherwise.
OneNodeModel BuildModel(const Config& c, const Inputs& in, bool constant_weights = false,
                          const std::vector<bool>& want = {true, true, true}) {
  const int64_t G = c.gates(), H = c.hidden, D = c.dirs, S = c.seq, N = c.batch;
  const Shape x_shape = c.layout == 0 ? Shape{S, N, c.input} : Shape{N, S, c.input};
  const Shape state = c.layout == 0 ? Shape{D, N, H} : Shape{N, D, H};
  OneNodeModel m(c.op, c.opset);
  m.Input("X", Tensor::FromVector(DType::kFloat32, x_shape, in.x));
  m.Input("W", Tensor::FromVector(DType::kFloat32, {D, G * H, c.input}, in.w), constant_weights);
  m.Input("R", Tensor::FromVector(DType::kFloat32, {D, G * H, H}, in.r), constant_weights);
  const bool lstm = c.op == "LSTM";
  // Trailing optional inputs are dropped rather than named empty.
  const int last = lstm && c.peepholes ? 7 : lstm && c.init_c ? 6 : c.init_h ? 5 : c.lengths ? 4 : c.bias ? 3 : 2;
  if (last >= 3)
    c.bias ? m.Input("B", Tensor::FromVector(DType::kFloat32, {D, 2 * G * H}, in.b), constant_weights) : m.SkipInput();
  if (last >= 4) c.lengths ? m.Input("L", Tensor::FromVector(DType::kInt32, {N}, in.lens)) : m.SkipInput();
  if (last >= 5) c.init_h ? m.Input("H0", Tensor::FromVector(DType::kFloat32, state, in.h0)) : m.SkipInput();
  if (last >= 6) c.init_c ? m.Input("C0", Tensor::FromVector(DType::kFloat32, state, in.c0)) : m.SkipInput();
  if (last >= 7) m.Input("P", Tensor::FromVector(DType::kFloat32, {D, 3 * H}, in.p));
  const bool any_later = want[1] || (lstm && want[2]);
  if (want[0])
    m.Output("Y", 4);
  else if (any_later)
    m.SkipOutput();
  if (want[1])
    m.Output("Y_h", 3);
  else if (lstm && want[2])
    m.SkipOutput();
  if (lstm && want[2]) m.Output("Y_c", 3);
  m.Int("hidden_size", H).String("direction", c.direction());
  if (c.opset >= 14) m.Int("layout", c.layout);
  if (c.clip > 0) m.Float("clip", static_cast<float>(c.clip));
  if (c.op == "GRU" && c.opset >= 3) m.Int("linear_before_reset", c.linear_before_reset);
  if (lstm) m.Int("input_forget", c.input_forget);
  return m;
}

void ExpectNear(const float* got, const std::vector<double>& want, const std::string& what, const std::string& where) {
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 2e-4 * std::max(1.0, std::fabs(want[i]))) << what << " at " << i << " of " << where;
  }
}

std::string Describe(const Config& c) {
  return c.op + "-" + std::to_string(c.opset) + " " + c.direction() + " layout " + std::to_string(c.layout) + " seq " +
         std::to_string(c.seq) + " batch " + std::to_string(c.batch) + " input " + std::to_string(c.input) +
         " hidden " + std::to_string(c.hidden) + (c.bias ? " B" : "") + (c.lengths ? " lens" : "") +
         (c.init_h ? " h0" : "") + (c.init_c ? " c0" : "") + (c.peepholes ? " P" : "") + (c.clip > 0 ? " clip" : "") +
         (c.linear_before_reset ? " lbr" : "") + (c.input_forget ? " input_forget" : "");
}

void RunAndCompare(const Config& c, const Inputs& in) {
  auto out = BuildModel(c, in).Run();
  ASSERT_TRUE(out.ok()) << Describe(c) << ": " << out.status().message();
  const Outputs want = Reference(c, in);
  ASSERT_EQ(out->size(), c.op == "LSTM" ? 3u : 2u);
  ExpectNear((*out)[0].data<float>(), want.y, "Y", Describe(c));
  ExpectNear((*out)[1].data<float>(), want.y_h, "Y_h", Describe(c));
  if (c.op == "LSTM") ExpectNear((*out)[2].data<float>(), want.y_c, "Y_c", Describe(c));
}

TEST(RecurrentTest, RandomConfigsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const char* ops[] = {"RNN", "GRU", "LSTM"};
  for (int trial = 0; trial < 36; ++trial) {
    Config c;
    c.op = ops[trial % 3];
    c.opset = trial % 4 == 0 ? 7 : 14;
    c.dirs = rng() % 2 ? 2 : 1;
    c.reverse = c.dirs == 1 && rng() % 2;
    c.layout = c.opset >= 14 ? static_cast<int>(rng() % 2) : 0;
    c.seq = 1 + rng() % 7;
    c.batch = 1 + rng() % 5;
    c.input = 1 + rng() % 9;
    c.hidden = 1 + rng() % 20;
    c.bias = rng() % 2;
    c.lengths = rng() % 2;
    c.init_h = rng() % 2;
    c.init_c = c.op == "LSTM" && rng() % 2;
    c.peepholes = c.op == "LSTM" && rng() % 2;
    c.clip = rng() % 4 == 0 ? 0.7 : 0;
    c.linear_before_reset = c.op == "GRU" && rng() % 2;
    c.input_forget = c.op == "LSTM" && rng() % 4 == 0;
    const Inputs in = RandomInputs(c, rng);
    RunAndCompare(c, in);
    if (HasFatalFailure()) return;
  }
}

TEST(RecurrentTest, BidirectionalWithLengthsStatesAndBatchMajorLayout) {
  std::mt19937 rng(7);
  for (const char* op : {"RNN", "GRU", "LSTM"}) {
    Config c;
    c.op = op;
    c.dirs = 2;
    c.layout = 1;
    c.seq = 6, c.batch = 4, c.input = 5, c.hidden = 8;
    c.bias = c.lengths = c.init_h = true;
    c.init_c = c.peepholes = c.op == "LSTM";
    Inputs in = RandomInputs(c, rng);
    in.lens = {6, 3, 0, 1};  // full, partial, empty (state stays initial, Y all zero), single step
    RunAndCompare(c, in);
  }
}

// LSTMs whose steps are big enough to split their hidden units across the two threads (one parallel
// region, a barrier per step): forward and bidirectional, ragged lengths (a row that ends early carries
// its state), peepholes, clip, and a hidden size that is no multiple of 16 (the last part is shorter).
TEST(RecurrentTest, LstmSplitAcrossThreadsMatchesReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 3; ++trial) {
    Config c;
    c.dirs = trial == 1 ? 2 : 1;
    c.layout = trial == 2 ? 1 : 0;
    c.seq = 4, c.input = 7;
    c.batch = trial == 0 ? 1 : 3;
    c.hidden = trial == 0 ? 256 : 200;
    c.bias = c.init_h = c.init_c = true;
    c.lengths = trial > 0;
    c.peepholes = trial != 0;
    c.clip = trial == 2 ? 0.9 : 0;
    Inputs in = RandomInputs(c, rng);
    if (c.lengths) in.lens = {4, 2, 0};
    RunAndCompare(c, in);
    if (HasFatalFailure()) return;
  }
}

TEST(RecurrentTest, CustomActivationsWithAlphaBeta) {
  std::mt19937 rng(11);
  Config c;
  c.op = "LSTM";
  c.dirs = 2;
  c.seq = 4, c.batch = 2, c.input = 3, c.hidden = 5;
  c.bias = true;
  // alpha and beta are consumed in order by the functions that take them.
  c.acts = {
      {"HardSigmoid", 0.3, 0.4}, {"LeakyRelu", 0.2}, {"ScaledTanh", 1.5, 0.7}, {"Sigmoid"}, {"Elu", 0.9}, {"Softsign"}};
  const Inputs in = RandomInputs(c, rng);
  auto out = BuildModel(c, in)
                 .Strings("activations", {"HardSigmoid", "LeakyRelu", "ScaledTanh", "sigmoid", "Elu", "Softsign"})
                 .Floats("activation_alpha", {0.3f, 0.2f, 1.5f, 0.9f})
                 .Floats("activation_beta", {0.4f, 0.7f})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Outputs want = Reference(c, in);
  ExpectNear((*out)[0].data<float>(), want.y, "Y", Describe(c));
  ExpectNear((*out)[2].data<float>(), want.y_c, "Y_c", Describe(c));
}

TEST(RecurrentTest, RemainingActivationsAndDefaults) {
  std::mt19937 rng(12);
  Config c;
  c.op = "GRU";
  c.dirs = 2;
  c.seq = 3, c.batch = 2, c.input = 4, c.hidden = 6;
  c.bias = true;
  // Affine and ThresholdedRelu get their standalone defaults (1, 0 and 1) when no values are given.
  c.acts = {{"Softplus"}, {"Affine", 1.0, 0.0}, {"Relu"}, {"ThresholdedRelu", 1.0}};
  const Inputs in = RandomInputs(c, rng);
  auto out = BuildModel(c, in).Strings("activations", {"Softplus", "Affine", "Relu", "ThresholdedRelu"}).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear((*out)[0].data<float>(), Reference(c, in).y, "Y", Describe(c));
}

TEST(RecurrentTest, ConstantWeightsArePackedOnceAndReusedAcrossRuns) {
  std::mt19937 rng(3);
  for (const char* op : {"RNN", "GRU", "LSTM"}) {
    Config c;
    c.op = op;
    c.dirs = 2;
    // Big enough that the GEMMs take oneDNN's multi-threaded path (the small tests run serially).
    c.seq = 5, c.batch = 8, c.input = 7, c.hidden = 64;
    c.bias = true;
    const Inputs in = RandomInputs(c, rng);
    OneNodeModel m = BuildModel(c, in, /*constant_weights=*/true);
    ASSERT_TRUE(m.Load().ok());
    const Outputs want = Reference(c, in);
    for (int run = 0; run < 2; ++run) {
      auto out = m.RunLoaded();
      ASSERT_TRUE(out.ok()) << out.status().message();
      ExpectNear((*out)[0].data<float>(), want.y, "Y run " + std::to_string(run), Describe(c));
    }
  }
}

// Regression guard: weights fed at run time are packed per run, never reused from an earlier run.
TEST(RecurrentTest, FedWeightsThatChangeBetweenRunsArePackedAgain) {
  std::mt19937 rng(4);
  for (const char* op : {"GRU", "LSTM"}) {
    Config c;
    c.op = op;
    c.seq = 4, c.batch = 2, c.input = 5, c.hidden = 8;
    const Inputs first = RandomInputs(c, rng);
    Inputs second = RandomInputs(c, rng);
    second.x = first.x;
    OneNodeModel m = BuildModel(c, first);
    ASSERT_TRUE(m.Load().ok());
    auto out = m.RunLoaded();
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectNear((*out)[0].data<float>(), Reference(c, first).y, "Y run 0", Describe(c));
    // Same tensors, new contents: the weight pointers do not change, so only invalidation repacks them.
    const int64_t G = c.gates(), H = c.hidden;
    Tensor w = Tensor::FromVector(DType::kFloat32, {1, G * H, c.input}, first.w);
    Tensor r = Tensor::FromVector(DType::kFloat32, {1, G * H, H}, first.r);
    m.SetFeed("W", w);
    m.SetFeed("R", r);
    out = m.RunLoaded();
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::copy(second.w.begin(), second.w.end(), w.data<float>());
    std::copy(second.r.begin(), second.r.end(), r.data<float>());
    out = m.RunLoaded();
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectNear((*out)[0].data<float>(), Reference(c, second).y, "Y run 1", Describe(c));
  }
}

TEST(RecurrentTest, OmittedOutputs) {
  std::mt19937 rng(5);
  Config c;
  c.op = "LSTM";
  c.seq = 4, c.batch = 2, c.input = 3, c.hidden = 4;
  const Inputs in = RandomInputs(c, rng);
  const Outputs want = Reference(c, in);
  auto only_c = BuildModel(c, in, false, {false, false, true}).Run();  // Y and Y_h left out
  ASSERT_TRUE(only_c.ok()) << only_c.status().message();
  ASSERT_EQ(only_c->size(), 1u);
  ExpectNear((*only_c)[0].data<float>(), want.y_c, "Y_c", Describe(c));
  auto only_y = BuildModel(c, in, false, {true, false, false}).Run();
  ASSERT_TRUE(only_y.ok()) << only_y.status().message();
  ExpectNear((*only_y)[0].data<float>(), want.y, "Y", Describe(c));
}

TEST(RecurrentTest, OlderOpsets) {
  std::mt19937 rng(9);
  for (auto [op, opset] : {std::pair{"RNN", 1}, {"GRU", 1}, {"GRU", 3}, {"LSTM", 1}, {"LSTM", 7}}) {
    Config c;
    c.op = op;
    c.opset = opset;
    c.dirs = 2;
    c.seq = 3, c.batch = 2, c.input = 3, c.hidden = 5;
    c.bias = c.lengths = c.init_h = true;
    c.linear_before_reset = c.op == "GRU" && opset >= 3;
    RunAndCompare(c, RandomInputs(c, rng));
  }
}

TEST(RecurrentTest, Float64) {
  std::mt19937 rng(13);
  Config c;
  c.op = "GRU";
  c.seq = 3, c.batch = 2, c.input = 3, c.hidden = 4;
  const Inputs in = RandomInputs(c, rng);
  auto to_double = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  OneNodeModel m("GRU", 14);
  m.Input("X", Tensor::FromVector(DType::kFloat64, {3, 2, 3}, to_double(in.x)))
      .Input("W", Tensor::FromVector(DType::kFloat64, {1, 12, 3}, to_double(in.w)))
      .Input("R", Tensor::FromVector(DType::kFloat64, {1, 12, 4}, to_double(in.r)))
      .Output("Y", 4, DType::kFloat64)
      .Int("hidden_size", 4);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Outputs want = Reference(c, in);
  for (size_t i = 0; i < want.y.size(); ++i) ASSERT_NEAR((*out)[0].data<double>()[i], want.y[i], 1e-12) << i;
}

// float16 computes in float32 and rounds the outputs once.
TEST(RecurrentTest, Float16) {
  std::mt19937 rng(31);
  Config c;
  c.op = "LSTM";
  c.dirs = 2;
  c.seq = 4, c.batch = 2, c.input = 3, c.hidden = 6;
  c.bias = true;
  Inputs in = RandomInputs(c, rng);
  auto to_half = [](std::vector<float>& v) {  // rounds v to float16 in place and returns the raw halves
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      h[i] = FloatToHalf(v[i]);
      v[i] = HalfToFloat(h[i]);
    }
    return h;
  };
  const int64_t G = c.gates(), H = c.hidden;
  OneNodeModel m("LSTM", 14);
  m.Input("X", Tensor::FromVector(DType::kFloat16, {4, 2, 3}, to_half(in.x)))
      .Input("W", Tensor::FromVector(DType::kFloat16, {2, G * H, 3}, to_half(in.w)))
      .Input("R", Tensor::FromVector(DType::kFloat16, {2, G * H, H}, to_half(in.r)))
      .Input("B", Tensor::FromVector(DType::kFloat16, {2, 2 * G * H}, to_half(in.b)))
      .Output("Y", 4, DType::kFloat16)
      .Int("hidden_size", H)
      .String("direction", "bidirectional");
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].dtype(), DType::kFloat16);
  const Outputs want = Reference(c, in);
  for (size_t i = 0; i < want.y.size(); ++i) {
    ASSERT_NEAR(HalfToFloat((*out)[0].data<uint16_t>()[i]), want.y[i], 1e-3) << i;
  }
}

TEST(RecurrentTest, EmptySequenceGivesInitialState) {
  std::mt19937 rng(17);
  Config c;
  c.op = "LSTM";
  c.seq = 0, c.batch = 2, c.input = 3, c.hidden = 4;
  c.init_h = c.init_c = true;
  RunAndCompare(c, RandomInputs(c, rng));
}

// Invalid inputs must come back as errors naming the value, never crash.
TEST(RecurrentTest, WeightsWithWrongHiddenSizeAreRejected) {
  std::mt19937 rng(19);
  Config c;
  c.op = "LSTM";
  c.seq = 2, c.batch = 1, c.input = 3, c.hidden = 4;
  const Inputs in = RandomInputs(c, rng);
  // hidden_size 5, but W and R are laid out for 4 (4 gates x 4 rows).
  OneNodeModel m("LSTM", 14);
  m.Input("X", Tensor::FromVector(DType::kFloat32, {2, 1, 3}, in.x))
      .Input("W", Tensor::FromVector(DType::kFloat32, {1, 16, 3}, in.w))
      .Input("R", Tensor::FromVector(DType::kFloat32, {1, 16, 4}, in.r))
      .Output("Y", 4)
      .Int("hidden_size", 5);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input W"), std::string::npos) << out.status().message();
}

TEST(RecurrentTest, SequenceLengthsLongerThanSequenceAreRejected) {
  std::mt19937 rng(23);
  Config c;
  c.op = "GRU";
  c.seq = 3, c.batch = 2, c.input = 2, c.hidden = 3;
  c.lengths = true;
  Inputs in = RandomInputs(c, rng);
  in.lens = {3, 4};
  auto out = BuildModel(c, in).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("sequence_lens[1] is 4"), std::string::npos) << out.status().message();
  in.lens = {-1, 2};
  EXPECT_FALSE(BuildModel(c, in).Run().ok());
}

TEST(RecurrentTest, BadAttributesAndShapesAreRejected) {
  std::mt19937 rng(29);
  Config c;
  c.op = "RNN";
  c.seq = 2, c.batch = 2, c.input = 2, c.hidden = 3;
  const Inputs in = RandomInputs(c, rng);
  EXPECT_FALSE(BuildModel(c, in).String("direction", "sideways").Run().ok());
  EXPECT_FALSE(BuildModel(c, in).Strings("activations", {"Swish"}).Run().ok());
  EXPECT_FALSE(BuildModel(c, in).Strings("activations", {"Tanh", "Tanh", "Tanh"}).Run().ok());
  // initial_h for 2 directions on a forward RNN.
  OneNodeModel wrong_state("RNN", 14);
  wrong_state.Input("X", Tensor::FromVector(DType::kFloat32, {2, 2, 2}, in.x))
      .Input("W", Tensor::FromVector(DType::kFloat32, {1, 3, 2}, in.w))
      .Input("R", Tensor::FromVector(DType::kFloat32, {1, 3, 3}, in.r))
      .SkipInput()
      .SkipInput()
      .Input("H0", Tensor::FromVector(DType::kFloat32, {2, 2, 3}, in.h0))
      .Output("Y", 4)
      .Int("hidden_size", 3);
  auto out = wrong_state.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("initial_h"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
