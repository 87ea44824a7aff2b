// Pre-tokenizer scanners: each one is a hand-written matcher for one of the
// split regexes used by byte-level BPE vocabularies. A matcher looks at code
// points cps[pos..end) and returns the length of the regex's match starting
// exactly at pos (0 = no match there), with the regex's own alternation
// order, greediness and backtracking reproduced. They run in time linear in
// what they examine and never recurse.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::tokenizer::scan {

using Matcher = size_t (*)(const uint32_t* cps, size_t pos, size_t end);

// GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t gpt2(const uint32_t* cps, size_t pos, size_t end);

// Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t llama3(const uint32_t* cps, size_t pos, size_t end);
// Qwen2: the Llama 3 regex with \p{N} (single digits) instead of \p{N}{1,3}.
size_t qwen2(const uint32_t* cps, size_t pos, size_t end);

// o200k ("gpt-4o": Phi-4-mini), with C = (?i:'s|'t|'re|'ve|'m|'ll|'d):
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+C?|
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*C?|
//   \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t gpt4o(const uint32_t* cps, size_t pos, size_t end);
// Tekken (Mistral Nemo, Small 3, Ministral): the same without the C? and
// with \p{N} (single digits) instead of \p{N}{1,3}.
size_t tekken(const uint32_t* cps, size_t pos, size_t end);

size_t one_number(const uint32_t* cps, size_t pos, size_t end);          // \p{N}
size_t number_run(const uint32_t* cps, size_t pos, size_t end);          // \p{N}+
size_t three_ascii_digits(const uint32_t* cps, size_t pos, size_t end);  // [0-9]{3}
size_t one_newline(const uint32_t* cps, size_t pos, size_t end);         // [\r\n]

// Falcon: [\p{P}\$\+<=>\^~\|`]+   Default: the same without the backquote.
size_t falcon_punct(const uint32_t* cps, size_t pos, size_t end);
size_t default_punct(const uint32_t* cps, size_t pos, size_t end);

// DeepSeek: \s?\p{L}+ and \s?\p{P}+ (coder); the LLM vocabulary's explicit
// cased-letter and ASCII/CJK-punctuation classes; the CJK run class
// [一-龥ࠀ-一가-퟿]+; and \s+$ (a whitespace run that reaches the end).
size_t space_letters(const uint32_t* cps, size_t pos, size_t end);
size_t space_punct(const uint32_t* cps, size_t pos, size_t end);
size_t deepseek_cased_letters(const uint32_t* cps, size_t pos, size_t end);
size_t deepseek_punct(const uint32_t* cps, size_t pos, size_t end);
size_t cjk_run(const uint32_t* cps, size_t pos, size_t end);
size_t trailing_space(const uint32_t* cps, size_t pos, size_t end);

}  // namespace pensieve::tokenizer::scan
