// The o200k ("gpt-4o") and Tekken pre-tokenizers: a vocabulary naming them
// loads and splits as their regexes do (the full comparison with Hugging
// Face `tokenizers` is in tests/reference/tokenizer/), and hostile inputs
// built around their backtracking take linear time on a small stack.
#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

Tokenizer load_with_pre(const std::string& pre, const std::vector<testing::TinyToken>& extra,
                        const std::vector<std::string>& merges) {
    auto w = testing::tiny_byte_level_vocab(extra, merges);
    w.set("tokenizer.ggml.pre", pre);
    const std::vector<uint8_t> bytes = w.to_bytes();
    return Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
}

std::vector<std::string> words(const std::string& pre, const std::string& text) {
    const auto p = pre_tokenizer_from_name(pre);
    EXPECT_TRUE(p.has_value()) << pre;
    const std::vector<uint32_t> cps = utf8::decode_lossy(text);
    std::vector<Span> spans, scratch;
    pre_tokenize(*p, cps, spans, scratch);
    std::vector<std::string> out;
    for (const Span& s : spans) {
        std::string w;
        for (uint32_t i = s.begin; i < s.end; ++i) utf8::append(w, cps[i]);
        out.push_back(w);
    }
    return out;
}

using Words = std::vector<std::string>;

TEST(SplitPreTokenizers, VocabulariesNamingThemLoadAndUseThem) {
    // "DON'T": one word for gpt-4o (the contraction stays on its word, any
    // case), "DON" + "'T" for tekken; the N' merge shows which split ran.
    const std::vector<testing::TinyToken> extra = {{"N'"}};
    const std::vector<std::string> merges = {"N '"};
    const Tokenizer o200k = load_with_pre("gpt-4o", extra, merges);
    const Tokenizer tekken = load_with_pre("tekken", extra, merges);
    const TokenId n_quote = 256;
    const std::vector<TokenId> joined = {'D', 'O', n_quote, 'T'};
    const std::vector<TokenId> split = {'D', 'O', 'N', '\'', 'T'};
    EXPECT_EQ(o200k.encode("DON'T", Specials::AsText), joined);
    EXPECT_EQ(tekken.encode("DON'T", Specials::AsText), split);
    for (const Tokenizer* tok : {&o200k, &tekken}) {
        const std::string text = "HELLOworld ǅemal e\u0301 12345 !\n/x 😀\r\n";
        EXPECT_EQ(tok->decode(tok->encode(text, Specials::AsText)), text);
    }
}

TEST(SplitPreTokenizers, CaseRunsBacktrackAsTheRegexDoes) {
    // Values checked against the reference in
    // tests/reference/tokenizer/test_split_pre_tokenizers_vs_reference.py.
    EXPECT_EQ(words("gpt-4o", "HELLOworld helloWORLD"), (Words{"HELLOworld", " hello", "WORLD"}));
    // U+02B0 is Lm, in both case classes: [upper]* gives it back so that
    // [lower]+ can match it, leaving "AAA" to the next word.
    EXPECT_EQ(words("gpt-4o", "\u02B0AAA!\n/x"), (Words{"\u02B0", "AAA", "!\n/", "x"}));
    EXPECT_EQ(words("tekken", "\u02B0AAA!\n/x"), (Words{"\u02B0", "AAA", "!\n/", "x"}));
    EXPECT_EQ(words("gpt-4o", "12345"), (Words{"123", "45"}));
    EXPECT_EQ(words("tekken", "123"), (Words{"1", "2", "3"}));
    EXPECT_EQ(words("gpt-4o", "don'\u017F x"), (Words{"don'\u017F", " x"}));
    EXPECT_EQ(words("tekken", "DON'T"), (Words{"DON", "'T"}));
}

std::string repeat(std::string_view unit, size_t n) {
    std::string s;
    s.reserve(unit.size() * n);
    for (size_t i = 0; i < n; ++i) s += unit;
    return s;
}

double seconds_to_split(const std::string& pre, const std::string& text, size_t* n_words) {
    const auto p = pre_tokenizer_from_name(pre);
    const std::vector<uint32_t> cps = utf8::decode_lossy(text);
    std::vector<Span> spans, scratch;
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        pre_tokenize(*p, cps, spans, scratch);
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    *n_words = spans.size();
    return best;
}

TEST(SplitPreTokenizers, HostileRunsTakeLinearTime) {
    // Upper-case runs that end in a character both classes hold, or in
    // nothing lower-case at all, make the regex give characters back; none
    // of it may rescan quadratically. (Qwen2's and Llama 3's regexes share
    // the digit and punctuation alternatives, so they run here too.)
    const char* units[] = {"A",      "\u02B0",  "A\u02B0", "\u02B0AAAAAAAAAAAAAAAA",
                           "\u0301", " \u0301", "'",       "A'S",
                           "1",      " ",       "\n",      "/",
                           "ǅ"};
    for (const char* pre : {"gpt-4o", "tekken", "qwen2", "llama3"}) {
        for (const char* unit : units) {
            SCOPED_TRACE(std::string(pre) + " unit '" + unit + "'");
            const std::string small = repeat(unit, 25'000) + "!";
            const std::string big = repeat(unit, 100'000) + "!";
            size_t n_small = 0, n_big = 0;
            const double t_small = seconds_to_split(pre, small, &n_small);
            const double t_big = seconds_to_split(pre, big, &n_big);
            EXPECT_GE(n_big, n_small);
            // 4x the input costs ~4x; quadratic would be ~16x.
            EXPECT_LT(t_big, 10 * t_small + 0.05) << t_small << " s -> " << t_big << " s";
        }
    }
}

}  // namespace
}  // namespace pensieve::tokenizer
