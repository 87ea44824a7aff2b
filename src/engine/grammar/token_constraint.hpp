// What the scheduler asks of constrained decoding, one object per sequence:
// which tokens may come next, and which one was chosen. The scheduler knows
// nothing else about grammars or tool calls; call_constraint.hpp is the
// implementation the API uses.
#pragma once

#include <cstdint>
#include <span>

#include "tokenizer/tokenizer.hpp"

namespace pensieve::grammar {

class TokenConstraint {
  public:
    virtual ~TokenConstraint() = default;
    // Before sampling: fills `allowed` (one bit per token id, vocabulary
    // words; ids past it are never allowed) and returns true, or returns false
    // when any token may come next (`allowed` is then left as it was).
    virtual bool fill_mask(std::span<uint64_t> allowed) = 0;
    // After sampling: the token chosen.
    virtual void accept(tokenizer::TokenId id) = 0;
    // Words `allowed` must hold.
    virtual size_t mask_words() const = 0;
};

}  // namespace pensieve::grammar
