// ReplyBuilder: a reply that ends in the middle of a character (max_tokens,
// end of generation) drops the character's first bytes instead of sending
// U+FFFD; whole characters split over tokens come out whole.
#include <gtest/gtest.h>

#include "../tokenizer/test_support.hpp"
#include "engine/reply.hpp"

namespace pensieve::engine {
namespace {

// Byte-level tokens: id b is the byte b (and 256 the end of generation).
tokenizer::Tokenizer byte_tokens() {
    auto w = tokenizer::testing::tiny_byte_level_vocab({{"<|end|>", 3}}, {});
    w.set("tokenizer.ggml.eos_token_id", uint32_t{256});
    const std::vector<uint8_t> bytes = w.to_bytes();
    return tokenizer::Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
}

TEST(Reply, ACharacterSplitOverTokensComesOutWhole) {
    const tokenizer::Tokenizer tok = byte_tokens();
    GenerateRequest request;
    request.max_tokens = 3;
    ReplyBuilder reply(tok, request, 1024);
    EXPECT_EQ(reply.add('a').text, "a");
    EXPECT_EQ(reply.add(0xC3).text, "");
    const ReplyBuilder::Step last = reply.add(0xA9);
    EXPECT_EQ(last.text, "\xC3\xA9");
    EXPECT_EQ(last.stop, StopReason::MaxTokens);
}

TEST(Reply, AReplyCutInTheMiddleOfACharacterDropsItsFirstBytes) {
    const tokenizer::Tokenizer tok = byte_tokens();
    for (const bool by_limit : {true, false}) {
        GenerateRequest request;
        request.max_tokens = by_limit ? 3 : 100;
        ReplyBuilder reply(tok, request, 1024);
        std::string text = reply.add('a').text;
        text += reply.add(0xE3).text;  // the first two bytes of U+3053
        ReplyBuilder::Step last = reply.add(0x81);
        if (!by_limit) {
            EXPECT_FALSE(last.stop);
            text += last.text;
            last = reply.add(256);
        }
        text += last.text;
        EXPECT_EQ(text, "a");
        EXPECT_EQ(last.stop, by_limit ? StopReason::MaxTokens : StopReason::EndOfGeneration);
        EXPECT_EQ(reply.result().output.size(), 3u);
    }
}

}  // namespace
}  // namespace pensieve::engine
