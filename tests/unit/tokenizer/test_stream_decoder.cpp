// The streaming decoder never splits a UTF-8 character across two emitted
// pieces, always emits valid UTF-8, and ends with the same text as decode().
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "tokenizer/stream_decoder.hpp"
#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

Tokenizer tiny_bytes() {
    const auto w = testing::tiny_byte_level_vocab({}, {});
    const std::vector<uint8_t> bytes = w.to_bytes();
    return Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
}

std::vector<TokenId> byte_ids(std::string_view s) {
    std::vector<TokenId> ids;
    for (const char c : s) ids.push_back(static_cast<uint8_t>(c));
    return ids;
}

TEST(StreamDecoder, HoldsBytesUntilTheCharacterIsComplete) {
    const Tokenizer tok = tiny_bytes();  // one token per byte
    StreamDecoder dec(tok);
    const std::string text = "aé🎉";
    std::vector<std::string> pieces;
    for (const TokenId id : byte_ids(text)) pieces.push_back(dec.push(id));
    EXPECT_EQ(pieces, (std::vector<std::string>{"a", "", "é", "", "", "", "🎉"}));
    EXPECT_EQ(dec.flush(), "");
}

TEST(StreamDecoder, EveryPieceIsValidUtf8AndTheWholeMatchesDecode) {
    const Tokenizer tok = tiny_bytes();
    const std::string text =
        "x\xF0\x9F\x8E"
        "y\xE2\x82\xAC\xFF z\xC3";  // broken and whole chars
    StreamDecoder dec(tok);
    std::string all;
    for (const TokenId id : byte_ids(text)) {
        const std::string piece = dec.push(id);
        EXPECT_TRUE(utf8::is_valid(piece));
        all += piece;
    }
    all += dec.flush();
    EXPECT_EQ(all, utf8::make_valid(tok.decode(byte_ids(text))));
}

TEST(StreamDecoder, SentencePieceDropsTheAddedLeadingSpaceOnce) {
    const auto gguf = testing::vocab_dir() / "ggml-vocab-llama-spm.gguf";
    ASSERT_TRUE(std::filesystem::exists(gguf)) << gguf;
    const Tokenizer tok = Tokenizer::from_file(gguf);
    const std::string text = "Hello world, ünïcödé 🦙 ok";
    const auto ids = tok.encode(text, Specials::AsText);
    StreamDecoder dec(tok);
    std::string all;
    for (const TokenId id : ids) {
        const std::string piece = dec.push(id);
        EXPECT_TRUE(utf8::is_valid(piece));
        all += piece;
    }
    EXPECT_EQ(all + dec.flush(), text);
    EXPECT_EQ(tok.decode(ids), text);
}

}  // namespace
}  // namespace pensieve::tokenizer
