// `pre_tokenize_words NAME`: the pre-tokenizer named NAME (a
// `tokenizer.ggml.pre` value) applied to each stdin line (hex-encoded text);
// prints one line per text: the end of each word, in code points,
// space-separated. The reference tests compare these word boundaries with
// Hugging Face `tokenizers` (tests/reference/tokenizer/), which ids alone
// can hide when no merge crosses the boundary.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace {

bool from_hex(const std::string& line, std::string& out) {
    if (line.size() % 2 != 0) return false;
    out.clear();
    for (size_t i = 0; i < line.size(); i += 2) {
        unsigned v = 0;
        if (std::sscanf(line.c_str() + i, "%2x", &v) != 1) return false;
        out.push_back(static_cast<char>(v));
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace pensieve::tokenizer;
    if (argc != 2) {
        std::fprintf(stderr, "usage: pre_tokenize_words NAME < hex-lines\n");
        return 2;
    }
    const auto pre = pre_tokenizer_from_name(argv[1]);
    if (!pre) {
        std::fprintf(stderr, "unknown pre-tokenizer %s\n", argv[1]);
        return 2;
    }
    std::string line, text;
    std::vector<Span> words, scratch;
    while (std::getline(std::cin, line)) {
        if (!from_hex(line, text)) {
            std::fprintf(stderr, "stdin line is not hex\n");
            return 1;
        }
        const std::vector<uint32_t> cps = utf8::decode_lossy(text);
        pre_tokenize(*pre, cps, words, scratch);
        std::string out;
        for (size_t i = 0; i < words.size(); ++i) {
            out += (i ? " " : "") + std::to_string(words[i].end);
        }
        std::printf("%s\n", out.c_str());
    }
    return 0;
}
