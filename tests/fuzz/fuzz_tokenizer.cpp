// libFuzzer entry point for the tokenizers: arbitrary bytes are encoded by a
// SentencePiece vocabulary (llama-spm) and a byte-level BPE one (gpt-2), with
// control tokens recognised (Specials::Parse) and not (Specials::AsText), then
// decoded whole and through the StreamDecoder. Besides never crashing or
// hanging, the results must agree:
// - every id is in the vocabulary, and client text (AsText) never yields a
//   control token;
// - the streamed pieces are valid UTF-8 and add up to the whole decode;
// - byte-level BPE loses nothing: decoding gives back the (repaired) input.
// Every pre-tokenizer (o200k and Tekken included, which no vocabulary here
// names) also splits the input's code points into non-empty words that
// cover it in order.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/stream_decoder.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace {

using namespace pensieve::tokenizer;

const Tokenizer& spm() {
    static const Tokenizer t = Tokenizer::from_file(std::string(PENSIEVE_SOURCE_DIR) +
                                                    "/tests/data/vocab/ggml-vocab-llama-spm.gguf");
    return t;
}

const Tokenizer& bpe() {
    static const Tokenizer t = Tokenizer::from_file(std::string(PENSIEVE_SOURCE_DIR) +
                                                    "/tests/data/vocab/ggml-vocab-gpt-2.gguf");
    return t;
}

[[noreturn]] void fail(const char* what, std::string_view text) {
    std::fprintf(stderr, "fuzz_tokenizer: %s (input of %zu bytes)\n", what, text.size());
    std::abort();
}

void check(const Tokenizer& tok, std::string_view text, Specials specials, bool lossless) {
    const std::vector<TokenId> ids = tok.encode(text, specials);
    for (const TokenId id : ids) {
        if (id < 0 || static_cast<size_t>(id) >= tok.size()) fail("id out of range", text);
        if (specials == Specials::AsText && tok.is_control(id)) {
            fail("client text produced a control token", text);
        }
    }
    const std::string whole = tok.decode(ids);
    StreamDecoder stream(tok);
    std::string streamed;
    for (const TokenId id : ids) {
        const std::string piece = stream.push(id);
        if (!utf8::is_valid(piece)) fail("a streamed piece is not valid UTF-8", text);
        streamed += piece;
    }
    streamed += stream.flush();
    if (streamed != utf8::make_valid(whole)) fail("streamed text differs from decode()", text);
    if (lossless && specials == Specials::AsText && whole != utf8::make_valid(text)) {
        fail("decode(encode(text)) differs from text", text);
    }
    // Control tokens rendered as text: ids of any kind decode without error.
    (void)tok.decode(ids, DecodeOptions{.render_control = true});
}

// One name per PreTokenizer value.
constexpr const char* kPreTokenizers[] = {"gpt-2",        "llama3",         "qwen2",  "smollm",
                                          "deepseek-llm", "deepseek-coder", "falcon", "default",
                                          "gpt-4o",       "tekken"};

void check_pre_tokenizers(std::string_view text) {
    const std::vector<uint32_t> cps = utf8::decode_lossy(text);
    std::vector<Span> words, scratch;
    for (const char* name : kPreTokenizers) {
        const auto pre = pre_tokenizer_from_name(name);
        if (!pre) fail("a pre-tokenizer name is unknown", text);
        pre_tokenize(*pre, cps, words, scratch);
        uint32_t at = 0;
        for (const Span& w : words) {
            if (w.begin != at || w.end <= w.begin) fail("pre-tokenizer words do not tile", text);
            at = w.end;
        }
        if (at != cps.size()) fail("pre-tokenizer words do not cover the text", text);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const Specials specials : {Specials::AsText, Specials::Parse}) {
        check(spm(), text, specials, false);
        check(bpe(), text, specials, true);
    }
    check_pre_tokenizers(text);
    return 0;
}
