// Token masks over the default model's real vocabulary (SmolLM2, 49152
// tokens): every mask equals the brute-force answer (each token fed through
// a fresh matcher), and random walks that sample only allowed tokens end in
// documents that parse and validate against the schema (checked by the
// independent validator in validator.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "../test_models.hpp"
#include "engine/grammar/schema_compiler.hpp"
#include "engine/grammar/token_mask.hpp"
#include "validator.hpp"
#include "walk_helpers.hpp"

namespace pensieve::grammar {
namespace {

using json = nlohmann::ordered_json;

tokenizer::Tokenizer load_tokenizer(const char* model) {
    const auto path = pensieve::testing::model_path(model);
    if (!std::filesystem::exists(path)) {
        throw std::runtime_error("model missing: " + path.string());
    }
    return tokenizer::Tokenizer::from_file(path);
}

const tokenizer::Tokenizer& smollm() {
    static const tokenizer::Tokenizer tok = load_tokenizer(pensieve::testing::kSmolLm);
    return tok;
}

std::shared_ptr<const TokenVocabulary> vocab() {
    static const auto v = TokenVocabulary::from_tokenizer(smollm());
    return v;
}

// Samples an allowed token, leaning towards structure (quotes, brackets,
// end of generation) so documents finish within the step budget.
TokenId sample(const std::vector<uint64_t>& mask, const TokenVocabulary& v, std::mt19937& rng) {
    return leaning_draw(mask, v, rng, "\"]}", 0.8, 0.4);
}

// Runs `walks` random walks over the schema; checks masks against brute force
// every `check_every` steps.
void random_walks(const json& schema, int walks, int check_every, uint32_t seed,
                  std::shared_ptr<const TokenVocabulary> on = vocab()) {
    const auto grammar = std::make_shared<const Grammar>(compile_schema(schema));
    const auto masks = std::make_shared<const GrammarMasks>(grammar, on);
    const TokenVocabulary& v = *on;
    const testing::Validator validator(nlohmann::json::parse(schema.dump()));
    std::mt19937 rng(seed);
    std::vector<uint64_t> mask(v.words()), uncached(v.words());
    for (int w = 0; w < walks; ++w) {
        Constraint c(masks);
        std::string text;
        bool ended = false;
        for (int step = 0; step < 3000 && !ended; ++step) {
            ASSERT_GT(c.fill_mask(mask), 0u) << "stuck after: " << text;
            if (step % check_every == 0) {
                masks->compute_uncached(c.matcher().state(), uncached);
                ASSERT_EQ(mask, uncached) << "cached mask differs after: " << text;
                ASSERT_EQ(mask, brute_force_mask(c.matcher(), v))
                    << "mask differs from brute force after: " << text;
            }
            const TokenId id = sample(mask, v, rng);
            ASSERT_TRUE(c.accept(id)) << "allowed token " << id << " refused after: " << text;
            if (v.is_eog(id))
                ended = true;
            else
                text += v.bytes(id);
        }
        ASSERT_TRUE(ended) << "no end of generation within 3000 tokens: " << text;
        nlohmann::json doc;
        ASSERT_NO_THROW(doc = nlohmann::json::parse(text)) << text;
        EXPECT_EQ(validator.check(doc), "") << text;
    }
}

TEST(TokenMask, ClaudeCodeToolCallsFromRandomWalksParseAndValidate) {
    for (const json& tool : load("claude_code_tools.json")) {
        SCOPED_TRACE(tool["name"].get<std::string>());
        random_walks(tool["input_schema"], 4, 10, 7);
    }
}

TEST(TokenMask, ACallToAnyOfTheToolsFromRandomWalksValidates) {
    random_walks(any_call_schema(load("claude_code_tools.json")), 4, 10, 13);
}

TEST(TokenMask, BoundedIntegersAnyOfAndRecursiveRefsFromRandomWalksValidate) {
    for (const json& s : load("structured.json")) random_walks(s["input_schema"], 8, 6, 11);
}

TEST(TokenMask, ManyLiveBranchesInsideStringsTakeTheShortcutAndMatchBruteForce) {
    // Every live anyOf branch inside a string body (the nested length bounds,
    // class patterns, extra keys): the masks add the string-safe tokens
    // without walking them, and must still equal the brute-force answer.
    json lengths = json::array();
    for (int i = 0; i < 12; ++i) lengths.push_back({{"type", "string"}, {"maxLength", 2 + 3 * i}});
    lengths.push_back({{"type", "string"}, {"pattern", "^[a-f]+$"}});
    lengths.push_back({{"type", "string"}, {"pattern", "^[0-9]*$"}, {"maxLength", 5}});
    lengths.push_back({{"type", "string"}, {"minLength", 1}});
    const json schema = {
        {"type", "object"},
        {"required", {"a", "b"}},
        {"additionalProperties", false},
        {"properties",
         {{"a", {{"anyOf", lengths}}},
          {"b",
           {{"anyOf",
             {{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}},
              {{"type", "object"},
               {"additionalProperties", {{"type", "string"}, {"maxLength", 3}}}}}}}}}}};
    random_walks(schema, 6, 2, 17);
}

TEST(TokenMask, SentencePieceVocabularyOfGemma3AlsoGivesValidToolCalls) {
    // 262 k tokens, spaces as U+2581, byte fallback tokens for partial UTF-8.
    const auto gemma = TokenVocabulary::from_tokenizer(load_tokenizer(pensieve::testing::kGemma3));
    const json tools = load("claude_code_tools.json");
    ASSERT_EQ(tools[7]["name"], "TodoWrite");
    random_walks(tools[7]["input_schema"], 2, 15, 3, gemma);
}

TEST(TokenMask, JsonModeProducesObjects) {
    const json schema = json::parse(R"({"type": "object"})");
    random_walks(schema, 6, 5, 5);
}

TEST(TokenMask, ControlTokensAreNeverAllowedAndEndOfGenerationOnlyWhenComplete) {
    const auto g = std::make_shared<const Grammar>(any_json_object());
    const auto masks = std::make_shared<const GrammarMasks>(g, vocab());
    const TokenVocabulary& v = *vocab();
    Constraint c(masks);
    std::vector<uint64_t> mask(v.words());
    ASSERT_GT(c.fill_mask(mask), 0u);
    for (size_t id = 0; id < v.size(); ++id) {
        if (smollm().is_control(static_cast<TokenId>(id))) {
            EXPECT_FALSE(has(mask, id)) << id;
        }
    }
    const auto open = smollm().encode("{}", tokenizer::Specials::AsText);
    for (TokenId id : open) ASSERT_TRUE(c.accept(id));
    c.fill_mask(mask);
    ASSERT_FALSE(v.eog().empty());
    for (size_t id = 0; id < v.size(); ++id) {
        EXPECT_EQ(has(mask, id), v.is_eog(static_cast<TokenId>(id))) << id;
    }
    const TokenId im_start = *smollm().find_token("<|im_start|>");
    EXPECT_FALSE(c.accept(im_start));
}

TEST(TokenMask, RealToolCallsAreAllowedTokenByTokenInCanonicalLayout) {
    const json calls = load("tool_calls.json");
    for (const json& tool : load("claude_code_tools.json")) {
        const std::string name = tool["name"].get<std::string>();
        ASSERT_TRUE(calls.contains(name)) << name;
        const auto g = std::make_shared<const Grammar>(compile_schema(tool["input_schema"]));
        Constraint c(std::make_shared<const GrammarMasks>(g, vocab()));
        const std::string call = canonical_json(calls[name]);
        std::vector<uint64_t> mask(vocab()->words());
        for (TokenId id : smollm().encode(call, tokenizer::Specials::AsText)) {
            c.fill_mask(mask);
            ASSERT_TRUE(has(mask, static_cast<size_t>(id)))
                << name << ": token " << id << " masked out";
            ASSERT_TRUE(c.accept(id));
        }
        EXPECT_TRUE(c.finished()) << name;
        c.fill_mask(mask);
        EXPECT_TRUE(has(mask, static_cast<size_t>(vocab()->eog().front()))) << name;
    }
}

TEST(TokenMask, ApplyMaskSetsExactlyTheDisallowedLogitsToMinusInfinity) {
    std::vector<float> logits(130, 1.0f);
    std::vector<uint64_t> allowed(3, 0);
    allowed[0] = ~uint64_t{0};      // ids 0..63
    allowed[1] = uint64_t{1} << 5;  // id 69
    allowed[2] = uint64_t{1} << 1;  // id 129
    apply_mask(allowed, logits);
    for (size_t i = 0; i < logits.size(); ++i) {
        const bool ok = i < 64 || i == 69 || i == 129;
        EXPECT_EQ(logits[i], ok ? 1.0f : -std::numeric_limits<float>::infinity()) << i;
    }
}

// The validator the walks rely on must itself catch violations.
TEST(TokenMask, TheIndependentValidatorRejectsWhatTheSchemaForbids) {
    const auto schema = nlohmann::json::parse(load("structured.json")[0]["input_schema"].dump());
    const testing::Validator v(schema);
    auto doc = nlohmann::json::parse(
        R"({"id": "toolu_1", "tree": {"name": "a_b", "weight": 5}, "count": 3, "value": 42, "version": 2, "tags": ["x"]})");
    ASSERT_EQ(v.check(doc), "");
    auto bad = [&](const char* pointer, nlohmann::json value) {
        auto d = doc;
        d[nlohmann::json::json_pointer(pointer)] = std::move(value);
        return !v.check(d).empty();
    };
    EXPECT_TRUE(bad("/id", "tool_1"));
    EXPECT_TRUE(bad("/tree/name", "A"));
    EXPECT_TRUE(bad("/tree/name", "abcdefghijklm"));
    EXPECT_TRUE(bad("/tree/weight", 126));
    EXPECT_TRUE(bad("/tree/extra", 1));
    EXPECT_TRUE(bad("/count", 0));
    EXPECT_TRUE(bad("/value", 9));
    EXPECT_TRUE(bad("/value", "abcd"));
    EXPECT_TRUE(bad("/mode", "medium"));
    EXPECT_TRUE(bad("/version", 3));
    EXPECT_TRUE(bad("/tags", nlohmann::json::array()));
    EXPECT_TRUE(bad("/tags/0", ""));
    auto missing = doc;
    missing.erase("tree");
    EXPECT_FALSE(v.check(missing).empty());
}

}  // namespace
}  // namespace pensieve::grammar
