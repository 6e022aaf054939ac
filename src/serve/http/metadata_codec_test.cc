#include "serve/http/metadata_codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tessera::serve::http {
namespace {

using nlohmann::json;

TEST(MetadataCodecTest, ModelMetadataUsesProtocolDatatypes) {
  ModelMetadata m{"bert", {"1", "2"}, "onnx", {{"input_ids", DType::kInt64, {-1, 128}}}, {{"h", DType::kFloat16, {}}}};
  json j = json::parse(EncodeModelMetadata(m));
  EXPECT_EQ(j["versions"], json::parse(R"(["1","2"])"));
  EXPECT_EQ(j["inputs"][0]["datatype"], "INT64");
  EXPECT_EQ(j["inputs"][0]["shape"], json::parse("[-1,128]"));
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP16");
}

TEST(MetadataCodecTest, RepositoryIndexLeavesOutEmptyFields) {
  json j = json::parse(EncodeRepositoryIndex({{"a", "3", "READY", ""}, {"b", "", "UNAVAILABLE", "bad config"}}));
  EXPECT_EQ(j[0], json::parse(R"({"name":"a","version":"3","state":"READY"})"));
  EXPECT_EQ(j[1], json::parse(R"({"name":"b","state":"UNAVAILABLE","reason":"bad config"})"));
}

TEST(MetadataCodecTest, RepositoryIndexRequest) {
  EXPECT_FALSE(*DecodeRepositoryIndexRequest(""));
  EXPECT_FALSE(*DecodeRepositoryIndexRequest("{}"));
  EXPECT_TRUE(*DecodeRepositoryIndexRequest(R"({"ready": true})"));
  EXPECT_FALSE(DecodeRepositoryIndexRequest(R"({"ready": "yes"})").ok());
  EXPECT_FALSE(DecodeRepositoryIndexRequest("[").ok());
}

TEST(MetadataCodecTest, ErrorBodyEscapesTheMessage) {
  EXPECT_EQ(json::parse(EncodeError("input \"x\": bad\n"))["error"], "input \"x\": bad\n");
}

}  // namespace
}  // namespace tessera::serve::http
