// The paged KV cache's block accounting.
#include <gtest/gtest.h>

#include "model/kv_cache.hpp"

namespace pensieve::model {
namespace {

TEST(KvCache, ReservesWholeBlocksAndReturnsThemOnRelease) {
    KvCache kv({2, 8, 4, 16});
    EXPECT_EQ(kv.free_blocks(), 4);
    EXPECT_TRUE(kv.reserve(7, 17));  // two blocks
    EXPECT_EQ(kv.capacity(7), 32);
    EXPECT_EQ(kv.free_blocks(), 2);
    EXPECT_TRUE(kv.reserve(7, 30));  // still two
    EXPECT_EQ(kv.free_blocks(), 2);
    EXPECT_TRUE(kv.reserve(9, 32));
    EXPECT_EQ(kv.free_blocks(), 0);
    EXPECT_FALSE(kv.reserve(11, 1));  // nothing left: no partial allocation
    EXPECT_FALSE(kv.has(11));
    kv.release(7);
    EXPECT_EQ(kv.free_blocks(), 2);
    EXPECT_FALSE(kv.has(7));
    EXPECT_TRUE(kv.reserve(11, 20));
}

TEST(KvCache, DistinctBlocksHaveDistinctSlots) {
    KvCache kv({2, 8, 2, 4});
    ASSERT_TRUE(kv.reserve(0, 4));
    ASSERT_TRUE(kv.reserve(1, 4));
    const int32_t b0 = kv.block_table(0)[0], b1 = kv.block_table(1)[0];
    EXPECT_NE(b0, b1);
    kv.key(1, b0, 3)[7] = 1;
    kv.key(1, b1, 3)[7] = 2;
    EXPECT_EQ(kv.key(1, b0, 3)[7], 1);
    EXPECT_NE(kv.key(0, b0, 3), kv.key(1, b0, 3));
    EXPECT_EQ(kv.bytes(), 2u * 2 * 2 * 4 * 8 * 2);
}

TEST(KvCache, RejectsNonPositiveSizes) {
    EXPECT_THROW(KvCache({0, 8, 2, 4}), std::invalid_argument);
}

}  // namespace
}  // namespace pensieve::model
