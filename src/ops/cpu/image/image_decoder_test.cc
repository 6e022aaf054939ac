// ImageDecoder on bytes that are not a decodable image: corrupt JPEG and PNG data, a format the spec names
// but Tessera does not decode, unknown bytes, the wrong input type and an unknown pixel_format. Each must
// be a clear error naming the node, never a crash. (Decoding real images against PIL is the ort_ops
// family `image`, whose files the project's Python encodes.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

Tensor Bytes(const std::string& s) {
  std::vector<uint8_t> v(s.begin(), s.end());
  return Tensor::FromVector(DType::kUInt8, {static_cast<int64_t>(v.size())}, v);
}

Status DecodeStatus(const Tensor& encoded, const std::string& pixel_format = "RGB") {
  OneNodeModel m("ImageDecoder", 20);
  m.Input("encoded", encoded).Output("image", 3, DType::kUInt8).String("pixel_format", pixel_format);
  auto out = m.Run();
  return out.ok() ? Status::Ok() : out.status();
}

void ExpectErrorWith(const Status& s, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(s.ok());
  for (const std::string& f : fragments) EXPECT_NE(s.message().find(f), std::string::npos) << s.message();
}

TEST(ImageDecoderTest, CorruptJpegIsAnErrorNamingTheNode) {
  ExpectErrorWith(DecodeStatus(Bytes(std::string("\xFF\xD8\xFF\xE0", 4) + std::string(40, '\x13'))),
                  {"ImageDecoder", "node", "corrupt JPEG data"});
}

TEST(ImageDecoderTest, TruncatedJpegHeaderIsAnError) {
  ExpectErrorWith(DecodeStatus(Bytes(std::string("\xFF\xD8\xFF", 3))), {"corrupt JPEG data"});
}

TEST(ImageDecoderTest, CorruptPngIsAnError) {
  const std::string signature("\x89PNG\r\n\x1A\n", 8);
  ExpectErrorWith(DecodeStatus(Bytes(signature + std::string(30, '\x07'))), {"ImageDecoder", "corrupt PNG data"});
  ExpectErrorWith(DecodeStatus(Bytes(signature)), {"corrupt PNG data"});
}

TEST(ImageDecoderTest, FormatsNotDecodedAreNamed) {
  ExpectErrorWith(DecodeStatus(Bytes("BM" + std::string(60, '\0'))), {"BMP", "only JPEG and PNG"});
  ExpectErrorWith(DecodeStatus(Bytes(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16))), {"WebP"});
}

TEST(ImageDecoderTest, UnknownBytesAndEmptyStreamAreRefused) {
  ExpectErrorWith(DecodeStatus(Bytes("hello, world")), {"not an image file"});
  ExpectErrorWith(DecodeStatus(Tensor::FromVector(DType::kUInt8, {0}, std::vector<uint8_t>{})),
                  {"not an image file"});
}

TEST(ImageDecoderTest, WrongInputTypeAndPixelFormatAreRefused) {
  ExpectErrorWith(DecodeStatus(testing::F32({2}, {1.0f, 2.0f})), {"encoded_stream", "1-D uint8"});
  ExpectErrorWith(DecodeStatus(Bytes("x"), "CMYK"), {"pixel_format"});
}

}  // namespace
}  // namespace tessera
