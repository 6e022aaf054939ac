// Signal ops: FftPlan against a direct double-precision DFT over every method's lengths, DFT and STFT
// through one-node models against the same reference (seeded random signals, printed seed), the
// cosine windows and MelWeightMatrix on hand-checked values, and inputs that must be rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "ops/cpu/signal/signal_fft.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"
#include "ops/registry.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::I64;

Tensor F32(Shape shape, const std::vector<float>& v) {
  return Tensor::FromVector(DType::kFloat32, std::move(shape), v);
}

// Direct DFT of `x` (length n), zero-padded or truncated to `length`.
std::vector<Complex> ReferenceDft(const std::vector<Complex>& x, int64_t length, bool inverse) {
  std::vector<Complex> y(static_cast<size_t>(length));
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < length; ++k) {
    Complex sum = 0;
    for (int64_t j = 0; j < std::min<int64_t>(length, static_cast<int64_t>(x.size())); ++j) {
      const double angle =
          sign * 2 * std::numbers::pi * static_cast<double>((j * k) % length) / static_cast<double>(length);
      sum += x[static_cast<size_t>(j)] * Complex(std::cos(angle), std::sin(angle));
    }
    y[static_cast<size_t>(k)] = inverse ? sum / static_cast<double>(length) : sum;
  }
  return y;
}

TEST(SpecialFftTest, EveryMethodMatchesDirectSum) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  // Powers of two (radix-2), short odd lengths (direct) and long ones (Bluestein).
  for (int64_t n : {1, 2, 3, 7, 8, 12, 64, 65, 97, 128, 200, 1000}) {
    auto plan = FftPlan::Create(n);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    std::vector<Complex> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (Complex& v : x) v = {dist(rng), dist(rng)};
    FftScratch scratch;
    for (bool inverse : {false, true}) {
      plan->Transform(x.data(), y.data(), inverse, scratch);
      std::vector<Complex> want = ReferenceDft(x, n, inverse);
      for (int64_t k = 0; k < n; ++k) {
        const Complex got = inverse ? y[static_cast<size_t>(k)] / static_cast<double>(n) : y[static_cast<size_t>(k)];
        ASSERT_LT(std::abs(got - want[static_cast<size_t>(k)]), 1e-9 * std::max(1.0, std::sqrt(static_cast<double>(n))))
            << "n " << n << " inverse " << inverse << " bin " << k;
      }
    }
  }
  EXPECT_FALSE(FftPlan::Create(0).ok());
}

// --- DFT ----------------------------------------------------------------------------------------------

TEST(SpecialDftTest, RealAndComplexSignalsMatchReferenceAcrossLengthsAndOptions) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  struct Case {
    int64_t n, components, length;
    bool inverse, onesided;
  };
  for (const Case& c : std::vector<Case>{{8, 1, 8, false, false},
                                         {5, 2, 5, true, false},
                                         {67, 1, 67, false, true},
                                         {6, 2, 10, false, false},
                                         {10, 1, 4, false, true},
                                         {16, 2, 16, true, false}}) {
    const int64_t batch = 2;
    std::vector<float> x(static_cast<size_t>(batch * c.n * c.components));
    for (float& v : x) v = dist(rng);
    OneNodeModel m("DFT", 17);
    m.Input("x", F32({batch, c.n, c.components}, x));
    if (c.length != c.n) m.Input("len", I64({}, {c.length}));
    auto out = m.Output("y", 3).Int("inverse", c.inverse).Int("onesided", c.onesided).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    const int64_t bins = c.onesided ? c.length / 2 + 1 : c.length;
    ASSERT_EQ((*out)[0].shape(), (Shape{batch, bins, 2}));
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Complex> signal;
      for (int64_t j = 0; j < c.n; ++j) {
        const float* v = &x[static_cast<size_t>((b * c.n + j) * c.components)];
        signal.emplace_back(v[0], c.components == 2 ? v[1] : 0.0f);
      }
      const std::vector<Complex> want = ReferenceDft(signal, c.length, c.inverse);
      for (int64_t k = 0; k < bins; ++k) {
        const float* got = (*out)[0].data<float>() + (b * bins + k) * 2;
        EXPECT_NEAR(got[0], want[static_cast<size_t>(k)].real(), 1e-4) << "n " << c.n << " bin " << k;
        EXPECT_NEAR(got[1], want[static_cast<size_t>(k)].imag(), 1e-4) << "n " << c.n << " bin " << k;
      }
    }
  }
}

// Runs the registered DFT kernel of `opset` directly: the installed ONNX checker predates opset 20's
// DFT (axis as a third input), so such a model cannot be loaded through a Session here.
StatusOr<Tensor> RunDftKernel(int opset, const Tensor& x, const Tensor* axis_input, int64_t axis_attribute) {
  Node node;
  node.op_type = "DFT";
  node.opset = opset;
  node.inputs = {0, kNoValue, 1};
  node.explicit_input_count = 3;
  node.outputs = {2};
  Attribute axis;
  axis.type = Attribute::Type::kInt;
  axis.i = axis_attribute;
  if (opset < 20) node.attributes["axis"] = axis;
  Graph graph;
  const KernelDef* def = KernelRegistry::Global().Find("DFT", "", opset);
  if (def == nullptr) return Internal("no DFT kernel at opset " + std::to_string(opset));
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel,
                      def->factory(KernelInit{node, graph, [](size_t) -> const Tensor* { return nullptr; }, nullptr}));
  ThreadPool pool(1);
  std::vector<Value> outputs(1);
  const Value x_value(x);
  const Value axis_value = axis_input != nullptr ? Value(*axis_input) : Value();
  KernelContext ctx(node, {&x_value, nullptr, axis_input != nullptr ? &axis_value : nullptr}, outputs, pool);
  TS_RETURN_IF_ERROR(kernel->Run(ctx));
  return outputs[0].tensor();
}

TEST(SpecialDftTest, InnerAxisAttributeAndOpset20AxisInput) {
  // x[1, 2, 3, 1]: transform along the axis of length 3 (attribute axis=2, or input axis=-2 at opset 20,
  // which is also opset 20's default).
  const Tensor x = F32({1, 2, 3, 1}, {1, 2, 3, 4, 5, 6});
  const Tensor minus_two = I64({}, {-2});
  std::vector<StatusOr<Tensor>> outs;
  outs.push_back(RunDftKernel(17, x, nullptr, 2));
  outs.push_back(RunDftKernel(20, x, &minus_two, 0));
  outs.push_back(RunDftKernel(20, x, nullptr, 0));
  for (const auto& out : outs) {
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ(out->shape(), (Shape{1, 2, 3, 2}));
    for (int row = 0; row < 2; ++row) {
      std::vector<Complex> signal;
      for (int j = 0; j < 3; ++j) signal.emplace_back(x.data<float>()[row * 3 + j], 0);
      const std::vector<Complex> want = ReferenceDft(signal, 3, false);
      for (int k = 0; k < 3; ++k) {
        const float* got = out->data<float>() + (row * 3 + k) * 2;
        EXPECT_NEAR(got[0], want[static_cast<size_t>(k)].real(), 1e-5);
        EXPECT_NEAR(got[1], want[static_cast<size_t>(k)].imag(), 1e-5);
      }
    }
  }
  const Tensor last = I64({}, {-1});  // the real/imaginary axis is not a signal axis
  EXPECT_FALSE(RunDftKernel(20, x, &last, 0).ok());
}

TEST(SpecialDftTest, BadComponentsAxisAndLengthAreRejected) {
  EXPECT_FALSE(OneNodeModel("DFT", 17).Input("x", F32({1, 2, 3}, std::vector<float>(6))).Output("y", 3).Run().ok());
  EXPECT_FALSE(OneNodeModel("DFT", 17)
                   .Input("x", F32({1, 4, 1}, std::vector<float>(4)))
                   .Output("y", 3)
                   .Int("axis", 2)
                   .Run()
                   .ok());
  EXPECT_FALSE(OneNodeModel("DFT", 17)
                   .Input("x", F32({1, 4, 1}, std::vector<float>(4)))
                   .Input("len", I64({}, {0}))
                   .Output("y", 3)
                   .Run()
                   .ok());
  EXPECT_FALSE(OneNodeModel("DFT", 17)  // inverse with onesided is refused, not guessed
                   .Input("x", F32({1, 4, 2}, std::vector<float>(8)))
                   .Output("y", 3)
                   .Int("inverse", 1)
                   .Int("onesided", 1)
                   .Run()
                   .ok());
}

// --- STFT ---------------------------------------------------------------------------------------------

TEST(SpecialStftTest, WindowedFramesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  const int64_t length = 37, frame = 10, step = 4;
  std::vector<float> signal(2 * length), window(frame);
  for (float& v : signal) v = dist(rng);
  for (float& v : window) v = dist(rng);
  auto out = OneNodeModel("STFT", 17)
                 .Input("signal", F32({2, length, 1}, signal))
                 .Input("step", I64({}, {step}))
                 .Input("window", F32({frame}, window))
                 .Input("frame", I64({}, {frame}))
                 .Output("y", 4)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const int64_t frames = (length - frame) / step + 1, bins = frame / 2 + 1;
  ASSERT_EQ((*out)[0].shape(), (Shape{2, frames, bins, 2}));
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t f = 0; f < frames; ++f) {
      std::vector<Complex> x;
      for (int64_t j = 0; j < frame; ++j) {
        x.emplace_back(signal[static_cast<size_t>(b * length + f * step + j)] * window[static_cast<size_t>(j)], 0);
      }
      const std::vector<Complex> want = ReferenceDft(x, frame, false);
      for (int64_t k = 0; k < bins; ++k) {
        const float* got = (*out)[0].data<float>() + ((b * frames + f) * bins + k) * 2;
        EXPECT_NEAR(got[0], want[static_cast<size_t>(k)].real(), 1e-4);
        EXPECT_NEAR(got[1], want[static_cast<size_t>(k)].imag(), 1e-4);
      }
    }
  }
}

TEST(SpecialStftTest, TwoSidedWithoutWindow) {
  auto out = OneNodeModel("STFT", 17)
                 .Input("signal", F32({1, 4, 1}, {1, 0, 0, 0}))
                 .Input("step", I64({}, {2}))
                 .SkipInput()
                 .Input("frame", I64({}, {2}))
                 .Output("y", 4)
                 .Int("onesided", 0)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{1, 2, 2, 2}));
  const std::vector<float> want = {1, 0, 1, 0, 0, 0, 0, 0};  // frame [1, 0] is flat, frame [0, 0] is zero
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*out)[0].data<float>()[i], want[i], 1e-6);
}

TEST(SpecialStftTest, TwoDimensionalSignalIsReal) {
  auto out = OneNodeModel("STFT", 17)
                 .Input("signal", F32({1, 4}, {1, 1, 1, 1}))
                 .Input("step", I64({}, {2}))
                 .SkipInput()
                 .Input("frame", I64({}, {2}))
                 .Output("y", 4)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{1, 2, 2, 2}));
  const std::vector<float> want = {2, 0, 0, 0, 2, 0, 0, 0};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*out)[0].data<float>()[i], want[i], 1e-6);
  EXPECT_FALSE(OneNodeModel("STFT", 17)
                   .Input("signal", F32({1, 4, 3}, std::vector<float>(12)))
                   .Input("step", I64({}, {2}))
                   .SkipInput()
                   .Input("frame", I64({}, {2}))
                   .Output("y", 4)
                   .Run()
                   .ok());
}

TEST(SpecialStftTest, BadFramesAreRejected) {
  const Tensor signal = F32({1, 4, 1}, {1, 2, 3, 4});
  auto run = [&](int64_t step, int64_t frame, int64_t window) {
    OneNodeModel m("STFT", 17);
    m.Input("signal", signal).Input("step", I64({}, {step}));
    if (window > 0) {
      m.Input("window", F32({window}, std::vector<float>(static_cast<size_t>(window), 1)));
    } else {
      m.SkipInput();
    }
    if (frame > 0) m.Input("frame", I64({}, {frame}));
    return m.Output("y", 4).Run();
  };
  EXPECT_TRUE(run(1, 2, 0).ok());
  EXPECT_FALSE(run(1, 5, 0).ok());  // frame longer than the signal
  EXPECT_FALSE(run(0, 2, 0).ok());  // zero step
  EXPECT_FALSE(run(1, 2, 3).ok());  // window and frame_length disagree
  EXPECT_FALSE(run(1, 0, 0).ok());  // neither window nor frame_length
}

// --- Windows and MelWeightMatrix ----------------------------------------------------------------------

StatusOr<std::vector<Tensor>> Window(const std::string& op, int64_t size, int periodic, DType dtype = DType::kFloat32) {
  return OneNodeModel(op, 17)
      .Input("size", I64({}, {size}))
      .Output("y", 1, dtype)
      .Int("periodic", periodic)
      .Int("output_datatype", static_cast<int64_t>(dtype))
      .Run();
}

TEST(SpecialWindowTest, HandCheckedPeriodicAndSymmetricWindows) {
  struct Case {
    const char* op;
    int64_t size;
    int periodic;
    std::vector<double> want;
  };
  const double h0 = 25.0 / 46.0 - 21.0 / 46.0;
  for (const Case& c : std::vector<Case>{{"HannWindow", 4, 1, {0, 0.5, 1, 0.5}},
                                         {"HannWindow", 3, 0, {0, 1, 0}},
                                         {"HammingWindow", 4, 1, {h0, 25.0 / 46.0, 1, 25.0 / 46.0}},
                                         {"BlackmanWindow", 4, 1, {0, 0.34, 1, 0.34}},
                                         {"BlackmanWindow", 1, 0, {0}}}) {
    auto out = Window(c.op, c.size, c.periodic);
    ASSERT_TRUE(out.ok()) << c.op << ": " << out.status().message();
    ASSERT_EQ((*out)[0].element_count(), c.size);
    for (int64_t i = 0; i < c.size; ++i) {
      EXPECT_NEAR((*out)[0].data<float>()[i], c.want[static_cast<size_t>(i)], 1e-6) << c.op << " " << i;
    }
  }
}

TEST(SpecialWindowTest, OutputDatatypeAndEmptyWindow) {
  auto f64 = Window("HannWindow", 2, 1, DType::kFloat64);
  ASSERT_TRUE(f64.ok()) << f64.status().message();
  EXPECT_DOUBLE_EQ((*f64)[0].data<double>()[1], 1.0);
  auto i32 = Window("HannWindow", 4, 1, DType::kInt32);  // truncated: [0, 0, 1, 0]
  ASSERT_TRUE(i32.ok()) << i32.status().message();
  EXPECT_EQ((*i32)[0].data<int32_t>()[2], 1);
  EXPECT_EQ((*i32)[0].data<int32_t>()[1], 0);
  auto empty = Window("HammingWindow", 0, 1);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ((*empty)[0].shape(), Shape{0});
}

TEST(SpecialWindowTest, NegativeSizeAndStringDatatypeAreRejected) {
  EXPECT_FALSE(Window("HannWindow", -1, 1).ok());
  EXPECT_FALSE(Window("BlackmanWindow", 4, 1, DType::kString).ok());
}

StatusOr<std::vector<Tensor>> Mel(int64_t bins, int64_t dft_length, int64_t rate, float low, float high) {
  return OneNodeModel("MelWeightMatrix", 17)
      .Input("bins", I64({}, {bins}))
      .Input("dft", I64({}, {dft_length}))
      .Input("rate", I64({}, {rate}))
      .Input("low", F32({}, {low}))
      .Input("high", F32({}, {high}))
      .Output("y", 2)
      .Run();
}

TEST(SpecialMelWeightMatrixTest, TrianglesPeakAtOneAndStayInRange) {
  auto out = Mel(6, 64, 16000, 20, 8000);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{33, 6}));
  const float* w = (*out)[0].data<float>();
  for (int64_t mel = 0; mel < 6; ++mel) {
    float peak = 0;
    for (int64_t bin = 0; bin < 33; ++bin) {
      const float v = w[bin * 6 + mel];
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
      peak = std::max(peak, v);
    }
    EXPECT_FLOAT_EQ(peak, 1.0f) << "filter " << mel;
  }
}

TEST(SpecialMelWeightMatrixTest, EdgesPastNyquistAreDroppedAndBadInputsRejected) {
  auto beyond = Mel(4, 16, 8000, 0, 1e9f);  // upper edge far past the Nyquist frequency
  ASSERT_TRUE(beyond.ok()) << beyond.status().message();
  EXPECT_EQ((*beyond)[0].shape(), (Shape{9, 4}));
  EXPECT_FALSE(Mel(0, 16, 8000, 0, 4000).ok());
  EXPECT_FALSE(Mel(4, 16, 0, 0, 4000).ok());
  EXPECT_FALSE(Mel(4, 16, 8000, 4000, 100).ok());
}

}  // namespace
}  // namespace tessera
