// The page-region registry: a file region's dropped pages read back from the file, a weight's own pages
// are handed back only when consumed, and memory in no region (the heap) is never touched.
#include "core/resident_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace tessera {
namespace {

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

TEST(ResidentPagesTest, DroppedFilePagesReadBackFromTheFile) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::vector<unsigned char> bytes(4 * kPage);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 7 + 1);
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  std::fflush(file);
  void* map = mmap(nullptr, bytes.size(), PROT_READ, MAP_PRIVATE, fileno(file), 0);
  ASSERT_NE(map, MAP_FAILED);
  RegisterPageRegion(map, bytes.size(), PageRegionKind::kFile);
  EXPECT_TRUE(IsInPageRegion(map, bytes.size(), PageRegionKind::kFile));
  EXPECT_FALSE(IsInPageRegion(map, bytes.size() + 1, PageRegionKind::kFile));
  DropResidentPages(map, bytes.size());
  EXPECT_GT(DiscardConsumedPages(map, bytes.size()), 0u);
  EXPECT_EQ(std::memcmp(map, bytes.data(), bytes.size()), 0);
  UnregisterPageRegion(map);
  EXPECT_FALSE(IsInPageRegion(map, bytes.size(), PageRegionKind::kFile));
  munmap(map, bytes.size());
  std::fclose(file);
}

TEST(ResidentPagesTest, OwnWeightPagesGoOnlyWhenConsumedAndOnlyWhole) {
  auto weight = AllocateWeightPages(DType::kUInt8, {static_cast<int64_t>(3 * kPage)});
  ASSERT_TRUE(weight.ok()) << weight.status().ToString();
  auto* p = weight.value().data<unsigned char>();
  std::memset(p, 5, 3 * kPage);
  EXPECT_TRUE(IsInPageRegion(p, 3 * kPage, PageRegionKind::kOwnWeight));
  DropResidentPages(p, 3 * kPage);  // not a file: kept
  EXPECT_EQ(p[0], 5);
  // Half a page into the range: only the one page wholly inside it goes.
  EXPECT_EQ(DiscardConsumedPages(p + kPage / 2, 2 * kPage), kPage);
  EXPECT_EQ(p[kPage / 2], 5);
  EXPECT_EQ(p[kPage], 0);
  EXPECT_EQ(p[2 * kPage], 5);
  const void* data = p;
  weight = Tensor();
  EXPECT_FALSE(IsInPageRegion(data, kPage, PageRegionKind::kOwnWeight));  // unregistered with its pages
}

TEST(ResidentPagesTest, MemoryInNoRegionIsLeftAlone) {
  std::vector<unsigned char> heap(8 * kPage, 9);
  EXPECT_EQ(DiscardConsumedPages(heap.data(), heap.size()), 0u);
  DropResidentPages(heap.data(), heap.size());
  for (unsigned char b : heap) ASSERT_EQ(b, 9);
}

}  // namespace
}  // namespace tessera
