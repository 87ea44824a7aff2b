// The random-model writer's tables: named shapes, and the tensor types of a
// mix as llama.cpp's quantizer assigns them (Q6_K for attn_v / ffn_down on
// the first and last eighth of the layers and every third between, the
// output's own type, and the fallback for rows that are not whole K-quant
// super-blocks).
#include <gtest/gtest.h>

#include <stdexcept>

#include "model_shapes.hpp"

namespace pensieve::tools {
namespace {

using gguf::TensorType;

TEST(ModelShapes, NamedShapesCarryTheirModelsHyperParameters) {
    const ModelShape l = find_shape("llama3.2-1b", "ignored");
    EXPECT_EQ(l.arch, "llama");
    EXPECT_EQ(l.n_embd, 2048u);
    EXPECT_EQ(l.n_layer, 16u);
    EXPECT_EQ(l.n_head_kv, 8u);
    EXPECT_EQ(l.n_vocab, 128256u);
    EXPECT_TRUE(l.tied_output);
    const ModelShape g = find_shape("gemma3-1b", "ignored");
    EXPECT_EQ(g.arch, "gemma3");
    EXPECT_EQ(g.head_dim, 256u);
    EXPECT_EQ(g.window, 512u);
    EXPECT_FALSE(find_shape("qwen2.5-7b", "").tied_output);
    for (const ModelShape& s : named_shapes()) {
        EXPECT_EQ(s.n_head % s.n_head_kv, 0u) << s.name;
        EXPECT_GT(s.n_vocab, 0u) << s.name;
    }
}

TEST(ModelShapes, TinyIsTheSmallModelOfTheArchitecture) {
    EXPECT_EQ(find_shape("tiny", "qwen2").arch, "qwen2");
    EXPECT_EQ(find_shape("tiny", "gemma3").n_layer, 6u);
    EXPECT_TRUE(find_shape("tiny", "gemma3").tied_output);
    EXPECT_FALSE(find_shape("tiny", "llama").tied_output);
}

TEST(ModelShapes, FamiliesWrittenAsAnotherArchitectureKeepTheirTraits) {
    const ModelShape l31 = find_shape("tiny", "llama3.1");
    EXPECT_EQ(l31.arch, "llama");
    EXPECT_TRUE(l31.rope_freqs);
    const ModelShape mistral = find_shape("tiny", "mistral");
    EXPECT_EQ(mistral.arch, "llama");
    EXPECT_TRUE(mistral.windowed);
    EXPECT_GT(mistral.window, 0u);
    const ModelShape phi = find_shape("tiny", "phi3");
    EXPECT_EQ(phi.arch, "phi3");
    EXPECT_TRUE(phi.fused && phi.longrope && phi.tied_output);
    EXPECT_LT(phi.rope_dims, phi.head_dim);
    const ModelShape phi4 = find_shape("phi4-mini", "");
    EXPECT_EQ(phi4.rope_dims, 96u);
    EXPECT_TRUE(phi4.fused);
    const ModelShape qwen_yarn = find_shape("tiny", "qwen2-yarn");
    EXPECT_EQ(qwen_yarn.arch, "qwen2");
    EXPECT_EQ(qwen_yarn.yarn_factor, 4.0f);
    EXPECT_FALSE(qwen_yarn.yarn_keys || qwen_yarn.attn_temp);
}

TEST(ModelShapes, Mistral3HasYarnAndTheAttentionTemperature) {
    for (const ModelShape& s : {find_shape("tiny", "mistral3"), find_shape("ministral3-8b", "")}) {
        EXPECT_EQ(s.arch, "mistral3") << s.name;
        EXPECT_EQ(s.yarn_factor, 16.0f) << s.name;
        EXPECT_TRUE(s.yarn_keys && s.attn_temp) << s.name;
    }
    EXPECT_EQ(find_shape("ministral3-8b", "").n_layer, 34u);
}

TEST(ModelShapes, UnknownNamesAreErrorsThatListTheKnownOnes) {
    try {
        (void)find_shape("llama-9000b", "llama");
        ADD_FAILURE();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("qwen2.5-7b"), std::string::npos);
    }
    EXPECT_THROW((void)find_mix("q9_k_xl"), std::invalid_argument);
}

TEST(ModelShapes, Q4KMGivesMoreBitsToAnEighthAtEachEndAndEveryThirdLayerBetween) {
    const Mix mix = find_mix("q4_k_m");
    std::vector<uint32_t> six_bit;
    for (uint32_t layer = 0; layer < 16; ++layer) {
        const TensorType v = matrix_type(mix, Role::AttnV, layer, 16, false, 2048);
        EXPECT_EQ(matrix_type(mix, Role::FfnDown, layer, 16, false, 8192), v);
        EXPECT_EQ(matrix_type(mix, Role::AttnQ, layer, 16, false, 2048), TensorType::Q4_K);
        EXPECT_EQ(matrix_type(mix, Role::FfnUp, layer, 16, false, 2048), TensorType::Q4_K);
        if (v == TensorType::Q6_K) six_bit.push_back(layer);
    }
    EXPECT_EQ(six_bit, (std::vector<uint32_t>{0, 1, 4, 7, 10, 13, 14, 15}));
}

TEST(ModelShapes, TheOutputAndATiedEmbeddingTakeTheOutputType) {
    const Mix k = find_mix("q4_k_m");
    EXPECT_EQ(matrix_type(k, Role::Output, 0, 16, false, 2048), TensorType::Q6_K);
    EXPECT_EQ(matrix_type(k, Role::TokenEmbd, 0, 16, true, 2048), TensorType::Q6_K);
    EXPECT_EQ(matrix_type(k, Role::TokenEmbd, 0, 16, false, 2048), TensorType::Q4_K);
    const Mix q8 = find_mix("q8_0");
    EXPECT_EQ(matrix_type(q8, Role::Output, 0, 16, false, 2048), TensorType::Q8_0);
    EXPECT_EQ(matrix_type(q8, Role::AttnV, 0, 16, false, 2048), TensorType::Q8_0);
    const Mix f = find_mix("bf16");
    EXPECT_EQ(matrix_type(f, Role::FfnDown, 0, 16, true, 2048), TensorType::BF16);
    EXPECT_EQ(matrix_type(f, Role::TokenEmbd, 0, 16, true, 2048), TensorType::BF16);
}

TEST(ModelShapes, RowsThatAreNotWholeSuperBlocksFallBackToBlockFormats) {
    // Gemma 3 1B is 1152 wide, Qwen2.5 0.5B 896: 4.5 and 3.5 super-blocks.
    EXPECT_EQ(matrix_type(find_mix("q4_k_m"), Role::AttnQ, 2, 26, true, 1152), TensorType::Q5_0);
    EXPECT_EQ(matrix_type(find_mix("q5_k_m"), Role::AttnQ, 2, 26, true, 1152), TensorType::Q5_1);
    EXPECT_EQ(matrix_type(find_mix("q4_k_m"), Role::TokenEmbd, 0, 26, true, 1152),
              TensorType::Q8_0);
    EXPECT_EQ(matrix_type(find_mix("q6_k"), Role::AttnK, 0, 24, true, 896), TensorType::Q8_0);
    // The down projection's rows are n_ff long: whole super-blocks there.
    EXPECT_EQ(matrix_type(find_mix("q4_k_m"), Role::FfnDown, 0, 26, true, 6912), TensorType::Q6_K);
}

TEST(ModelShapes, Qwen3MoeShapeHas128ExpertsAndAnUnquantizedRouter) {
    const ModelShape s = find_shape("qwen3-30b-a3b", "");
    EXPECT_EQ(s.arch, "qwen3moe");
    EXPECT_EQ(s.n_expert, 128u);
    EXPECT_EQ(s.n_expert_used, 8u);
    EXPECT_EQ(s.n_ff_exp, 768u);
    const Mix mix = find_mix("q4_k_m");
    EXPECT_EQ(matrix_type(mix, Role::Router, 0, 48, false, 2048), TensorType::F32);
    EXPECT_EQ(matrix_type(mix, Role::FfnDown, 0, 48, false, 768), TensorType::Q6_K);
    EXPECT_EQ(matrix_type(mix, Role::FfnDown, 6, 48, false, 768), TensorType::Q4_K);
    const ModelShape tiny = find_shape("tiny", "qwen2moe");
    EXPECT_EQ(tiny.n_expert, 8u);
    EXPECT_GT(tiny.n_ff_shexp, 0u);
}

}  // namespace
}  // namespace pensieve::tools
