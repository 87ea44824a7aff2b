// UTF-8 decoding replaces ill-formed input the way Python's errors="replace"
// does (one U+FFFD per maximal subpart), and the completeness check holds
// back only a well-formed but unfinished tail.
#include <gtest/gtest.h>

#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer::utf8 {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsUnchanged) {
    const std::string s = "héllo 日本 🎉";
    EXPECT_TRUE(is_valid(s));
    EXPECT_EQ(make_valid(s), s);
    EXPECT_EQ(decode_lossy(s).size(), 10u);
}

TEST(Utf8, EachMaximalSubpartBecomesOneReplacementCharacter) {
    // Expected values are what Python's bytes.decode("utf-8", "replace") gives.
    EXPECT_EQ(make_valid("\xE2\x28\xA1"), kFffd + "(" + kFffd);
    EXPECT_EQ(make_valid("\xF0\x80\x80"), kFffd + kFffd + kFffd);  // overlong lead
    EXPECT_EQ(make_valid("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
    EXPECT_EQ(make_valid("a\xE2\x82"), "a" + kFffd);               // truncated at the end
    EXPECT_EQ(make_valid("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
    EXPECT_EQ(make_valid("\xC0\xAF"), kFffd + kFffd);
    EXPECT_EQ(make_valid("\xF0\x9F\x8E"), kFffd);  // 3 of 4 bytes
    EXPECT_FALSE(is_valid("\xFF"));
}

TEST(Utf8, CompletePrefixHoldsBackOnlyAnUnfinishedCharacter) {
    EXPECT_EQ(complete_prefix("abc"), 3u);
    EXPECT_EQ(complete_prefix("ab\xC3"), 2u);
    EXPECT_EQ(complete_prefix("ab\xF0\x9F\x8E"), 2u);
    EXPECT_EQ(complete_prefix("ab\xF0\x9F\x8E\x89"), 6u);
    EXPECT_EQ(complete_prefix("ab\xFF"), 3u);        // invalid: nothing to wait for
    EXPECT_EQ(complete_prefix("ab\xE0\x80"), 4u);    // E0 80 can never complete
    EXPECT_EQ(complete_prefix("\x80\x80\x80"), 3u);  // stray continuation bytes
}

}  // namespace
}  // namespace pensieve::tokenizer::utf8
