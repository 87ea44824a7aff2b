// Stage lists per pre-tokenizer (the split regexes of each vocabulary, as
// documented by llama.cpp's llama-vocab.cpp and the models' tokenizer.json),
// and the driver that applies them.
#include "tokenizer/pre_tokenizer.hpp"

#include <array>
#include <string>

#include "tokenizer/scanners.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {
namespace {

struct Stages {
    std::array<scan::Matcher, 6> m{};
    size_t count = 0;
};

Stages stages_of(PreTokenizer p) {
    using namespace scan;
    switch (p) {
        case PreTokenizer::Gpt2:
            return {{gpt2}, 1};
        case PreTokenizer::Llama3:
            return {{llama3}, 1};
        case PreTokenizer::Qwen2:
            return {{qwen2}, 1};
        case PreTokenizer::DigitsThenGpt2:
            return {{one_number, gpt2}, 2};
        case PreTokenizer::DeepseekLlm:
            return {{one_newline, deepseek_cased_letters, deepseek_punct, trailing_space, cjk_run,
                     number_run},
                    6};
        case PreTokenizer::DeepseekCoder:
            return {{one_newline, space_letters, space_punct, cjk_run, one_number}, 5};
        case PreTokenizer::Falcon:
            return {{falcon_punct, gpt2, three_ascii_digits}, 3};
        case PreTokenizer::Default:
            return {{default_punct, gpt2, number_run, three_ascii_digits}, 4};
        case PreTokenizer::Gpt4o:
            return {{gpt4o}, 1};
        case PreTokenizer::Tekken:
            return {{tekken}, 1};
    }
    return {{gpt2}, 1};
}

// Splits one piece with one matcher, appending matches and gaps to out.
void split(scan::Matcher m, const uint32_t* cps, Span piece, std::vector<Span>& out) {
    if (m == scan::trailing_space) {
        // \s+$ can only match the whitespace run that ends the piece: find its
        // start directly instead of trying every position (quadratic).
        uint32_t start = piece.end;
        while (start > piece.begin && unicode::is_whitespace(cps[start - 1])) --start;
        if (start == piece.end) {
            out.push_back(piece);
            return;
        }
        if (start > piece.begin) out.push_back({piece.begin, start});
        out.push_back({start, piece.end});
        return;
    }
    uint32_t gap = piece.begin;
    uint32_t pos = piece.begin;
    while (pos < piece.end) {
        const size_t n = m(cps, pos, piece.end);
        if (n == 0) {
            ++pos;
            continue;
        }
        if (gap < pos) out.push_back({gap, pos});
        out.push_back({pos, static_cast<uint32_t>(pos + n)});
        pos += static_cast<uint32_t>(n);
        gap = pos;
    }
    if (gap < piece.end) out.push_back({gap, piece.end});
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name) {
    struct Entry {
        std::string_view name;
        PreTokenizer p;
    };
    static constexpr Entry kNames[] = {
        {"gpt-2", PreTokenizer::Gpt2},
        {"gpt2", PreTokenizer::Gpt2},
        {"mpt", PreTokenizer::Gpt2},
        {"olmo", PreTokenizer::Gpt2},
        {"jais", PreTokenizer::Gpt2},
        {"trillion", PreTokenizer::Gpt2},
        {"llama-bpe", PreTokenizer::Llama3},
        {"llama3", PreTokenizer::Llama3},
        {"dbrx", PreTokenizer::Llama3},
        {"smaug-bpe", PreTokenizer::Llama3},
        {"qwen2", PreTokenizer::Qwen2},
        {"stablelm2", PreTokenizer::Qwen2},
        {"smollm", PreTokenizer::DigitsThenGpt2},
        {"starcoder", PreTokenizer::DigitsThenGpt2},
        {"refact", PreTokenizer::DigitsThenGpt2},
        {"command-r", PreTokenizer::DigitsThenGpt2},
        {"codeshell", PreTokenizer::DigitsThenGpt2},
        {"exaone", PreTokenizer::DigitsThenGpt2},
        {"minerva-7b", PreTokenizer::DigitsThenGpt2},
        {"deepseek-llm", PreTokenizer::DeepseekLlm},
        {"deepseek-coder", PreTokenizer::DeepseekCoder},
        {"falcon", PreTokenizer::Falcon},
        {"default", PreTokenizer::Default},
        {"gpt-4o", PreTokenizer::Gpt4o},
        {"tekken", PreTokenizer::Tekken},
    };
    for (const Entry& e : kNames) {
        if (e.name == name) return e.p;
    }
    return std::nullopt;
}

bool ignores_merges(PreTokenizer p) {
    return p == PreTokenizer::Llama3;
}

void pre_tokenize(PreTokenizer p, std::span<const uint32_t> cps, std::vector<Span>& out,
                  std::vector<Span>& scratch) {
    out.clear();
    if (cps.empty()) return;
    out.push_back({0, static_cast<uint32_t>(cps.size())});
    const Stages stages = stages_of(p);
    for (size_t s = 0; s < stages.count; ++s) {
        scratch.clear();
        for (const Span& piece : out) split(stages.m[s], cps.data(), piece, scratch);
        out.swap(scratch);
    }
}

}  // namespace pensieve::tokenizer
