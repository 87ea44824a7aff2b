// SentencePiece-style BPE (the `llama` tokenizer model): start from one
// symbol per UTF-8 character and repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring vocabulary entry (leftmost on ties);
// characters left without a token fall back to <0xHH> byte tokens.
#pragma once

#include <string_view>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace pensieve::tokenizer {

class SpmMerger {
  public:
    // max_token_bytes: length of the longest token text (no merge can exceed it).
    SpmMerger(const Vocab& vocab, size_t max_token_bytes)
        : vocab_(vocab), max_token_bytes_(max_token_bytes) {}

    // Appends the tokens of `text` (already whitespace-escaped with U+2581,
    // valid UTF-8) to out.
    void encode(std::string_view text, std::vector<TokenId>& out);

  private:
    struct Symbol {
        uint32_t start, len;  // byte range in the text; len 0 once merged away
        int32_t prev, next;
    };
    struct Candidate {
        float score;
        int32_t left, right;
        uint32_t len;  // combined byte length when pushed (stale check)
    };
    void push_candidate(std::string_view text, int32_t left, int32_t right);

    const Vocab& vocab_;
    size_t max_token_bytes_;
    std::vector<Symbol> symbols_;
    std::vector<Candidate> heap_;
};

}  // namespace pensieve::tokenizer
