// QuantizeModelFile end to end: each mode on small built models, the quantized file run through a real
// Session and compared with the float model, external data in and out, and every refused input.
#include "compress/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "compress/model_writer.h"
#include "core/npy.h"
#include "model/onnx_loader.h"
#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera::compress {
namespace {

namespace fs = std::filesystem;
using testing::OnnxBuilder;

std::vector<float> Random(int64_t n, std::mt19937& rng, float sigma = 0.3f) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// x[4, 40] -> MatMul W1[40, 24] -> Relu -> Gemm(W2[16, 24], b2, transB) -> y[4, 16].
std::string WriteMlp(uint32_t seed, const std::string& dir = "") {
  std::mt19937 rng(seed);
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {4, 40});
  b.Initializer("W1", Random(40 * 24, rng), {40, 24});
  b.Initializer("W2", Random(16 * 24, rng), {16, 24});
  b.Initializer("b2", Random(16, rng), {16});
  b.Node("MatMul", {"x", "W1"}, {"h"}, "fc1");
  b.Node("Relu", {"h"}, {"hr"}, "relu");
  auto& gemm = b.Node("Gemm", {"hr", "W2", "b2"}, {"y"}, "fc2");
  OnnxBuilder::IntAttribute(gemm, "transB", 1);
  b.Output("y", DType::kFloat32, {4, 16});
  if (dir.empty()) return b.WriteTemp("mlp.onnx");
  std::ofstream(dir + "/mlp.onnx", std::ios::binary) << b.Serialize();
  return dir + "/mlp.onnx";
}

// x[1, 3, 8, 8] -> Conv W[4, 3, 3, 3] + B -> Relu -> y.
std::string WriteCnn(uint32_t seed) {
  std::mt19937 rng(seed);
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {1, 3, 8, 8});
  b.Initializer("W", Random(4 * 3 * 9, rng), {4, 3, 3, 3});
  b.Initializer("B", Random(4, rng), {4});
  auto& conv = b.Node("Conv", {"x", "W", "B"}, {"c"}, "conv");
  OnnxBuilder::IntsAttribute(conv, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"y"}, "relu");
  b.Output("y", DType::kFloat32, {1, 4, 8, 8});
  return b.WriteTemp("cnn.onnx");
}

// `count` samples of x (the given shape) as DIR/s<i>/x.npy.
std::string WriteSamples(const std::vector<int64_t>& shape, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::string dir = OnnxBuilder::MakeTempDir();
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  for (int i = 0; i < count; ++i) {
    fs::create_directories(dir + "/s" + std::to_string(i));
    EXPECT_TRUE(WriteNpy(dir + "/s" + std::to_string(i) + "/x.npy",
                         testing::F32(Shape(shape.begin(), shape.end()), Random(n, rng, 1.0f)))
                    .ok());
  }
  return dir;
}

// Runs both files on sample 0 and returns the largest |quantized - float| of output 0 relative to its max.
double RelativeError(const std::string& float_path, const std::string& quantized_path, const std::string& samples) {
  auto x = ReadNpy(samples + "/s0/x.npy");
  EXPECT_TRUE(x.ok());
  auto f = Session::Load(float_path);
  auto q = Session::Load(quantized_path);
  EXPECT_TRUE(f.ok() && q.ok()) << (q.ok() ? "" : q.status().message());
  if (!f.ok() || !q.ok()) return 1e9;
  auto yf = (*f)->Run({{"x", *x}});
  auto yq = (*q)->Run({{"x", *x}});
  EXPECT_TRUE(yf.ok() && yq.ok());
  const auto a = testing::FloatValues((*yf)[0]), b = testing::FloatValues((*yq)[0]);
  double worst = 0, peak = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    peak = std::max(peak, std::fabs(static_cast<double>(a[i])));
  }
  return worst / peak;
}

std::map<std::string, int> OpHistogram(const std::string& path) {
  onnx::ModelProto m;
  EXPECT_TRUE(ReadModelProtoFile(path, m).ok());
  std::map<std::string, int> ops;
  for (const auto& n : m.graph().node()) ++ops[n.op_type()];
  return ops;
}

TEST(QuantizeTest, WeightsModeWritesMatMulNBitsForMatMulAndGemm) {
  const std::string in = WriteMlp(1), samples = WriteSamples({4, 40}, 2, 2);
  const std::string out = fs::path(in).parent_path().string() + "/q.onnx";
  QuantizeOptions o;
  o.calibration_dir = samples;
  auto report = QuantizeModelFile(in, out, o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->layers.size(), 2u);
  EXPECT_TRUE(report->layers[0].output_error.measured);
  EXPECT_GT(report->model_outputs[0].second.cosine, 0.99);
  const auto ops = OpHistogram(out);
  EXPECT_EQ(ops.at("MatMulNBits"), 2);
  EXPECT_EQ(ops.count("MatMul") + ops.count("Gemm"), 0u);
  EXPECT_LT(RelativeError(in, out, samples), 0.2);  // 4-bit: 1/15 of each block's range per step
}

TEST(QuantizeTest, WeightsModeEightBitSymmetricIsCloser) {
  const std::string in = WriteMlp(3), samples = WriteSamples({4, 40}, 1, 4);
  const std::string out = fs::path(in).parent_path().string() + "/q8.onnx";
  QuantizeOptions o;
  o.bits = 8;
  o.symmetric = true;
  o.block_size = 16;
  ASSERT_TRUE(QuantizeModelFile(in, out, o).ok());
  EXPECT_LT(RelativeError(in, out, samples), 0.02);
}

TEST(QuantizeTest, DynamicModeWritesMatMulInteger) {
  const std::string in = WriteMlp(5), samples = WriteSamples({4, 40}, 1, 6);
  for (bool per_channel : {false, true}) {
    const std::string out = fs::path(in).parent_path().string() + "/d" + std::to_string(per_channel) + ".onnx";
    QuantizeOptions o;
    o.mode = QuantizeMode::kDynamic;
    o.bits = 8;
    o.per_channel = per_channel;
    auto report = QuantizeModelFile(in, out, o);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_FALSE(report->layers[0].output_error.measured);  // no samples: weight error only
    EXPECT_TRUE(report->layers[0].weight.measured);
    const auto ops = OpHistogram(out);
    EXPECT_EQ(ops.at("MatMulInteger"), 2);
    EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 2);
    EXPECT_LT(RelativeError(in, out, samples), 0.03) << "per_channel " << per_channel;
  }
}

TEST(QuantizeTest, StaticModeQuantizesConvActivationsAndWeights) {
  const std::string in = WriteCnn(7), samples = WriteSamples({1, 3, 8, 8}, 3, 8);
  for (CalibrationMethod method :
       {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy}) {
    const std::string out = fs::path(in).parent_path().string() + "/s" + CalibrationMethodName(method) + ".onnx";
    QuantizeOptions o;
    o.mode = QuantizeMode::kStatic;
    o.bits = 8;
    o.per_channel = true;
    o.calibration_dir = samples;
    o.calibrate = method;
    auto report = QuantizeModelFile(in, out, o);
    ASSERT_TRUE(report.ok()) << report.status().message();
    const auto ops = OpHistogram(out);
    EXPECT_EQ(ops.at("QuantizeLinear"), 1);
    EXPECT_EQ(ops.at("DequantizeLinear"), 2);
    EXPECT_EQ(ops.at("Conv"), 1);
    EXPECT_LT(RelativeError(in, out, samples), method == CalibrationMethod::kMinMax ? 0.05 : 0.25)
        << CalibrationMethodName(method);
  }
}

TEST(QuantizeTest, ExcludeByNameOrOpTypeLeavesNodesInFloat) {
  const std::string in = WriteMlp(9);
  const std::string out = fs::path(in).parent_path().string() + "/e.onnx";
  QuantizeOptions o;
  o.exclude = {"fc1"};
  auto report = QuantizeModelFile(in, out, o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->layers.size(), 1u);
  EXPECT_EQ(OpHistogram(out).at("MatMul"), 1);
  o.exclude = {"MatMul", "Gemm"};
  auto none = QuantizeModelFile(in, out, o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("nothing to quantize"), std::string::npos) << none.status().message();
}

TEST(QuantizeTest, ModelWithoutMatMulIsRefused) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {2});
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y", DType::kFloat32, {2});
  const std::string in = b.WriteTemp();
  auto r = QuantizeModelFile(in, in + ".q.onnx", QuantizeOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model.onnx"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("nothing to quantize"), std::string::npos);
}

TEST(QuantizeTest, UnreadableModelIsRefused) {
  const std::string dir = OnnxBuilder::MakeTempDir();
  std::ofstream(dir + "/bad.onnx") << "this is not protobuf";
  auto garbage = QuantizeModelFile(dir + "/bad.onnx", dir + "/out.onnx", QuantizeOptions{});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("bad.onnx"), std::string::npos);
  auto missing = QuantizeModelFile(dir + "/absent.onnx", dir + "/out.onnx", QuantizeOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(QuantizeTest, BadOptionsAreRefusedBeforeReading) {
  QuantizeOptions bits;
  bits.bits = 3;
  EXPECT_NE(ValidateQuantizeOptions(bits).message().find("--bits"), std::string::npos);
  QuantizeOptions block;
  block.block_size = 24;
  EXPECT_NE(ValidateQuantizeOptions(block).message().find("--block"), std::string::npos);
  QuantizeOptions uncalibrated;
  uncalibrated.mode = QuantizeMode::kStatic;
  uncalibrated.bits = 8;
  EXPECT_NE(ValidateQuantizeOptions(uncalibrated).message().find("--calibration"), std::string::npos);
  QuantizeOptions dynamic4;
  dynamic4.mode = QuantizeMode::kDynamic;
  EXPECT_FALSE(ValidateQuantizeOptions(dynamic4).ok());  // dynamic is 8-bit only
  EXPECT_FALSE(ParseQuantizeMode("float8").ok());
  EXPECT_FALSE(ParseCalibrationMethod("median").ok());
}

TEST(QuantizeTest, CalibrationFolderProblemsNameTheFolderOrInput) {
  const std::string in = WriteCnn(10);
  QuantizeOptions o;
  o.mode = QuantizeMode::kStatic;
  o.bits = 8;
  o.calibration_dir = "/nonexistent/calibration";
  auto missing = QuantizeModelFile(in, in + ".q.onnx", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/calibration"), std::string::npos);
  o.calibration_dir = OnnxBuilder::MakeTempDir();
  fs::create_directories(o.calibration_dir + "/s0");
  ASSERT_TRUE(WriteNpy(o.calibration_dir + "/s0/other.npy", testing::F32({1}, {1.0f})).ok());
  auto no_input = QuantizeModelFile(in, in + ".q.onnx", o);
  ASSERT_FALSE(no_input.ok());
  EXPECT_NE(no_input.status().message().find("'x'"), std::string::npos) << no_input.status().message();
}

TEST(QuantizeTest, WeightClaimingMoreDataThanItHoldsIsAnError) {
  // A hostile file: B says [4096, 4096] but carries 3 floats. It must fail naming B, without allocating.
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {1, 4096});
  b.Initializer("B", {1.0f, 2.0f, 3.0f}, {4096, 4096});
  b.Node("MatMul", {"x", "B"}, {"y"}, "mm");
  b.Output("y", DType::kFloat32, {1, 4096});
  const std::string in = b.WriteTemp();
  auto r = QuantizeModelFile(in, in + ".q.onnx", QuantizeOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'B'"), std::string::npos) << r.status().message();
}

TEST(QuantizeTest, ReportNamesEachLayerAndWhatStayedFloat) {
  const std::string in = WriteMlp(14);
  QuantizeOptions o;
  o.exclude = {"fc2"};
  auto r = QuantizeModelFile(in, in + ".q.onnx", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::ostringstream text;
  PrintQuantizeReport(*r, text);
  EXPECT_NE(text.str().find("fc1"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("MatMulNBits 4-bit block 32"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("left in float: fc2 (Gemm): excluded"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("output errors not measured"), std::string::npos) << text.str();
}

TEST(QuantizeTest, ExternalDataInIsWrittenInlineOut) {
  // The float model keeps W1 in an external file; the quantized one lands in another folder, whole.
  const std::string dir = OnnxBuilder::MakeTempDir();
  const std::string in = WriteMlp(11, dir);
  onnx::ModelProto m;
  ASSERT_TRUE(ReadModelProtoFile(in, m).ok());
  ASSERT_TRUE(WriteModelFile(m, dir, dir + "/ext.onnx", /*inline_limit_bytes=*/0).ok());
  ASSERT_TRUE(fs::exists(dir + "/ext.onnx.data"));
  const std::string out_dir = OnnxBuilder::MakeTempDir();
  auto report = QuantizeModelFile(dir + "/ext.onnx", out_dir + "/q.onnx", QuantizeOptions{});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_FALSE(fs::exists(out_dir + "/q.onnx.data"));
  auto session = Session::Load(out_dir + "/q.onnx");
  EXPECT_TRUE(session.ok()) << session.status().message();
}

TEST(QuantizeTest, LargeModelsGetOneExternalDataFile) {
  const std::string dir = OnnxBuilder::MakeTempDir();
  const std::string in = WriteMlp(12, dir);
  onnx::ModelProto m;
  ASSERT_TRUE(ReadModelProtoFile(in, m).ok());
  ASSERT_TRUE(WriteModelFile(m, dir, dir + "/big.onnx", /*inline_limit_bytes=*/1000).ok());
  onnx::ModelProto written;
  ASSERT_TRUE(ReadModelProtoFile(dir + "/big.onnx", written).ok());
  int external = 0;
  for (const auto& t : written.graph().initializer()) external += t.data_location() == onnx::TensorProto::EXTERNAL;
  EXPECT_EQ(external, 2);  // W1 and W2; b2 (64 bytes) stays inline
  const std::string samples = WriteSamples({4, 40}, 1, 13);
  EXPECT_LT(RelativeError(in, dir + "/big.onnx", samples), 1e-6);
}

}  // namespace
}  // namespace tessera::compress
