// The real models with their layers on the GPU (Model::offload_to_gpu, on
// the first usable Vulkan device: lavapipe without a GPU) against the CPU's
// scalar reference, and the device's KV cache under what the engine does
// with the CPU's: blocks shared between sequences, batches of several
// sequences. (The NumPy reference tests hold both paths to the independent
// reference; tests/reference/model.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../gpu/gpu_test_util.hpp"
#include "../test_models.hpp"
#include "kernels/cpu.hpp"
#include "kernels/thread_pool.hpp"
#include "model/forward.hpp"
#include "model/gpu_offload.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

// An English sentence in each model's vocabulary, then two decode steps.
const std::vector<int32_t> kSmolLmTokens = {504, 3575, 282, 4649, 314, 7042, 30,
                                            378, 3575, 282, 4649, 314, 7042, 30};
const std::vector<int32_t> kGemmaTokens = {2,      818, 5279, 529, 7001, 563, 9079,
                                           236761, 669, 5279, 529, 7001, 563, 9079};
constexpr int64_t kPrompt = 12;

// The logits of the prompt's last token and of each token after it.
std::vector<std::vector<float>> run(const Model& model, const std::vector<int32_t>& tokens) {
    const HParams& hp = model.hparams();
    const auto n = static_cast<int64_t>(tokens.size());
    kernels::ThreadPool pool(2);
    KvCache kv({hp.n_layer, hp.n_head_kv, hp.head_dim, KvCache::blocks_for(n)});
    EXPECT_TRUE(kv.reserve(0, n));
    Forward fwd(model, pool, kPrompt, n);
    std::vector<BatchToken> batch;
    for (int64_t i = 0; i < kPrompt; ++i)
        batch.push_back(
            {tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), 0, i + 1 == kPrompt});
    std::vector<std::vector<float>> out;
    const auto first = fwd.run(batch, kv);
    out.emplace_back(first.begin(), first.end());
    for (int64_t i = kPrompt; i < n; ++i) {
        const BatchToken t{tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), 0, true};
        const auto logits = fwd.run({&t, 1}, kv);
        out.emplace_back(logits.begin(), logits.end());
    }
    return out;
}

std::unique_ptr<Model> offloaded(const char* name, int64_t layers) {
    const int device = gpu::first_usable_device();
    if (device < 0) return nullptr;
    auto model = Model::load(testing::model_path(name));
    model->offload_to_gpu(device, layers);
    return model;
}

// The GPU's layers sum their norms in F32, keep activations in F32 (the
// CPU rounds them to 8 bits for its products) and keys and values in F16,
// so they differ from the CPU's reference as the CPU's own fast kernels do: held to the real
// models' tolerance of the NumPy reference tests (6% of the logit range), and the same top token
// wherever the reference's top two are further apart than twice the error.
void expect_offload_matches_cpu(const char* name, const std::vector<int32_t>& tokens,
                                int64_t layers) {
    SCOPED_TRACE(std::string(name) + ", layers " + std::to_string(layers));
    ASSERT_TRUE(kernels::set_active_isa(kernels::Isa::Ref));
    const auto cpu = Model::load(testing::model_path(name));
    const auto gpu = offloaded(name, layers);
    ASSERT_NE(gpu, nullptr);
    ASSERT_TRUE(gpu->gpu()->runs_layers()) << gpu->gpu()->why_not();
    const auto want = run(*cpu, tokens), got = run(*gpu, tokens);
    kernels::set_active_isa(kernels::best_isa());
    ASSERT_EQ(want.size(), got.size());
    for (size_t s = 0; s < want.size(); ++s) {
        ASSERT_EQ(want[s].size(), got[s].size());
        const auto [lo, hi] = std::minmax_element(want[s].begin(), want[s].end());
        float err = 0.0f;
        for (size_t i = 0; i < want[s].size(); ++i)
            err = std::max(err, std::fabs(got[s][i] - want[s][i]));
        EXPECT_LT(err, 0.06f * (*hi - *lo)) << "step " << s;
        std::vector<float> top = want[s];
        std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<>());
        const auto best = [](const std::vector<float>& v) {
            return std::max_element(v.begin(), v.end()) - v.begin();
        };
        if (top[0] - top[1] > 2 * err) {
            EXPECT_EQ(best(got[s]), best(want[s])) << "step " << s;
        }
    }
}

TEST(GpuOffload, LayersOnTheGpuMatchTheCpuOnSmolLm2) {
    expect_offload_matches_cpu(testing::kSmolLm, kSmolLmTokens, -1);
    expect_offload_matches_cpu(testing::kSmolLm, kSmolLmTokens, 7);
}

TEST(GpuOffload, LayersOnTheGpuMatchTheCpuOnGemma3) {
    expect_offload_matches_cpu(testing::kGemma3, kGemmaTokens, -1);
}

// Sequence 1 starts with sequence 0's first block (as the prefix cache
// hands it out) and goes on with its own tokens, in a batch beside
// sequence 0's next token: each row's logits are those of a run of its
// sequence from scratch, alone, to the bit. Every batch here has at most 8
// rows, so every product takes the GEMV, where each row is computed apart
// from the others (on the GPU's first layers, and on the CPU's reference
// kernels for the rest). With every layer on the GPU, the final norm
// gathers the rows that want logits (the first and last of the batch
// below) and the logits come from the device.
void expect_batches_give_logits_of_sequences_alone(int64_t layers) {
    SCOPED_TRACE("layers " + std::to_string(layers));
    ASSERT_TRUE(kernels::set_active_isa(kernels::Isa::Ref));
    const auto model = offloaded(testing::kSmolLm, layers);
    ASSERT_NE(model, nullptr);
    const HParams& hp = model->hparams();
    kernels::ThreadPool pool(2);
    std::vector<int32_t> a_long = kSmolLmTokens;
    a_long.insert(a_long.end(), {13, 284, 3});  // 17 tokens: past the first block
    std::vector<int32_t> b(a_long.begin(), a_long.begin() + 16);
    b.insert(b.end(), {28, 4000, 512});  // shares a's first block, 16 positions

    // Alone: one sequence, its tokens in batches of 8.
    const auto alone = [&](const std::vector<int32_t>& tokens) {
        KvCache kv({hp.n_layer, hp.n_head_kv, hp.head_dim, 4});
        EXPECT_TRUE(kv.reserve(0, static_cast<int64_t>(tokens.size())));
        Forward fwd(*model, pool, 8, 64);
        std::span<const float> logits;
        for (size_t start = 0; start < tokens.size(); start += 8) {
            std::vector<BatchToken> batch;
            for (size_t i = start; i < std::min(tokens.size(), start + 8); ++i)
                batch.push_back({tokens[i], static_cast<int32_t>(i), 0, i + 1 == tokens.size()});
            logits = fwd.run(batch, kv);
        }
        return std::vector<float>(logits.begin(), logits.end());
    };
    const std::vector<float> a_want = alone(a_long), b_want = alone(b);

    KvCache kv({hp.n_layer, hp.n_head_kv, hp.head_dim, 8});
    Forward fwd(*model, pool, 8, 64);
    ASSERT_TRUE(kv.reserve(0, 16));
    std::vector<BatchToken> batch;
    for (int32_t start = 0; start < 16; start += 8) {
        batch.clear();
        for (int32_t i = start; i < start + 8; ++i)
            batch.push_back({a_long[static_cast<size_t>(i)], i, 0, false});
        fwd.run(batch, kv);
    }
    kv.share(1, std::vector<int32_t>{kv.block_table(0)[0]});
    ASSERT_TRUE(kv.reserve(0, 17));
    ASSERT_TRUE(kv.reserve(1, static_cast<int64_t>(b.size())));
    batch.clear();
    batch.push_back({a_long[16], 16, 0, true});
    for (int32_t i = 16; i < static_cast<int32_t>(b.size()); ++i)
        batch.push_back({b[static_cast<size_t>(i)], i, 1, i + 1 == static_cast<int32_t>(b.size())});
    const auto logits = fwd.run(batch, kv);
    kernels::set_active_isa(kernels::best_isa());
    ASSERT_EQ(logits.size(), 2 * static_cast<size_t>(hp.n_vocab));
    EXPECT_TRUE(std::equal(a_want.begin(), a_want.end(), logits.begin()));
    EXPECT_TRUE(std::equal(b_want.begin(), b_want.end(), logits.begin() + hp.n_vocab));
}

TEST(GpuLayers, SharedBlocksAndMixedBatchesGiveTheLogitsOfSequencesRunAlone) {
    expect_batches_give_logits_of_sequences_alone(3);
    expect_batches_give_logits_of_sequences_alone(-1);
}

TEST(GpuLayers, AForwardPassServesOneKvCache) {
    const auto model = offloaded(testing::kSmolLm, 2);
    ASSERT_NE(model, nullptr);
    const HParams& hp = model->hparams();
    kernels::ThreadPool pool(1);
    Forward fwd(*model, pool, 4, 16);
    KvCache first({hp.n_layer, hp.n_head_kv, hp.head_dim, 1}),
        second({hp.n_layer, hp.n_head_kv, hp.head_dim, 1});
    ASSERT_TRUE(first.reserve(0, 1));
    ASSERT_TRUE(second.reserve(0, 1));
    const BatchToken t{1, 0, 0, true};
    fwd.run({&t, 1}, first);
    EXPECT_THROW(fwd.run({&t, 1}, second), std::invalid_argument);
    EXPECT_NO_THROW(fwd.run({&t, 1}, first));
}

}  // namespace
}  // namespace pensieve::model
