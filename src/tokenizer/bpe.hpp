// Byte-level BPE on one pre-tokenized word: start from one symbol per byte
// and repeatedly apply the lowest-ranked merge among adjacent pairs
// (leftmost first on ties) until none applies.
#pragma once

#include <string_view>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace pensieve::tokenizer {

class BpeMerger {
  public:
    explicit BpeMerger(const Vocab& vocab) : vocab_(vocab) {}

    // Appends the tokens of `word` (raw UTF-8 bytes) to out.
    void encode_word(std::string_view word, std::vector<TokenId>& out);

  private:
    struct Symbol {
        TokenId id;
        int32_t prev, next;  // indices into symbols_, -1 at the ends
    };
    struct Candidate {
        int32_t rank;
        int32_t left;   // symbol index
        int32_t right;  // symbol index
        TokenId left_id, right_id, result;
    };
    void push_candidate(int32_t left, int32_t right);

    const Vocab& vocab_;
    std::vector<Symbol> symbols_;
    std::vector<Candidate> heap_;
};

}  // namespace pensieve::tokenizer
