// The schema-keyed grammar cache: one compiled grammar per schema text,
// shared; least recently used entries leave first, by count and by the bytes
// their grammars and keys hold.
#include <gtest/gtest.h>

#include <string>

#include "engine/grammar/grammar_cache.hpp"
#include "engine/grammar/schema_compiler.hpp"

namespace pensieve::grammar {
namespace {

using json = nlohmann::ordered_json;

std::shared_ptr<const TokenVocabulary> tiny_vocab() {
    return std::make_shared<const TokenVocabulary>(
        std::vector<std::string>{"{", "}", "\"", "a", "b", ":", " ", ",", "1"},
        std::vector<tokenizer::TokenId>{});
}

json enum_schema(int values, const std::string& tag) {
    json e = json::array();
    for (int i = 0; i < values; ++i) e.push_back(tag + std::to_string(i));
    return {{"type", "object"}, {"properties", {{"a", {{"enum", e}}}}}};
}

TEST(GrammarCache, OneGrammarPerSchemaTextShared) {
    GrammarCache cache(tiny_vocab(), 2);
    const auto first = cache.get(enum_schema(3, "x"));
    EXPECT_EQ(cache.get(enum_schema(3, "x")), first);
    cache.get(enum_schema(3, "y"));
    cache.get(enum_schema(3, "z"));  // over the count: the least recent goes
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_NE(cache.get(enum_schema(3, "x")), first);  // compiled again
}

TEST(GrammarCache, GrammarBytesGrowWithTheirLiterals) {
    const Grammar small = compile_schema(enum_schema(10, "value-"));
    const Grammar large = compile_schema(enum_schema(10000, "value-"));
    EXPECT_GT(large.bytes(), small.bytes() + 10000 * std::string("value-0000").size());
}

TEST(GrammarCache, LargeGrammarsAreEvictedByBytesButTheNewestStays) {
    const size_t one = compile_schema(enum_schema(20000, "a")).bytes();
    GrammarCache cache(tiny_vocab(), 16, 3 * one);
    for (const char* tag : {"a", "b", "c", "d", "e"}) cache.get(enum_schema(20000, tag));
    EXPECT_LE(cache.bytes(), 3 * one);
    EXPECT_GE(cache.size(), 1u);
    EXPECT_LT(cache.size(), 5u);
    // One grammar over the budget by itself is still kept: a request uses it.
    GrammarCache tight(tiny_vocab(), 16, 1024);
    const auto big = tight.get(enum_schema(20000, "z"));
    EXPECT_EQ(tight.size(), 1u);
    EXPECT_GT(tight.bytes(), 1024u);
    tight.get(enum_schema(3, "small"));  // the big one leaves for the newest
    EXPECT_EQ(tight.size(), 1u);
    EXPECT_LT(tight.bytes(), 1024u * 64);
}

}  // namespace
}  // namespace pensieve::grammar
