// Pre-tokenization for byte-level BPE: splits text (as code points) into
// words that BPE then encodes independently. The rules are chosen by the
// vocabulary's `tokenizer.ggml.pre`; each is a sequence of split stages,
// every stage re-splitting each piece of the previous one, matches and the
// gaps between them both kept (the "Isolated" split of the reference).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace pensieve::tokenizer {

enum class PreTokenizer {
    Gpt2,            // gpt-2, mpt, olmo, jais, trillion
    Llama3,          // llama-bpe, llama3, dbrx, smaug
    Qwen2,           // qwen2, stablelm2
    DigitsThenGpt2,  // smollm, starcoder, refact, command-r, codeshell, exaone, minerva
    DeepseekLlm,     // deepseek-llm
    DeepseekCoder,   // deepseek-coder
    Falcon,          // falcon
    Default,         // "default" (llama.cpp's fallback for byte-level vocabularies)
    Gpt4o,           // gpt-4o (o200k: Phi-4-mini)
    Tekken,          // tekken (Mistral Nemo, Mistral Small 3, Ministral 8B)
};

// nullopt for a name this build does not know.
std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name);

// Whether BPE should look a whole word up in the vocabulary before merging
// (Llama 3's tokenizer sets ignore_merges).
bool ignores_merges(PreTokenizer p);

struct Span {
    uint32_t begin;  // index of the first code point
    uint32_t end;    // one past the last
};

// Splits cps into consecutive non-empty words covering all of it. `out` is
// cleared first; `scratch` is reused storage.
void pre_tokenize(PreTokenizer p, std::span<const uint32_t> cps, std::vector<Span>& out,
                  std::vector<Span>& scratch);

}  // namespace pensieve::tokenizer
