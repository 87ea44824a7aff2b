// The real models with their matmuls on the GPU (Model::offload_to_gpu, on
// the first usable Vulkan device: lavapipe without a GPU) against the CPU
// path: every other op on the CPU's scalar reference in both. The GPU's
// quantized products are the reference's to the bit, so the logits are too.
#include <gtest/gtest.h>

#include <random>
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

constexpr int64_t kPrompt = 12;
constexpr int64_t kDecode = 2;

// The logits of a prompt's last token and of kDecode tokens after it.
std::vector<std::vector<float>> run(const Model& model, const std::vector<int32_t>& tokens) {
    const HParams& hp = model.hparams();
    const auto n = static_cast<int64_t>(tokens.size());
    kernels::ThreadPool pool(2);
    KvCache kv({hp.n_layer, hp.n_head_kv, hp.head_dim, KvCache::blocks_for(n)});
    EXPECT_TRUE(kv.reserve(0, n));
    Forward fwd(model, pool, kPrompt, n);
    std::vector<BatchToken> batch;
    for (int64_t i = 0; i < kPrompt; ++i)
        batch.push_back({tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), 0,
                         i + 1 == kPrompt});
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

void expect_offload_matches_cpu(const char* name, int64_t layers) {
    SCOPED_TRACE(std::string(name) + ", layers " + std::to_string(layers));
    ASSERT_TRUE(kernels::set_active_isa(kernels::Isa::Ref));
    const int device = gpu::first_usable_device();
    ASSERT_GE(device, 0);
    const auto cpu = Model::load(testing::model_path(name));
    const auto offloaded = Model::load(testing::model_path(name));
    offloaded->offload_to_gpu(device, layers);
    ASSERT_NE(offloaded->gpu(), nullptr);
    EXPECT_GT(offloaded->gpu()->matrices(), 0u);

    std::mt19937 rng(5);
    std::vector<int32_t> tokens(kPrompt + kDecode);
    for (int32_t& t : tokens)
        t = static_cast<int32_t>(rng() % static_cast<uint32_t>(cpu->hparams().n_vocab));
    const auto want = run(*cpu, tokens), got = run(*offloaded, tokens);
    kernels::set_active_isa(kernels::best_isa());
    ASSERT_EQ(want.size(), got.size());
    for (size_t s = 0; s < want.size(); ++s) {
        ASSERT_EQ(want[s].size(), got[s].size());
        // Every matmul weight of these models is quantized, and the GPU's
        // quantized products are the reference's to the bit.
        EXPECT_EQ(want[s], got[s]) << "step " << s;
    }
}

TEST(GpuOffload, LogitsMatchTheCpuOnSmolLm2) {
    expect_offload_matches_cpu(testing::kSmolLm, -1);
    expect_offload_matches_cpu(testing::kSmolLm, 7);
}

TEST(GpuOffload, LogitsMatchTheCpuOnGemma3) { expect_offload_matches_cpu(testing::kGemma3, -1); }

}  // namespace
}  // namespace pensieve::model
