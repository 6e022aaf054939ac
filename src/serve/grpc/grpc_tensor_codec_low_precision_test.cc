// Tessera's low-precision datatypes over gRPC raw contents (serve/low_precision_wire.h): float8 bytes
// round trip unchanged, 4-bit tensors travel packed two per byte, and wrong byte counts are refused.
#include <gtest/gtest.h>

#include <random>

#include "serve/grpc/grpc_tensor_codec.h"

namespace tessera::serve {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;

ModelInferRequest RawRequest(const std::string& datatype, const Shape& shape, const std::string& raw) {
  ModelInferRequest r;
  r.set_model_name("m");
  auto* in = r.add_inputs();
  in->set_name("x");
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  *r.add_raw_input_contents() = raw;
  return r;
}

std::string RoundTrip(const ModelInferRequest& r) {
  auto decoded = DecodeInferRequest(r);
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  if (!decoded.ok()) return "";
  InferResponse result{"m", "1", "", {{"y", decoded->inputs[0].tensor}}};
  ModelInferResponse response;
  EXPECT_TRUE(EncodeInferResponse(result, &response).ok());
  EXPECT_EQ(response.outputs(0).datatype(), r.inputs(0).datatype());
  return response.raw_output_contents(0);
}

TEST(GrpcTensorCodecLowPrecisionTest, Float8RawBytesRoundTripUnchanged) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (const char* datatype : {"FP8E4M3FN", "FP8E4M3FNUZ", "FP8E5M2", "FP8E5M2FNUZ"}) {
    std::string raw(7, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    EXPECT_EQ(RoundTrip(RawRequest(datatype, {7}, raw)), raw) << datatype;
  }
}

TEST(GrpcTensorCodecLowPrecisionTest, FourBitTensorsTravelPackedWithAnOddCount) {
  for (const char* datatype : {"INT4", "UINT4", "FP4E2M1"}) {
    const std::string raw("\x21\x43\x05", 3);  // five elements: 1, 2, 3, 4, 5
    EXPECT_EQ(RoundTrip(RawRequest(datatype, {5}, raw)), raw) << datatype;
  }
}

TEST(GrpcTensorCodecLowPrecisionTest, FourBitByteCountMustBeHalfTheElementsRoundedUp) {
  auto decoded = DecodeInferRequest(RawRequest("INT4", {5}, std::string(5, '\0')));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("3 bytes"), std::string::npos) << decoded.status().message();
}

}  // namespace
}  // namespace tessera::serve
