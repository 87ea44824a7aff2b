// Sampling: greedy, seeded reproducibility, truncations and penalties, and
// the mask of constrained decoding (a disallowed token is never drawn).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

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

// One bit per allowed id, in `words` words.
std::vector<uint64_t> mask_of(std::initializer_list<size_t> ids, size_t words) {
    std::vector<uint64_t> m(words, 0);
    for (size_t id : ids) m[id >> 6] |= uint64_t{1} << (id & 63);
    return m;
}

bool allowed(const std::vector<uint64_t>& m, int32_t id) {
    const auto i = static_cast<size_t>(id);
    return i >> 6 < m.size() && ((m[i >> 6] >> (i & 63)) & 1);
}

TEST(SamplerMask, TemperatureZeroIsTheArgmaxAmongAllowedTokens) {
    Sampler s({.temperature = 0.0f});
    // Token 1 (3.0) and 4 (2.9) are the best but masked out: 2 (2.5) wins.
    EXPECT_EQ(s.sample(kLogits, {}, mask_of({0, 2, 3, 5}, 1)), 2);
    EXPECT_EQ(s.sample(kLogits, {}, mask_of({3, 5}, 1)), 5);
    EXPECT_EQ(s.sample(kLogits, {}, mask_of({3}, 1)), 3);
    // A penalty cannot bring a masked token back.
    Sampler p({.temperature = 0.0f, .repeat_penalty = 2.0f, .presence_penalty = 1.0f});
    const std::vector<int32_t> history = {1, 4, 4};
    EXPECT_EQ(p.sample(kLogits, history, mask_of({1, 3}, 1)), 1);
    EXPECT_EQ(p.sample(kLogits, history, mask_of({3, 4}, 1)), 4);  // 2.9/2 - 1 > -1
}

TEST(SamplerMask, DrawsAtTemperatureOneNeverLeaveTheMask) {
    // Every truncation setting, including none (where masked tokens would
    // survive to the draw if they kept any probability).
    const std::vector<SamplingParams> settings = {
        {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 5},
        {.temperature = 1.0f, .seed = 6},
        {.temperature = 2.0f, .top_k = 2, .top_p = 0.9f, .min_p = 0.0f, .seed = 7}};
    const std::vector<uint64_t> mask = mask_of({0, 3, 5}, 1);
    for (const SamplingParams& params : settings) {
        Sampler s(params);
        std::map<int32_t, int> seen;
        for (int i = 0; i < 3000; ++i) ++seen[s.sample(kLogits, {}, mask)];
        for (const auto& [id, n] : seen) EXPECT_TRUE(allowed(mask, id)) << id << " drawn " << n;
        EXPECT_GE(seen.size(), 2u);  // still a draw, not a fixed choice
    }
    // A larger vocabulary: disallowed tokens hold all the large logits.
    std::mt19937 rng(99);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    std::vector<float> logits(5000);
    std::vector<uint64_t> big((logits.size() + 63) / 64, 0);
    for (size_t i = 0; i < logits.size(); ++i) {
        const bool ok = i % 97 == 3;
        logits[i] = ok ? noise(rng) - 20.0f : noise(rng) + 20.0f;
        if (ok) big[i >> 6] |= uint64_t{1} << (i & 63);
    }
    for (const SamplingParams& params : settings) {
        Sampler s(params);
        std::set<int32_t> seen;
        for (int i = 0; i < 500; ++i) {
            const int32_t id = s.sample(logits, {}, big);
            ASSERT_TRUE(allowed(big, id)) << id;
            seen.insert(id);
        }
        EXPECT_GE(seen.size(), 2u);
    }
}

TEST(SamplerMask, IdsPastTheMaskAreNeverDrawn) {
    // 130 logits, a mask of one word (ids 0..63): ids 64.. are out, however likely.
    std::vector<float> logits(130, 0.0f);
    logits[100] = 50.0f;
    logits[64] = 40.0f;
    logits[10] = 1.0f;
    const std::vector<uint64_t> mask = mask_of({10, 20}, 1);
    Sampler greedy({.temperature = 0.0f});
    EXPECT_EQ(greedy.sample(logits, {}, mask), 10);
    Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 11});
    std::set<int32_t> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(s.sample(logits, {}, mask));
    EXPECT_EQ(seen, (std::set<int32_t>{10, 20}));
    // Bits for ids past the logits are ignored.
    const std::vector<uint64_t> wide = mask_of({5, 129, 130, 191}, 3);
    Sampler t({.temperature = 1.0f, .seed = 12});
    for (int i = 0; i < 200; ++i) {
        const int32_t id = t.sample(logits, {}, wide);
        ASSERT_TRUE(id == 5 || id == 129) << id;
    }
}

TEST(SamplerMask, AnEmptyMaskIsUnconstrainedAndDrawsAsBefore) {
    auto draw = [](int how) {
        Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 21});
        const std::vector<uint64_t> all(1, ~uint64_t{0});
        std::vector<int32_t> out;
        for (int i = 0; i < 200; ++i) {
            if (how == 0) out.push_back(s.sample(kLogits, {}));
            if (how == 1) out.push_back(s.sample(kLogits, {}, std::span<const uint64_t>()));
            if (how == 2) out.push_back(s.sample(kLogits, {}, all));
        }
        return out;
    };
    const auto plain = draw(0);
    EXPECT_EQ(draw(1), plain);
    EXPECT_EQ(draw(2), plain);  // a mask allowing everything changes nothing
    EXPECT_EQ(std::set<int32_t>(plain.begin(), plain.end()).size(), kLogits.size());
}

// Logits that do not order (NaN) or overflow (+inf), as a model whose
// numbers overflowed gives: a NaN token is never drawn, +inf is the best,
// and with nothing finite left the draw fails with a typed error instead of
// sorting NaNs (undefined behaviour) or drawing a token at random.
TEST(Sampler, NanLogitsAreNeverDrawnAndAllNanIsATypedError) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    std::vector<float> logits(5000);
    for (float& x : logits) x = rng() % 3 == 0 ? nan : normal(rng);
    for (float t : {0.0f, 0.8f}) {
        for (int32_t k : {0, 40}) {
            Sampler s({.temperature = t, .top_k = k, .top_p = 1.0f, .min_p = 0.0f, .seed = 5});
            for (int i = 0; i < 50; ++i) {
                const int32_t id = s.sample(logits, {});
                ASSERT_FALSE(std::isnan(logits[static_cast<size_t>(id)])) << t << " " << k;
            }
        }
    }
    std::vector<float> with_inf = {1.0f, inf, nan, 2.0f};
    Sampler hot({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 1});
    for (int i = 0; i < 20; ++i) EXPECT_EQ(hot.sample(with_inf, {}), 1);
    const std::vector<float> all_nan(100, nan);
    for (float t : {0.0f, 1.0f}) {
        Sampler s({.temperature = t});
        EXPECT_THROW(s.sample(all_nan, {}), SamplingError);
    }
    // Every allowed token NaN: the same, whatever the others hold.
    std::vector<float> mixed(128, 1.0f);
    mixed[70] = nan;
    const std::vector<uint64_t> only_70 = {0, uint64_t{1} << 6};
    Sampler s({.temperature = 1.0f});
    EXPECT_THROW(s.sample(mixed, {}, only_70), SamplingError);
}

}  // namespace
}  // namespace pensieve::engine
