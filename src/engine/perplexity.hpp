// Perplexity the standard way (as llama.cpp's perplexity tool): the token
// stream is cut into non-overlapping chunks of n_ctx tokens, each evaluated
// from an empty context, and only the second half of each chunk is scored
// (so every scored token has at least n_ctx/2 tokens of context).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "engine/evaluator.hpp"

namespace pensieve::engine {

struct PerplexityChunk {
    int64_t index = 0;
    double chunk_nll = 0;    // mean negative log-likelihood of this chunk's scored tokens
    double running_ppl = 0;  // perplexity over all chunks so far
};

struct PerplexityResult {
    double perplexity = 0;
    int64_t chunks = 0;
    int64_t scored_tokens = 0;
};

// `bos`: when set, the first token of each chunk is replaced by it (the model
// was trained with a BOS at the start). Throws std::invalid_argument when the
// text is shorter than one chunk or n_ctx exceeds the evaluator's context.
PerplexityResult perplexity(Evaluator& evaluator, std::span<const int32_t> tokens, int64_t n_ctx,
                            std::optional<int32_t> bos,
                            const std::function<void(const PerplexityChunk&)>& on_chunk);

}  // namespace pensieve::engine
