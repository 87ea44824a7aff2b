// The prefix cache's index over KV blocks: exact prefix matches only,
// references held and dropped correctly, eviction of idle blocks only and
// from the ends of prefixes first.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "engine/prefix_cache.hpp"

namespace pensieve::engine {
namespace {

constexpr int kBt = static_cast<int>(model::KvCache::kBlockTokens);

std::vector<int32_t> iota_tokens(int n, int first = 100) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    std::iota(t.begin(), t.end(), first);
    return t;
}

// Runs a "sequence" over `tokens`: reserves its blocks, marks all of them
// computed, indexes them, releases the sequence. Returns its block table.
std::vector<int32_t> finish_sequence(model::KvCache& kv, PrefixCache& cache, int32_t seq,
                                     const std::vector<int32_t>& tokens) {
    EXPECT_TRUE(kv.reserve(seq, static_cast<int64_t>(tokens.size())));
    const std::vector<int32_t> table = kv.block_table(seq);
    cache.insert(tokens, static_cast<int64_t>(tokens.size()), table);
    kv.release(seq);
    return table;
}

TEST(PrefixCache, FindsTheFullBlocksOfAnEarlierSequence) {
    model::KvCache kv({1, 1, 32, 16});
    PrefixCache cache(kv);
    const auto tokens = iota_tokens(2 * kBt + 2);  // two full blocks and a partial one
    const auto table = finish_sequence(kv, cache, 0, tokens);
    EXPECT_EQ(cache.blocks(), 2);
    EXPECT_EQ(cache.idle_blocks(), 2);
    EXPECT_EQ(kv.free_blocks(), 14);  // the partial block went back to the pool

    auto longer = tokens;
    longer.push_back(7);
    const auto found = cache.lookup(longer, 10);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0], table[0]);
    EXPECT_EQ(found[1], table[1]);
    EXPECT_EQ(cache.lookup(longer, 1).size(), 1u);  // capped by the caller
}

TEST(PrefixCache, OnlyValidPositionsAreIndexed) {
    model::KvCache kv({1, 1, 32, 16});
    PrefixCache cache(kv);
    const auto tokens = iota_tokens(3 * kBt);
    ASSERT_TRUE(kv.reserve(0, 3 * kBt));
    cache.insert(tokens, kBt + 3, kv.block_table(0));  // only one block and 3 positions computed
    EXPECT_EQ(cache.blocks(), 1);
    kv.release(0);
    EXPECT_EQ(cache.lookup(tokens, 10).size(), 1u);
}

TEST(PrefixCache, ADifferentTokenEndsTheMatch) {
    model::KvCache kv({1, 1, 32, 16});
    PrefixCache cache(kv);
    const auto tokens = iota_tokens(3 * kBt);
    finish_sequence(kv, cache, 0, tokens);
    auto other = tokens;
    other[kBt + 1] = 9999;  // inside the second block
    EXPECT_EQ(cache.lookup(other, 10).size(), 1u);
    other[0] = 9999;  // the first block differs: nothing matches after it either
    EXPECT_EQ(cache.lookup(other, 10).size(), 0u);
    // The same block contents after a different start do not match.
    std::vector<int32_t> shifted(tokens.begin() + kBt, tokens.end());
    EXPECT_EQ(cache.lookup(shifted, 10).size(), 0u);
}

TEST(PrefixCache, EvictsOnlyBlocksNoSequenceHolds) {
    model::KvCache kv({1, 1, 32, 4});
    PrefixCache cache(kv);
    const auto tokens = iota_tokens(2 * kBt);
    finish_sequence(kv, cache, 0, tokens);
    EXPECT_EQ(kv.free_blocks(), 2);
    // A running sequence shares the first block.
    const auto found = cache.lookup(tokens, 1);
    kv.share(1, found);
    EXPECT_EQ(cache.idle_blocks(), 1);
    EXPECT_EQ(cache.evict(5), 1);  // only the second block could go
    EXPECT_EQ(kv.free_blocks(), 3);
    EXPECT_EQ(cache.blocks(), 1);
    kv.release(1);
    EXPECT_EQ(cache.evict(5), 1);
    EXPECT_EQ(kv.free_blocks(), 4);
    EXPECT_EQ(cache.blocks(), 0);
}

TEST(PrefixCache, EvictionTrimsPrefixesFromTheirEnds) {
    model::KvCache kv({1, 1, 32, 8});
    PrefixCache cache(kv);
    const auto tokens = iota_tokens(3 * kBt);  // three blocks
    finish_sequence(kv, cache, 0, tokens);
    EXPECT_EQ(cache.evict(1), 1);
    EXPECT_EQ(cache.lookup(tokens, 10).size(), 2u);  // the root and its child remain
    EXPECT_EQ(cache.evict(1), 1);
    EXPECT_EQ(cache.lookup(tokens, 10).size(), 1u);
}

TEST(PrefixCache, ReinsertingAKnownPrefixHoldsNoExtraBlocks) {
    model::KvCache kv({1, 1, 32, 16});
    PrefixCache cache(kv);
    const auto tokens = iota_tokens(2 * kBt);
    finish_sequence(kv, cache, 0, tokens);
    finish_sequence(kv, cache, 1, tokens);  // computed again in blocks of its own
    EXPECT_EQ(cache.blocks(), 2);
    EXPECT_EQ(kv.free_blocks(), 14);
}

}  // namespace
}  // namespace pensieve::engine
