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

TEST(KvCache, SharedBlocksReturnToThePoolWithTheirLastHolder) {
    KvCache kv({1, 4, 4, 16});
    ASSERT_TRUE(kv.reserve(0, 32));  // blocks a, b
    const std::vector<int32_t> prefix = kv.block_table(0);
    kv.retain(prefix[0]);  // a third holder, as the prefix cache would be
    kv.share(1, prefix);
    EXPECT_EQ(kv.block_table(1), prefix);
    EXPECT_EQ(kv.holders(prefix[0]), 3);
    ASSERT_TRUE(kv.reserve(1, 40));  // grows past the shared part with a block of its own
    EXPECT_EQ(kv.block_table(1).size(), 3u);
    EXPECT_EQ(kv.free_blocks(), 1);
    kv.release(0);
    EXPECT_EQ(kv.free_blocks(), 1);  // sequence 1 still holds both shared blocks
    kv.release(1);
    EXPECT_EQ(kv.free_blocks(), 3);  // b and 1's own block; a is still retained
    EXPECT_EQ(kv.holders(prefix[0]), 1);
    kv.drop(prefix[0]);
    EXPECT_EQ(kv.free_blocks(), 4);
    EXPECT_THROW(kv.drop(prefix[0]), std::logic_error);
    EXPECT_THROW(kv.retain(prefix[0]), std::logic_error);
}

TEST(KvCache, SharingIntoAnExistingTableIsRefused) {
    KvCache kv({1, 4, 4, 16});
    ASSERT_TRUE(kv.reserve(0, 16));
    ASSERT_TRUE(kv.reserve(1, 16));
    EXPECT_THROW(kv.share(1, kv.block_table(0)), std::logic_error);
}

TEST(KvCache, RejectsNonPositiveSizes) {
    EXPECT_THROW(KvCache({0, 8, 2, 4}), std::invalid_argument);
}

}  // namespace
}  // namespace pensieve::model
