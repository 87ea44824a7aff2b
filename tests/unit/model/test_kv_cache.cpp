// The paged KV cache's block accounting, tile addressing and types.
#include <gtest/gtest.h>

#include <vector>

#include "model/kv_cache.hpp"

namespace pensieve::model {
namespace {

TEST(KvCache, ReservesWholeBlocksAndReturnsThemOnRelease) {
    KvCache kv({2, 2, 64, 4});
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
    KvCache kv({2, 3, 64, 2});
    ASSERT_TRUE(kv.reserve(0, 4));
    ASSERT_TRUE(kv.reserve(1, 4));
    const int32_t b0 = kv.block_table(0)[0], b1 = kv.block_table(1)[0];
    EXPECT_NE(b0, b1);
    // Every (layer, block, head) tile lies apart from the others, keys from values.
    const size_t tile = 16 * 64 * 2;
    std::vector<uint8_t*> starts;
    for (int64_t layer = 0; layer < 2; ++layer) {
        for (int32_t b : {b0, b1}) {
            for (int64_t h = 0; h < 3; ++h) {
                starts.push_back(kv.key_tile(layer, b, h));
                starts.push_back(kv.value_tile(layer, b, h));
            }
        }
    }
    for (size_t i = 0; i < starts.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            const auto d = starts[i] > starts[j] ? starts[i] - starts[j] : starts[j] - starts[i];
            EXPECT_GE(static_cast<size_t>(d), tile) << i << " " << j;
        }
    }
    EXPECT_EQ(kv.bytes(), 2u * 2 * 2 * 3 * tile);
}

TEST(KvCache, SharedBlocksReturnToThePoolWithTheirLastHolder) {
    KvCache kv({1, 1, 64, 4});
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
    KvCache kv({1, 1, 64, 4});
    ASSERT_TRUE(kv.reserve(0, 16));
    ASSERT_TRUE(kv.reserve(1, 16));
    EXPECT_THROW(kv.share(1, kv.block_table(0)), std::logic_error);
}

TEST(KvCache, RejectsNonPositiveSizes) {
    EXPECT_THROW(KvCache({0, 2, 64, 4}), std::invalid_argument);
    EXPECT_THROW(KvCache({1, 0, 64, 4}), std::invalid_argument);
    EXPECT_THROW(KvCache({1, 2, 0, 4}), std::invalid_argument);
    EXPECT_THROW(KvCache({1, 2, 64, 0}), std::invalid_argument);
}

TEST(KvCache, TypesAndTheirSizes) {
    using gguf::TensorType;
    EXPECT_EQ(KvCache({1, 1, 64, 1, TensorType::BF16}).bytes(), 2u * 16 * 64 * 2);
    // Q8_0: 32 quants and one F16 scale per 32 dimensions.
    EXPECT_EQ(KvCache({1, 1, 64, 1, TensorType::Q8_0}).bytes(), 2u * 16 * 2 * 34);
    EXPECT_THROW(KvCache({1, 1, 80, 1, TensorType::Q8_0}), std::invalid_argument);
    EXPECT_THROW(KvCache({1, 1, 64, 1, TensorType::F32}), std::invalid_argument);
    EXPECT_THROW(KvCache({1, 1, 64, 1, TensorType::Q4_0}), std::invalid_argument);
}

}  // namespace
}  // namespace pensieve::model
