// Sampling: greedy, seeded reproducibility, truncations and penalties.
#include <gtest/gtest.h>

#include <map>

#include "engine/sampler.hpp"

namespace pensieve::engine {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 2.9f, 0.0f};

TEST(Sampler, TemperatureZeroIsArgmax) {
    Sampler s({.temperature = 0.0f});
    EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDiffers) {
    auto draw = [](uint64_t seed) {
        Sampler s({.temperature = 1.5f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
        std::vector<int32_t> out;
        for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits, {}));
        return out;
    };
    EXPECT_EQ(draw(42), draw(42));
    EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, TopKOneIsGreedy) {
    Sampler s({.temperature = 5.0f, .top_k = 1, .seed = 3});
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, TopPAndMinPKeepOnlyTheLikelyTokens) {
    Sampler top_p({.temperature = 1.0f, .top_k = 0, .top_p = 0.5f, .min_p = 0.0f, .seed = 1});
    Sampler min_p({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.5f, .seed = 1});
    std::map<int32_t, int> seen_p, seen_m;
    for (int i = 0; i < 500; ++i) {
        ++seen_p[top_p.sample(kLogits, {})];
        ++seen_m[min_p.sample(kLogits, {})];
    }
    // p(1) ≈ 0.36, p(4) ≈ 0.30: the 0.5 nucleus is tokens 1 and 4.
    for (const auto& [id, n] : seen_p) EXPECT_TRUE(id == 1 || id == 4) << id;
    // min-p 0.5 keeps tokens within half of the best: 1, 4, 2.
    for (const auto& [id, n] : seen_m) EXPECT_TRUE(id == 1 || id == 4 || id == 2) << id;
}

TEST(Sampler, RepeatPenaltyMovesAwayFromRecentTokens) {
    Sampler s({.temperature = 0.0f, .repeat_penalty = 2.0f});
    const std::vector<int32_t> history = {1};
    EXPECT_EQ(s.sample(kLogits, history), 4);  // 3.0 / 2 = 1.5 < 2.9
    Sampler f({.temperature = 0.0f, .frequency_penalty = 0.3f});
    const std::vector<int32_t> twice = {1, 1};
    EXPECT_EQ(f.sample(kLogits, twice), 4);  // 3.0 - 0.6 = 2.4 < 2.9
    Sampler p({.temperature = 0.0f, .presence_penalty = 0.05f});
    EXPECT_EQ(p.sample(kLogits, twice), 1);  // 3.0 - 0.05 still wins
}

}  // namespace
}  // namespace pensieve::engine
