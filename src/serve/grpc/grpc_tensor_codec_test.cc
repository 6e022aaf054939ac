#include "serve/grpc/grpc_tensor_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <random>
#include <type_traits>

#include "serve/kserve_datatype.h"

namespace tessera::serve {
namespace {

template <typename T>
void Fill(google::protobuf::RepeatedField<T>* field, std::initializer_list<std::type_identity_t<T>> values) {
  field->Add(values.begin(), values.end());
}

using inference::ModelInferRequest;
using inference::ModelInferResponse;

ModelInferRequest::InferInputTensor* AddInput(ModelInferRequest& r, const std::string& name,
                                              const std::string& datatype, const Shape& shape) {
  auto* in = r.add_inputs();
  in->set_name(name);
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

ModelInferRequest Request() {
  ModelInferRequest r;
  r.set_model_name("m");
  return r;
}

std::string LengthPrefixed(const std::vector<std::string>& elements) {
  std::string raw;
  for (const auto& e : elements) {
    uint32_t n = static_cast<uint32_t>(e.size());
    raw.append(reinterpret_cast<const char*>(&n), 4);
    raw.append(e);
  }
  return raw;
}

void ExpectInvalid(const ModelInferRequest& r, const std::string& fragment) {
  auto decoded = DecodeInferRequest(r);
  ASSERT_FALSE(decoded.ok()) << "expected an error mentioning '" << fragment << "'";
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find(fragment), std::string::npos) << decoded.status().message();
}

// Raw bytes of every fixed-size datatype survive decode → InferResponse → encode unchanged.
TEST(GrpcTensorCodecTest, RawContentsRoundTripEveryFixedSizeDatatype) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (const char* datatype :
       {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BF16"}) {
    SCOPED_TRACE(datatype);
    Shape shape;
    const int rank = static_cast<int>(rng() % 4);
    for (int i = 0; i < rank; ++i) shape.push_back(static_cast<int64_t>(rng() % 5));
    ModelInferRequest r = Request();
    AddInput(r, "x", datatype, shape);
    auto probe = DTypeFromKServe(datatype);
    ASSERT_TRUE(probe.ok());
    std::string raw(static_cast<size_t>(ShapeElementCount(shape)) * DTypeSize(*probe), '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    *r.add_raw_input_contents() = raw;

    auto decoded = DecodeInferRequest(r);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(decoded->inputs.size(), 1u);
    EXPECT_EQ(decoded->inputs[0].tensor.shape(), shape);

    InferResponse result{"m", "1", "id-7", {{"y", decoded->inputs[0].tensor}}};
    ModelInferResponse response;
    ASSERT_TRUE(EncodeInferResponse(result, &response).ok());
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    EXPECT_EQ(response.raw_output_contents(0), raw);
    EXPECT_EQ(response.outputs(0).datatype(), datatype);
    EXPECT_EQ(Shape(response.outputs(0).shape().begin(), response.outputs(0).shape().end()), shape);
    EXPECT_EQ(response.id(), "id-7");
  }
}

TEST(GrpcTensorCodecTest, BytesRawRoundTripKeepsEmptyAndBinaryElements) {
  const std::vector<std::string> elements = {"", std::string("a\0b", 3), "hello", std::string(300, '\xff')};
  ModelInferRequest r = Request();
  AddInput(r, "s", "BYTES", {2, 2});
  *r.add_raw_input_contents() = LengthPrefixed(elements);
  auto decoded = DecodeInferRequest(r);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const std::string* s = decoded->inputs[0].tensor.data<std::string>();
  for (size_t i = 0; i < elements.size(); ++i) EXPECT_EQ(s[i], elements[i]);

  ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse({"m", "1", "", {{"s", decoded->inputs[0].tensor}}}, &response).ok());
  EXPECT_EQ(response.raw_output_contents(0), LengthPrefixed(elements));
}

TEST(GrpcTensorCodecTest, TypedContentsOfEachFieldDecode) {
  ModelInferRequest r = Request();
  Fill(AddInput(r, "f", "FP32", {3})->mutable_contents()->mutable_fp32_contents(), {1.5f, -2.f, 3.25f});
  Fill(AddInput(r, "i8", "INT8", {2})->mutable_contents()->mutable_int_contents(), {-128, 127});
  AddInput(r, "u16", "UINT16", {1})->mutable_contents()->mutable_uint_contents()->Add(65535);
  Fill(AddInput(r, "l", "INT64", {2})->mutable_contents()->mutable_int64_contents(), {int64_t{1} << 40, -5});
  Fill(AddInput(r, "b", "BOOL", {2})->mutable_contents()->mutable_bool_contents(), {true, false});
  AddInput(r, "d", "FP64", {1})->mutable_contents()->mutable_fp64_contents()->Add(0.1);
  *AddInput(r, "s", "BYTES", {1})->mutable_contents()->add_bytes_contents() = "text";
  auto decoded = DecodeInferRequest(r);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const auto& in = decoded->inputs;
  EXPECT_EQ(in[0].tensor.data<float>()[2], 3.25f);
  EXPECT_EQ(in[1].tensor.data<int8_t>()[0], -128);
  EXPECT_EQ(in[2].tensor.data<uint16_t>()[0], 65535);
  EXPECT_EQ(in[3].tensor.data<int64_t>()[0], int64_t{1} << 40);
  EXPECT_TRUE(in[4].tensor.data<bool>()[0]);
  EXPECT_FALSE(in[4].tensor.data<bool>()[1]);
  EXPECT_EQ(in[5].tensor.data<double>()[0], 0.1);
  EXPECT_EQ(in[6].tensor.data<std::string>()[0], "text");
}

TEST(GrpcTensorCodecTest, IdVersionAndRequestedOutputsPassThrough) {
  ModelInferRequest r = Request();
  r.set_model_version("3");
  r.set_id("req-1");
  r.add_outputs()->set_name("b");
  r.add_outputs()->set_name("a");
  auto decoded = DecodeInferRequest(r);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->model_version, "3");
  EXPECT_EQ(decoded->id, "req-1");
  EXPECT_EQ(decoded->requested_outputs, (std::vector<std::string>{"b", "a"}));
}

TEST(GrpcTensorCodecTest, NonZeroBoolBytesReadAsTrue) {
  ModelInferRequest r = Request();
  AddInput(r, "b", "BOOL", {3});
  *r.add_raw_input_contents() = std::string("\x00\x02\x01", 3);
  auto decoded = DecodeInferRequest(r);
  ASSERT_TRUE(decoded.ok());
  ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse({"m", "1", "", {{"b", decoded->inputs[0].tensor}}}, &response).ok());
  EXPECT_EQ(response.raw_output_contents(0), std::string("\x00\x01\x01", 3));
}

TEST(GrpcTensorCodecTest, RawOfTheWrongLengthNamesTheInput) {
  ModelInferRequest r = Request();
  AddInput(r, "pixels", "FP32", {2, 3});
  *r.add_raw_input_contents() = std::string(23, '\0');
  ExpectInvalid(r, "input 'pixels' (FP32 [2,3]): raw_input_contents holds 23 bytes");
}

TEST(GrpcTensorCodecTest, HugeShapeWithLittleDataIsRefusedBeforeAllocating) {
  ModelInferRequest r = Request();
  AddInput(r, "x", "FP32", {int64_t{1} << 40, int64_t{1} << 20});
  *r.add_raw_input_contents() = std::string(4, '\0');
  ExpectInvalid(r, "raw_input_contents holds 4 bytes");
  ModelInferRequest typed = Request();
  AddInput(typed, "x", "BYTES", {int64_t{1} << 50});
  ExpectInvalid(typed, "holds 0 elements");
}

TEST(GrpcTensorCodecTest, ElementCountOverflowIsAnError) {
  ModelInferRequest r = Request();
  AddInput(r, "x", "FP32", {int64_t{1} << 40, int64_t{1} << 40});
  ExpectInvalid(r, "element count overflows");
}

TEST(GrpcTensorCodecTest, RawEntriesMustMatchInputs) {
  ModelInferRequest r = Request();
  AddInput(r, "a", "FP32", {1});
  AddInput(r, "b", "FP32", {1});
  *r.add_raw_input_contents() = std::string(4, '\0');
  ExpectInvalid(r, "raw_input_contents has 1 entries for 2 inputs");
}

TEST(GrpcTensorCodecTest, RawAndTypedContentsAreNotMixed) {
  ModelInferRequest r = Request();
  AddInput(r, "a", "FP32", {1})->mutable_contents()->add_fp32_contents(1.f);
  *r.add_raw_input_contents() = std::string(4, '\0');
  ExpectInvalid(r, "use one or the other");
}

TEST(GrpcTensorCodecTest, TypedContentsInTheWrongFieldAreRefused) {
  ModelInferRequest r = Request();
  AddInput(r, "a", "FP32", {1})->mutable_contents()->add_fp64_contents(1.0);
  ExpectInvalid(r, "go in contents.fp32_contents");
}

TEST(GrpcTensorCodecTest, TypedContentsOfTheWrongCountAreRefused) {
  ModelInferRequest r = Request();
  Fill(AddInput(r, "a", "INT64", {2, 2})->mutable_contents()->mutable_int64_contents(), {1, 2, 3});
  ExpectInvalid(r, "contents.int64_contents holds 3 elements, the shape needs 4");
}

TEST(GrpcTensorCodecTest, NarrowIntegerOutOfRangeIsRefused) {
  ModelInferRequest r = Request();
  AddInput(r, "a", "INT8", {1})->mutable_contents()->add_int_contents(300);
  ExpectInvalid(r, "300 is out of range for INT8");
  ModelInferRequest u = Request();
  AddInput(u, "a", "UINT8", {1})->mutable_contents()->add_uint_contents(256);
  ExpectInvalid(u, "256 is out of range for UINT8");
}

TEST(GrpcTensorCodecTest, HalfPrecisionHasNoTypedField) {
  ModelInferRequest r = Request();
  AddInput(r, "h", "FP16", {1})->mutable_contents()->add_fp32_contents(1.f);
  ExpectInvalid(r, "send it as raw_input_contents");
}

TEST(GrpcTensorCodecTest, BadDatatypeShapeAndNamesAreRefused) {
  ModelInferRequest r = Request();
  AddInput(r, "a", "FLOAT", {1});
  ExpectInvalid(r, "unknown tensor datatype 'FLOAT'");
  ModelInferRequest neg = Request();
  AddInput(neg, "a", "FP32", {-1});
  ExpectInvalid(neg, "must not be negative");
  ModelInferRequest dup = Request();
  AddInput(dup, "a", "FP32", {0});
  AddInput(dup, "a", "FP32", {0});
  ExpectInvalid(dup, "appears more than once");
  ModelInferRequest nameless;
  ExpectInvalid(nameless, "model_name is empty");
}

TEST(GrpcTensorCodecTest, MalformedBytesFramingIsRefused) {
  ModelInferRequest truncated = Request();
  AddInput(truncated, "s", "BYTES", {1});
  *truncated.add_raw_input_contents() = std::string("\x05\x00", 2);
  ExpectInvalid(truncated, "ends inside the length prefix of element 0");

  ModelInferRequest past_end = Request();
  AddInput(past_end, "s", "BYTES", {1});
  *past_end.add_raw_input_contents() = LengthPrefixed({"abc"}).substr(0, 6);
  ExpectInvalid(past_end, "claims 3 bytes but only 2 remain");

  ModelInferRequest too_many = Request();
  AddInput(too_many, "s", "BYTES", {1});
  *too_many.add_raw_input_contents() = LengthPrefixed({"a", "b"});
  ExpectInvalid(too_many, "holds 2 BYTES elements, the shape needs 1");
}

// Random byte flips, truncations and insertions of a valid message: whatever still parses decodes to a
// request or an error, never a crash or an allocation sized by a lie.
TEST(GrpcTensorCodecTest, MutatedMessagesDecodeOrFailCleanly) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  ModelInferRequest valid = Request();
  AddInput(valid, "s", "BYTES", {2});
  AddInput(valid, "x", "FP32", {2, 2});
  AddInput(valid, "b", "BOOL", {3});
  *valid.add_raw_input_contents() = LengthPrefixed({"ab", "c"});
  *valid.add_raw_input_contents() = std::string(16, '\x01');
  *valid.add_raw_input_contents() = std::string(3, '\x01');
  const std::string bytes = valid.SerializeAsString();
  int decoded_ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = bytes;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !mutated.empty(); ++e) {
      const size_t at = rng() % mutated.size();
      switch (rng() % 3) {
        case 0:
          mutated[at] = static_cast<char>(rng());
          break;
        case 1:
          mutated.resize(at);
          break;
        default:
          mutated.insert(at, 1, static_cast<char>(rng()));
          break;
      }
    }
    ModelInferRequest parsed;
    if (!parsed.ParseFromString(mutated)) continue;
    auto decoded = DecodeInferRequest(parsed);
    if (decoded.ok())
      ++decoded_ok;
    else
      EXPECT_NE(decoded.status().code(), StatusCode::kInternal) << decoded.status().ToString();
  }
  SUCCEED() << decoded_ok << " mutated messages still decoded";
}

}  // namespace
}  // namespace tessera::serve
