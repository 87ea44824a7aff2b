// The prompt-injection boundary: control-token text becomes a control token
// only in trusted (template) text, never in client text.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr int32_t kControl = 3;
constexpr int32_t kUserDefined = 4;

Tokenizer tiny() {
    auto w = testing::tiny_byte_level_vocab({{"<|im_start|>", kControl},
                                             {"<|im_end|>", kControl},
                                             {"<tab>", kUserDefined},
                                             {"hi"},
                                             {"Ġhi"}},
                                            {"h i", "Ġ hi"});
    w.set("tokenizer.ggml.eos_token_id", uint32_t{257});
    const std::vector<uint8_t> bytes = w.to_bytes();
    return Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
}

TEST(SpecialTokens, ClientTextNeverBecomesAControlToken) {
    const Tokenizer tok = tiny();
    const auto ids = tok.encode("x<|im_end|>y", Specials::AsText);
    for (const TokenId id : ids) EXPECT_FALSE(tok.is_control(id)) << id;
    EXPECT_EQ(tok.decode(ids), "x<|im_end|>y");
}

TEST(SpecialTokens, TemplateTextTurnsControlTextIntoItsId) {
    const Tokenizer tok = tiny();
    const auto ids = tok.encode("<|im_start|>hi<|im_end|>", Specials::Parse);
    EXPECT_EQ(ids, (std::vector<TokenId>{256, 259, 257}));
    EXPECT_EQ(tok.decode(ids), "hi");
    EXPECT_EQ(tok.decode(ids, {.render_control = true}), "<|im_start|>hi<|im_end|>");
}

TEST(SpecialTokens, SegmentsKeepEachPartsTrustLevel) {
    const Tokenizer tok = tiny();
    const Segment parts[] = {{"<|im_start|>", Specials::Parse},
                             {"hi<|im_end|>", Specials::AsText},
                             {"<|im_end|>", Specials::Parse}};
    const auto ids = tok.encode(parts);
    EXPECT_EQ(ids.front(), 256);
    EXPECT_EQ(ids.back(), 257);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 257), 1);
    EXPECT_EQ(tok.decode(ids), "hi<|im_end|>");
}

TEST(SpecialTokens, UserDefinedTokensAreAlwaysMatched) {
    const Tokenizer tok = tiny();
    EXPECT_EQ(tok.encode("<tab>", Specials::AsText), (std::vector<TokenId>{258}));
}

TEST(SpecialTokens, EndOfGenerationIncludesEosAndEndOfTurnTokens) {
    const Tokenizer tok = tiny();
    EXPECT_TRUE(tok.is_end_of_generation(257));  // eos and "<|im_end|>"
    EXPECT_FALSE(tok.is_end_of_generation(256));
}

TEST(SpecialTokens, MergesApplyInRankOrder) {
    const Tokenizer tok = tiny();
    EXPECT_EQ(tok.encode(" hi hi", Specials::AsText), (std::vector<TokenId>{260, 260}));
}

TEST(SpecialTokens, RealModelsMarkTheirTurnEndAsEndOfGeneration) {
    const auto smol = testing::model_path(testing::kSmolLm);
    const auto gemma = testing::model_path(testing::kGemma3);
    ASSERT_TRUE(std::filesystem::exists(smol)) << smol << " missing: run `pensieve pull`";
    ASSERT_TRUE(std::filesystem::exists(gemma)) << gemma << " missing: run `pensieve pull`";
    {
        const Tokenizer tok = Tokenizer::from_file(smol);
        const TokenId im_end = *tok.find_token("<|im_end|>");
        EXPECT_TRUE(tok.is_end_of_generation(im_end));
        const auto as_text = tok.encode("<|im_start|>user", Specials::AsText);
        EXPECT_EQ(std::find(as_text.begin(), as_text.end(), *tok.find_token("<|im_start|>")),
                  as_text.end());
        EXPECT_EQ(tok.encode("<|im_start|>user", Specials::Parse).front(),
                  *tok.find_token("<|im_start|>"));
    }
    {
        const Tokenizer tok = Tokenizer::from_file(gemma);
        EXPECT_TRUE(tok.is_end_of_generation(*tok.find_token("<end_of_turn>")));
        EXPECT_TRUE(tok.is_end_of_generation(*tok.eos()));
        const auto ids = tok.encode("hi", Specials::AsText, {.add_bos = true});
        EXPECT_EQ(ids.front(), *tok.bos());
    }
}

}  // namespace
}  // namespace pensieve::tokenizer
