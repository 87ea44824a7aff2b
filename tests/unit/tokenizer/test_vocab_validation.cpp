// Malformed or unsupported vocabularies are rejected with an error that names
// the problem, never accepted half-way or crashed on.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "tokenizer/error.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {
namespace {

std::string load_error(const gguf::GgufWriter& w) {
    const std::vector<uint8_t> bytes = w.to_bytes();
    try {
        Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

gguf::GgufWriter base() {
    return testing::tiny_byte_level_vocab({{"hi"}}, {"h i"});
}

TEST(VocabValidation, AWellFormedVocabLoads) {
    EXPECT_EQ(load_error(base()), "");
}

TEST(VocabValidation, MissingOrUnknownModelIsRejected) {
    auto w = base();
    w.set("tokenizer.ggml.model", std::string("bert"));
    EXPECT_NE(load_error(w).find("unsupported tokenizer model"), std::string::npos);
}

TEST(VocabValidation, UnknownPreTokenizerIsRejected) {
    auto w = base();
    w.set("tokenizer.ggml.pre", std::string("no-such-pre"));
    EXPECT_NE(load_error(w).find("no-such-pre"), std::string::npos);
}

TEST(VocabValidation, WrongElementTypeIsRejected) {
    auto w = base();
    w.set("tokenizer.ggml.tokens", gguf::make_array(std::vector<int32_t>{1, 2}));
    EXPECT_NE(load_error(w).find("tokenizer.ggml.tokens"), std::string::npos);
}

TEST(VocabValidation, PerTokenArraysMustHaveOneEntryPerToken) {
    auto w = base();
    w.set("tokenizer.ggml.scores", gguf::make_array(std::vector<float>{0.0f, 1.0f}));
    EXPECT_NE(load_error(w).find("expected 257"), std::string::npos);
}

TEST(VocabValidation, SpecialIdsMustBeInRange) {
    auto w = base();
    w.set("tokenizer.ggml.eos_token_id", uint32_t{100000});
    EXPECT_NE(load_error(w).find("out of range"), std::string::npos);
}

TEST(VocabValidation, MergesMustNameKnownTokens) {
    auto w = base();
    w.set("tokenizer.ggml.merges", gguf::make_array(std::vector<std::string>{"h zz"}));
    EXPECT_NE(load_error(w).find("not in the vocabulary"), std::string::npos);
    w.set("tokenizer.ggml.merges", gguf::make_array(std::vector<std::string>{"nospace"}));
    EXPECT_NE(load_error(w).find("separated by a space"), std::string::npos);
}

TEST(VocabValidation, ByteTokensMustBeExactlyTwoHexDigits) {
    EXPECT_EQ(parse_byte_token("<0x0A>"), uint8_t{0x0A});
    EXPECT_EQ(parse_byte_token("<0xff>"), uint8_t{0xFF});
    EXPECT_FALSE(parse_byte_token("<0xA>"));
    EXPECT_FALSE(parse_byte_token("<0x0AB>"));
    EXPECT_FALSE(parse_byte_token("<0xG1>"));
    EXPECT_FALSE(parse_byte_token("0x0A"));
    auto w = testing::tiny_byte_level_vocab({{"<0xZZ>", 6}}, {});
    EXPECT_NE(load_error(w).find("<0xHH>"), std::string::npos);
}

TEST(VocabValidation, TokenTypesOutsideTheKnownSetAreRejected) {
    auto w = testing::tiny_byte_level_vocab({{"x", 9}}, {});
    EXPECT_NE(load_error(w).find("unknown type"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::tokenizer
