// Split-KV decode in the real forward pass: a lone decoding sequence on two
// threads has fewer (token, KV head) pairs than twice the threads, so its
// attention ranges are cut into parts and merged. On SmolLM2 (3 KV heads of
// 64, groups of 3) and Gemma3 (1 KV head of 256, groups of 4, local layers
// whose window of 512 the context outgrows), each decode step is run split,
// then again unsplit over the same cache, and the logits compared.
//
// The attention itself agrees to float rounding (test_attention.cpp); what
// reaches the logits is mostly nothing at all (most steps are bit-identical:
// the difference vanishes when activations are quantized to 8 bits) and
// sometimes a flipped 8-bit rounding, which these models with random tokens
// amplify to a few percent of the logit range (6.1% on one Gemma3 step, the
// most seen), the same float noise that tests/reference/model allows real
// models (6% of the range). A merge that weighs its parts wrongly moves the
// logits by far more, and on every step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "../test_models.hpp"
#include "kernels/thread_pool.hpp"
#include "model/forward.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

constexpr int64_t kPrompt = 600;  // past Gemma3's window
constexpr int64_t kDecode = 12;
constexpr int64_t kChunk = 64;
constexpr float kTolerance = 0.1f;  // of the logit range

void expect_split_matches_unsplit(const char* name, int64_t split_from) {
    const auto model = Model::load(testing::model_path(name));
    const HParams& hp = model->hparams();
    const int64_t n = kPrompt + kDecode;
    std::mt19937 rng(3);
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    for (int32_t& t : tokens) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(hp.n_vocab));
    kernels::ThreadPool pool(2);
    KvCache kv({hp.n_layer, hp.n_head_kv, hp.head_dim, KvCache::blocks_for(n)});
    ASSERT_TRUE(kv.reserve(0, n));
    Forward fwd(*model, pool, kChunk, n);
    for (int64_t start = 0; start < kPrompt; start += kChunk) {
        std::vector<BatchToken> batch;
        for (int64_t i = start; i < std::min(kPrompt, start + kChunk); ++i) {
            batch.push_back({tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), 0, false});
        }
        fwd.run(batch, kv);
    }
    int64_t identical = 0;
    for (int64_t i = kPrompt; i < n; ++i) {
        const BatchToken t{tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), 0, true};
        fwd.set_split_kv_from(split_from);
        const auto s = fwd.run({&t, 1}, kv);
        const std::vector<float> split(s.begin(), s.end());
        // Running the same token again rewrites its cache slots alike.
        fwd.set_split_kv_from(0);
        const auto whole = fwd.run({&t, 1}, kv);
        ASSERT_EQ(split.size(), whole.size());
        const auto [lo, hi] = std::minmax_element(whole.begin(), whole.end());
        float worst = 0;
        for (size_t j = 0; j < whole.size(); ++j) {
            worst = std::max(worst, std::abs(split[j] - whole[j]));
        }
        EXPECT_LE(worst, kTolerance * (*hi - *lo)) << name << ", position " << i;
        identical += worst == 0.0f ? 1 : 0;
    }
    // Float noise mostly vanishes in the 8-bit activations; a wrong merge
    // would not leave a single step bit-identical.
    EXPECT_GT(identical, 0) << name;
}

TEST(SplitKv, DecodeMatchesTheUnsplitPassOnSmolLm2) {
    expect_split_matches_unsplit(testing::kSmolLm, Forward::kSplitKvFrom);
    expect_split_matches_unsplit(testing::kSmolLm, 2);
}

TEST(SplitKv, DecodeMatchesTheUnsplitPassOnGemma3) {
    expect_split_matches_unsplit(testing::kGemma3, Forward::kSplitKvFrom);
}

}  // namespace
}  // namespace pensieve::model
