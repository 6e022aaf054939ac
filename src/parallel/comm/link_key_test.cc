// Key files: the size and permission rules, and what HKDF derives from them.
#include "parallel/comm/link_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace tessera {
namespace {

std::string WriteKeyFile(const std::string& name, size_t bytes, mode_t mode) {
  const std::string path = (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()))).string();
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'k');
  ::chmod(path.c_str(), mode);
  return path;
}

TEST(LinkKeyTest, PrivateFileOf32BytesIsTheSecret) {
  const std::string path = WriteKeyFile("link_key_ok", 32, 0600);
  auto secret = ReadLinkKeyFile(path);
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(secret->bytes(), std::vector<uint8_t>(32, 'k'));
  std::remove(path.c_str());
}

TEST(LinkKeyTest, ShortFileIsRefused) {
  const std::string path = WriteKeyFile("link_key_short", 31, 0600);
  auto secret = ReadLinkKeyFile(path);
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("holds 31 bytes"), std::string::npos) << secret.status().message();
  std::remove(path.c_str());
}

TEST(LinkKeyTest, FileReadableByGroupOrOthersIsRefused) {
  for (mode_t mode : {0640, 0604, 0644}) {
    const std::string path = WriteKeyFile("link_key_open", 64, mode);
    auto secret = ReadLinkKeyFile(path);
    ASSERT_FALSE(secret.ok());
    EXPECT_NE(secret.status().message().find("chmod 600"), std::string::npos) << secret.status().message();
    std::remove(path.c_str());
  }
}

TEST(LinkKeyTest, MissingFileNamesThePath) {
  auto secret = ReadLinkKeyFile("/nonexistent/link.key");
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("/nonexistent/link.key"), std::string::npos);
}

TEST(LinkKeyTest, KeysDifferByDirectionSaltAndSecret) {
  const LinkSecret a(std::vector<uint8_t>(32, 1)), b(std::vector<uint8_t>(32, 2));
  std::array<uint8_t, kLinkSaltBytes> salt{}, other_salt{};
  other_salt[3] = 1;
  const auto base = DeriveLinkStreamKey(a, salt, 0, 1, 5).value().key;
  EXPECT_NE(base, DeriveLinkStreamKey(a, salt, 1, 0, 5).value().key);
  EXPECT_NE(base, DeriveLinkStreamKey(a, other_salt, 0, 1, 5).value().key);
  EXPECT_NE(base, DeriveLinkStreamKey(b, salt, 0, 1, 5).value().key);
  EXPECT_EQ(base, DeriveLinkStreamKey(a, salt, 0, 1, 5).value().key);
  EXPECT_NE(DeriveSplitSecret(a, salt, 0, 0).value().bytes(), DeriveSplitSecret(a, salt, 0, 1).value().bytes());
  EXPECT_NE(DeriveSplitSecret(a, salt, 0, 0).value().bytes(), DeriveSplitSecret(a, salt, 1, 0).value().bytes());
}

}  // namespace
}  // namespace tessera
