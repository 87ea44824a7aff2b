// Hyper-parameter validation: bad metadata is a ModelError naming the key.
#include <gtest/gtest.h>

#include <cmath>

#include "gguf/writer.hpp"
#include "model/hparams.hpp"

namespace pensieve::model {
namespace {

gguf::GgufWriter llama_meta() {
    gguf::GgufWriter w;
    w.set("general.architecture", std::string("llama"));
    w.set("llama.embedding_length", uint32_t{64});
    w.set("llama.block_count", uint32_t{2});
    w.set("llama.feed_forward_length", uint32_t{128});
    w.set("llama.attention.head_count", uint32_t{4});
    w.set("llama.attention.head_count_kv", uint32_t{2});
    return w;
}

HParams read(const gguf::GgufWriter& w) {
    const auto bytes = w.to_bytes();
    return read_hparams(gguf::GgufFile::parse(bytes));
}

void expect_error(const gguf::GgufWriter& w, const std::string& needle) {
    try {
        read(w);
        ADD_FAILURE() << "expected an error containing " << needle;
    } catch (const ModelError& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(HParams, LlamaDefaultsAreDerivedFromTheRequiredKeys) {
    const HParams h = read(llama_meta());
    EXPECT_EQ(h.head_dim, 16);
    EXPECT_EQ(h.kv_dim(), 32);
    EXPECT_EQ(h.rope_dims, 16);
    EXPECT_FLOAT_EQ(h.attn_scale, 0.25f);
    EXPECT_EQ(h.config.rope_style, kernels::RopeStyle::Normal);
    EXPECT_FALSE(h.is_local_layer(0));
}

TEST(HParams, Gemma3HasLocalLayersExceptEverySixth) {
    auto w = llama_meta();
    w.set("general.architecture", std::string("gemma3"));
    for (const char* k : {"embedding_length", "block_count", "feed_forward_length",
                          "attention.head_count", "attention.head_count_kv"}) {
        w.set(std::string("gemma3.") + k, uint32_t{k[0] == 'b' ? 12u : 64u});
    }
    w.set("gemma3.attention.head_count", uint32_t{4});
    w.set("gemma3.attention.head_count_kv", uint32_t{1});
    w.set("gemma3.attention.sliding_window", uint32_t{512});
    const HParams h = read(w);
    EXPECT_TRUE(h.is_local_layer(0));
    EXPECT_TRUE(h.is_local_layer(4));
    EXPECT_FALSE(h.is_local_layer(5));
    EXPECT_FALSE(h.is_local_layer(11));
    EXPECT_TRUE(h.config.embed_scale);
}

TEST(HParams, InvalidValuesAreNamed) {
    auto zero_heads = llama_meta();
    zero_heads.set("llama.attention.head_count", uint32_t{0});
    expect_error(zero_heads, "'llama.attention.head_count' = 0");
    auto not_dividing = llama_meta();
    not_dividing.set("llama.attention.head_count_kv", uint32_t{3});
    expect_error(not_dividing, "not a multiple of the KV head count 3");
    auto absurd_layers = llama_meta();
    absurd_layers.set("llama.block_count", uint32_t{100000});
    expect_error(absurd_layers, "'llama.block_count' = 100000");
    auto missing = llama_meta();
    missing.set("llama.embedding_length", std::string("wide"));
    expect_error(missing, "'llama.embedding_length' should be an integer");
    auto unknown = llama_meta();
    unknown.set("general.architecture", std::string("mamba"));
    expect_error(unknown, "unsupported architecture 'mamba'");
    auto dynamic = llama_meta();
    dynamic.set("llama.rope.scaling.type", std::string("dynamic"));
    expect_error(dynamic, "RoPE scaling 'dynamic' is not supported");
}

TEST(HParams, Phi3IsNeoXWithFusedGateUpAndLongRopeKeys) {
    gguf::GgufWriter w;
    w.set("general.architecture", std::string("phi3"));
    w.set("phi3.embedding_length", uint32_t{96});
    w.set("phi3.block_count", uint32_t{2});
    w.set("phi3.feed_forward_length", uint32_t{128});
    w.set("phi3.attention.head_count", uint32_t{3});
    w.set("phi3.attention.head_count_kv", uint32_t{1});
    w.set("phi3.context_length", uint32_t{131072});
    w.set("phi3.rope.dimension_count", uint32_t{24});
    w.set("phi3.rope.scaling.original_context_length", uint32_t{4096});
    w.set("phi3.rope.scaling.attn_factor", 1.19f);
    w.set("phi3.attention.sliding_window", uint32_t{262144});
    const HParams h = read(w);
    EXPECT_EQ(h.config.rope_style, kernels::RopeStyle::NeoX);
    EXPECT_TRUE(h.config.fused_gate_up);
    EXPECT_EQ(h.rope_dims, 24);
    EXPECT_EQ(h.n_ctx_orig, 4096);
    EXPECT_FLOAT_EQ(h.rope_attn_factor, 1.19f);
    EXPECT_EQ(h.layer_window(0), 262144);
    EXPECT_EQ(h.layer_window(1), 262144);
    EXPECT_FALSE(h.is_local_layer(0));  // no gemma3 local RoPE base
}

TEST(HParams, ALlamaWindowCoversEveryLayer) {
    auto w = llama_meta();
    EXPECT_EQ(read(w).layer_window(1), 0);
    w.set("llama.attention.sliding_window", uint32_t{4096});
    const HParams h = read(w);
    EXPECT_EQ(h.layer_window(0), 4096);
    EXPECT_EQ(h.layer_window(1), 4096);
    EXPECT_EQ(h.n_ctx_orig, h.n_ctx_train);
}

// Ministral 3 as llama.cpp's converter writes it (3B's attention shape,
// scaled down): YaRN ×16 over 16384 positions, mscale_all_dim 1, beta 0.1.
gguf::GgufWriter mistral3_meta() {
    gguf::GgufWriter w;
    w.set("general.architecture", std::string("mistral3"));
    w.set("mistral3.embedding_length", uint32_t{256});
    w.set("mistral3.block_count", uint32_t{2});
    w.set("mistral3.feed_forward_length", uint32_t{512});
    w.set("mistral3.attention.head_count", uint32_t{4});
    w.set("mistral3.attention.head_count_kv", uint32_t{2});
    w.set("mistral3.attention.key_length", uint32_t{128});
    w.set("mistral3.attention.value_length", uint32_t{128});
    w.set("mistral3.context_length", uint32_t{262144});
    w.set("mistral3.rope.freq_base", 1000000.0f);
    w.set("mistral3.rope.scaling.type", std::string("yarn"));
    w.set("mistral3.rope.scaling.factor", 16.0f);
    w.set("mistral3.rope.scaling.original_context_length", uint32_t{16384});
    w.set("mistral3.rope.scaling.yarn_beta_fast", 32.0f);
    w.set("mistral3.rope.scaling.yarn_beta_slow", 1.0f);
    w.set("mistral3.rope.scaling.yarn_log_multiplier", 1.0f);
    w.set("mistral3.attention.temperature_scale", 0.1f);
    return w;
}

TEST(HParams, Mistral3ReadsYarnAndTheAttentionTemperature) {
    const HParams h = read(mistral3_meta());
    EXPECT_EQ(h.config.rope_style, kernels::RopeStyle::Normal);  // permuted like llama's
    EXPECT_EQ(h.n_ctx_orig, 16384);
    EXPECT_FLOAT_EQ(h.yarn_factor, 16.0f);
    EXPECT_FLOAT_EQ(h.rope_scale, 1.0f);  // YaRN is per pair, not linear
    // mscale and mscale_all_dim both 1: no magnitude correction.
    EXPECT_FLOAT_EQ(h.rope_attn_factor, 1.0f);
    EXPECT_FLOAT_EQ(h.attn_temp_scale, 0.1f);
    EXPECT_FLOAT_EQ(attn_temperature(h, 0), 1.0f);
    EXPECT_FLOAT_EQ(attn_temperature(h, 16383), 1.0f);
    EXPECT_FLOAT_EQ(attn_temperature(h, 16384), static_cast<float>(1 + 0.1 * std::log(2.0)));
    EXPECT_FLOAT_EQ(attn_temperature(h, 5 * 16384 + 7),
                    static_cast<float>(1 + 0.1 * std::log(6.0)));
}

TEST(HParams, YarnKeepsFastPairsAndDividesSlowOnesByTheFactor) {
    const HParams h = read(mistral3_meta());
    const std::vector<float> f = yarn_freq_factors(h);
    ASSERT_EQ(f.size(), 64u);
    // Pair i turns 16384 · base^(-2i/128) / 2π times over the original
    // context: 32 times at i = 20.38 (floor 20), once at i = 36.44 (ceil 37).
    for (size_t i = 0; i <= 20; ++i) EXPECT_FLOAT_EQ(f[i], 1.0f) << i;
    for (size_t i = 37; i < 64; ++i) EXPECT_FLOAT_EQ(f[i], 16.0f) << i;
    for (size_t i = 21; i < 37; ++i) {
        EXPECT_GT(f[i], f[i - 1]) << i;  // blended in between, growing
        const double ramp = (static_cast<double>(i) - 20) / (37 - 20);
        EXPECT_NEAR(f[i], 1 / (ramp / 16 + 1 - ramp), 1e-4) << i;
    }
    EXPECT_TRUE(yarn_freq_factors(read(llama_meta())).empty());
}

TEST(HParams, YarnWithoutMscaleKeysCorrectsTheMagnitudeForAnyFamily) {
    auto w = llama_meta();
    w.set("general.architecture", std::string("qwen2"));
    for (const char* k : {"embedding_length", "block_count", "feed_forward_length",
                          "attention.head_count", "attention.head_count_kv"}) {
        w.set(std::string("qwen2.") + k, uint32_t{k[0] == 'b' ? 2u : 64u});
    }
    w.set("qwen2.attention.head_count", uint32_t{4});
    w.set("qwen2.attention.head_count_kv", uint32_t{2});
    w.set("qwen2.rope.scaling.type", std::string("yarn"));
    w.set("qwen2.rope.scaling.factor", 4.0f);
    w.set("qwen2.rope.scaling.original_context_length", uint32_t{32768});
    const HParams h = read(w);
    EXPECT_FLOAT_EQ(h.yarn_factor, 4.0f);
    EXPECT_FLOAT_EQ(h.yarn_beta_fast, 32.0f);
    EXPECT_FLOAT_EQ(h.yarn_beta_slow, 1.0f);
    EXPECT_FLOAT_EQ(h.rope_attn_factor, static_cast<float>(0.1 * std::log(4.0) + 1));
    EXPECT_FLOAT_EQ(h.attn_temp_scale, 0.0f);  // the temperature is mistral3's
    EXPECT_FLOAT_EQ(attn_temperature(h, 100000), 1.0f);
    // An explicit attention factor wins.
    w.set("qwen2.rope.scaling.attn_factor", 1.5f);
    EXPECT_FLOAT_EQ(read(w).rope_attn_factor, 1.5f);
}

TEST(HParams, BadYarnAndTemperatureValuesAreNamed) {
    auto no_factor = mistral3_meta();
    no_factor.set("mistral3.rope.scaling.factor", std::string("sixteen"));
    expect_error(no_factor, "'mistral3.rope.scaling.factor'");
    auto negative = mistral3_meta();
    negative.set("mistral3.rope.scaling.factor", -2.0f);
    expect_error(negative, "'mistral3.rope.scaling.factor' must be a positive number");
    auto crossed = mistral3_meta();
    crossed.set("mistral3.rope.scaling.yarn_beta_fast", 0.5f);
    expect_error(crossed, "'mistral3.rope.scaling.yarn_beta_fast' (0.500000) must be greater");
    auto zero_beta = mistral3_meta();
    zero_beta.set("mistral3.rope.scaling.yarn_beta_slow", 0.0f);
    expect_error(zero_beta, "'mistral3.rope.scaling.yarn_beta_slow' must be a positive number");
    auto hot = mistral3_meta();
    hot.set("mistral3.attention.temperature_scale", -0.1f);
    expect_error(hot, "'mistral3.attention.temperature_scale' must be a number >= 0");
    auto nan_mul = mistral3_meta();
    nan_mul.set("mistral3.rope.scaling.yarn_log_multiplier", std::nanf(""));
    expect_error(nan_mul, "'mistral3.rope.scaling.yarn_log_multiplier' must be a number >= 0");
    auto zero_ctx = mistral3_meta();
    zero_ctx.set("mistral3.rope.scaling.original_context_length", uint32_t{0});
    expect_error(zero_ctx, "'mistral3.rope.scaling.original_context_length' = 0");
}

TEST(HParams, AMissingYarnFactorSaysWhatItIsFor) {
    gguf::GgufWriter w;
    w.set("general.architecture", std::string("mistral3"));
    for (const char* k :
         {"embedding_length", "block_count", "feed_forward_length", "attention.head_count"}) {
        w.set(std::string("mistral3.") + k, uint32_t{k[0] == 'b' ? 2u : 64u});
    }
    w.set("mistral3.attention.head_count", uint32_t{4});
    w.set("mistral3.rope.scaling.type", std::string("yarn"));
    expect_error(w, "missing metadata key 'mistral3.rope.scaling.factor' (YaRN's");
}

// A mixture of `arch` (qwen3moe, qwen2moe) with 8 experts, 2 per token.
gguf::GgufWriter moe_meta(const std::string& arch) {
    auto w = llama_meta();
    w.set("general.architecture", arch);
    for (const char* k : {"embedding_length", "block_count", "feed_forward_length",
                          "attention.head_count", "attention.head_count_kv"}) {
        w.set(arch + "." + k,
              *gguf::GgufFile::parse(llama_meta().to_bytes()).get_int(std::string("llama.") + k));
    }
    w.set(arch + ".expert_count", uint32_t{8});
    w.set(arch + ".expert_used_count", uint32_t{2});
    return w;
}

TEST(HParams, Qwen3MoeReadsItsExpertsAndRenormalisesByDefault) {
    auto w = moe_meta("qwen3moe");
    w.set("qwen3moe.expert_feed_forward_length", uint32_t{32});
    const HParams h = read(w);
    EXPECT_TRUE(h.config.moe);
    EXPECT_TRUE(h.config.qk_norm);
    EXPECT_EQ(h.n_expert, 8);
    EXPECT_EQ(h.n_expert_used, 2);
    EXPECT_EQ(h.n_ff_exp, 32);
    EXPECT_TRUE(h.expert_weights_norm);
    w.set("qwen3moe.expert_weights_norm", false);
    EXPECT_FALSE(read(w).expert_weights_norm);
}

TEST(HParams, Qwen2MoeKeepsTheSoftmaxWeightsAndHasASharedExpert) {
    const HParams h = read(moe_meta("qwen2moe"));
    EXPECT_TRUE(h.config.shared_expert);
    EXPECT_TRUE(h.config.qkv_bias);
    EXPECT_FALSE(h.expert_weights_norm);
    EXPECT_EQ(h.n_ff_shexp, 128);  // the dense length when the file omits it
    EXPECT_EQ(h.n_ff_exp, 64);     // llama.cpp's fallback: dense length / experts used
}

TEST(HParams, MoeExpertCountsAreRequiredAndConsistent) {
    auto w = moe_meta("qwen3moe");
    w.set("qwen3moe.expert_used_count", uint32_t{9});
    expect_error(w, "qwen3moe.expert_used_count");
    gguf::GgufWriter bare = llama_meta();
    bare.set("general.architecture", std::string("qwen3moe"));
    for (const char* k :
         {"embedding_length", "block_count", "feed_forward_length", "attention.head_count"}) {
        bare.set(std::string("qwen3moe.") + k, uint32_t{64});
    }
    bare.set("qwen3moe.attention.head_count", uint32_t{4});
    expect_error(bare, "qwen3moe.expert_count");
}

}  // namespace
}  // namespace pensieve::model
