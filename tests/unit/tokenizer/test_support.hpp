// Shared helpers for the tokenizer tests: where the test vocabularies and
// the real models live, and the vocab test-vector file format.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../test_models.hpp"
#include "tokenizer/vocab.hpp"

namespace pensieve::tokenizer::testing {

using pensieve::testing::kGemma3;
using pensieve::testing::kSmolLm;
using pensieve::testing::model_path;

inline std::filesystem::path vocab_dir() {
    return std::filesystem::path(PENSIEVE_SOURCE_DIR) / "tests" / "data" / "vocab";
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// <name>.gguf.inp: text + "\n__ggml_vocab_test__\n", repeated.
inline std::vector<std::string> read_inputs(const std::filesystem::path& p) {
    const std::string all = read_file(p);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < all.size()) {
        const size_t next = all.find(sep, pos);
        if (next == std::string::npos) break;
        out.push_back(all.substr(pos, next - pos));
        pos = next + sep.size();
    }
    return out;
}

// <name>.gguf.out: one line of space-separated ids per input.
inline std::vector<std::vector<TokenId>> read_outputs(const std::filesystem::path& p) {
    std::istringstream in(read_file(p));
    std::vector<std::vector<TokenId>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::vector<TokenId> ids;
        long v;
        while (ls >> v) ids.push_back(static_cast<TokenId>(v));
        out.push_back(ids);
    }
    return out;
}

}  // namespace pensieve::tokenizer::testing

#include "gguf/writer.hpp"

namespace pensieve::tokenizer::testing {

// A small byte-level BPE vocabulary written as GGUF metadata: the 256 byte
// tokens (ids 0..255, in byte order), then `extra` tokens of the given types,
// and merges "a b" (each "ab" must be among the tokens).
struct TinyToken {
    std::string text;
    int32_t type = 1;  // TokenType::Normal
};

inline gguf::GgufWriter tiny_byte_level_vocab(const std::vector<TinyToken>& extra,
                                              const std::vector<std::string>& merges) {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
        // GPT-2's byte -> code point mapping, inlined so the test does not
        // depend on the code under test.
        const bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        const uint32_t cp = self ? static_cast<uint32_t>(b) : next++;
        std::string s;
        if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
        } else {
            s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
        tokens.push_back(s);
        types.push_back(1);
    }
    for (const TinyToken& t : extra) {
        tokens.push_back(t.text);
        types.push_back(t.type);
    }
    gguf::GgufWriter w;
    w.set("general.architecture", std::string("llama"));
    w.set("tokenizer.ggml.model", std::string("gpt2"));
    w.set("tokenizer.ggml.pre", std::string("gpt-2"));
    w.set("tokenizer.ggml.tokens", gguf::make_array(tokens));
    w.set("tokenizer.ggml.token_type", gguf::make_array(types));
    w.set("tokenizer.ggml.merges", gguf::make_array(merges));
    return w;
}

}  // namespace pensieve::tokenizer::testing
