// The prompt-injection boundary: control-token text becomes a control token
// only in trusted (template) text, never in client text.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include "test_support.hpp"
#include "tokenizer/special_tokens.hpp"
#include "tokenizer/vocab.hpp"
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

TEST(SpecialTokens, TheLeftmostThenLongestTokenIsMatched) {
    auto w = testing::tiny_byte_level_vocab({{"<a", kUserDefined},
                                             {"<abc", kUserDefined},
                                             {"<abcd", kControl},
                                             {"bc", kUserDefined}},
                                            {});
    const std::vector<uint8_t> bytes = w.to_bytes();
    const auto file = gguf::GgufFile::parse(bytes);
    const Vocab vocab = load_vocab(file);
    const SpecialTokenMatcher m(vocab);
    const auto at = [&](std::string_view text, bool control) {
        const auto found = m.find(text, 0, control);
        return found ? std::tuple{found->pos, found->len, found->id}
                     : std::tuple{size_t{0}, size_t{0}, TokenId{-1}};
    };
    // "<ab" follows "<abc" for a while, then falls back to "<a".
    EXPECT_EQ(at("x<abx", false), (std::tuple{size_t{1}, size_t{2}, TokenId{256}}));
    EXPECT_EQ(at("x<abc", false), (std::tuple{size_t{1}, size_t{4}, TokenId{257}}));
    // A control token counts only in template text; else the longest other.
    EXPECT_EQ(at("<abcd", false), (std::tuple{size_t{0}, size_t{4}, TokenId{257}}));
    EXPECT_EQ(at("<abcd", true), (std::tuple{size_t{0}, size_t{5}, TokenId{258}}));
    // Leftmost wins over longest: "bc" starts later than "<a".
    EXPECT_EQ(at("<abc", false), (std::tuple{size_t{0}, size_t{4}, TokenId{257}}));
    EXPECT_EQ(at("zbcd", false), (std::tuple{size_t{1}, size_t{2}, TokenId{259}}));
    EXPECT_FALSE(m.find("<", 0, true));
    EXPECT_FALSE(m.find("x<abc", 4, true));  // "c" alone is no token
}

// The time to encode 8,000 "a"s with a crafted vocabulary of n user-defined
// tokens "a…az" (1 to n "a"s, then "z"): text that follows many tokens'
// prefixes far without ever matching one. The fastest of three.
double seconds_with_prefix_tokens(int n) {
    std::vector<testing::TinyToken> extra;
    std::string run;
    for (int k = 1; k <= n; ++k) extra.push_back({(run += 'a') + "z", kUserDefined});
    auto w = testing::tiny_byte_level_vocab(extra, {});
    const std::vector<uint8_t> bytes = w.to_bytes();
    const Tokenizer tok = Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
    const std::string text(8'000, 'a');
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto ids = tok.encode(text, Specials::AsText);
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        EXPECT_EQ(tok.decode(ids), text);
    }
    return best;
}

TEST(SpecialTokens, ManyTokensSharingAPrefixCostLinearTimeInTheirNumber) {
    // Each position follows the prefixes once (a trie walk of up to n
    // bytes): 4x the tokens may cost ~4x, never ~16x (each length tried and
    // hashed on its own).
    const double few = seconds_with_prefix_tokens(250);
    const double many = seconds_with_prefix_tokens(1000);
    EXPECT_LT(many, 10 * few + 0.05) << few << " s -> " << many << " s";
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
