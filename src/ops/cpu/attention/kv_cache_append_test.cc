// com.tessera KvCacheAppend: the capacity layout of its output and the error when the cache is full.
#include <gtest/gtest.h>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

TEST(KvCacheAppendTest, NewRowsLandAfterThePastInBuffersOfTheCapacity) {
  // past: 2 heads x 1 row x 2 dims, contiguous (not donated), so the kernel first copies it into a
  // capacity-sized buffer; the output keeps the logical length.
  Tensor past = Tensor::FromVector<float>(DType::kFloat32, {1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor fresh = Tensor::FromVector<float>(DType::kFloat32, {1, 2, 1, 2}, {5, 6, 7, 8});
  OneNodeModel m("KvCacheAppend", 1, "com.tessera");
  m.Input("past", past).Input("new", fresh).Output("present", 4).Int("capacity", 4);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Tensor& present = (*out)[0];
  EXPECT_EQ(present.shape(), (Shape{1, 2, 2, 2}));
  ASSERT_GE(present.buffer()->bytes(), present.offset() + 2 * 4 * 2 * sizeof(float));
  const float* d = present.data<float>();
  // Head h's rows start at h * capacity * dim.
  EXPECT_EQ((std::vector<float>{d[0], d[1], d[2], d[3]}), (std::vector<float>{1, 2, 5, 6}));
  EXPECT_EQ((std::vector<float>{d[8], d[9], d[10], d[11]}), (std::vector<float>{3, 4, 7, 8}));
}

TEST(KvCacheAppendTest, AFullCacheIsTheContextLengthError) {
  Tensor past = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 3, 1}, {1, 2, 3});
  Tensor fresh = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 2, 1}, {4, 5});
  OneNodeModel m("KvCacheAppend", 1, "com.tessera");
  m.Input("past", past).Input("new", fresh).Output("present", 4).Int("capacity", 4);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("the KV cache is full: 3 cached + 2 new positions exceed the context length "
                                        "of 4 positions"),
            std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace tessera
