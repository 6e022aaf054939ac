// ParseByteSize: the forms --mem-per-rank accepts, and the ones it refuses.
#include "core/units.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(ParseByteSizeTest, PlainNumbersAreBytes) {
  EXPECT_EQ(*ParseByteSize("1500000000"), 1500000000.0);
  EXPECT_EQ(*ParseByteSize("4096B"), 4096.0);
}

TEST(ParseByteSizeTest, BinaryAndDecimalSuffixes) {
  EXPECT_EQ(*ParseByteSize("1.5G"), 1.5 * 1024 * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("512MiB"), 512.0 * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("300MB"), 300e6);
  EXPECT_EQ(*ParseByteSize("2k"), 2048.0);
}

TEST(ParseByteSizeTest, NonsenseZeroAndNegativeAreRefused) {
  for (const char* text : {"", "G", "abc", "12X", "0", "-5M", "1.5GG", "1e30", " 5M"}) {
    auto parsed = ParseByteSize(text);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) EXPECT_NE(parsed.status().message().find("not a byte count"), std::string::npos);
  }
}

}  // namespace
}  // namespace tessera
