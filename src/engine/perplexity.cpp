// Chunked perplexity with log-softmax in double precision.
#include "engine/perplexity.hpp"

#include <cmath>
#include <stdexcept>

namespace pensieve::engine {

namespace {

// -log p(target) under softmax(logits).
double nll(std::span<const float> logits, int32_t target) {
    float max_logit = logits[0];
    for (float l : logits) max_logit = std::max(max_logit, l);
    double sum = 0;
    for (float l : logits) sum += std::exp(static_cast<double>(l - max_logit));
    return std::log(sum) - static_cast<double>(logits[static_cast<size_t>(target)] - max_logit);
}

}  // namespace

PerplexityResult perplexity(Evaluator& evaluator, std::span<const int32_t> tokens, int64_t n_ctx,
                            std::optional<int32_t> bos,
                            const std::function<void(const PerplexityChunk&)>& on_chunk) {
    if (n_ctx < 8 || n_ctx > evaluator.n_ctx()) {
        throw std::invalid_argument("perplexity context must be 8.." +
                                    std::to_string(evaluator.n_ctx()));
    }
    const auto n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
    if (n_chunks == 0) {
        throw std::invalid_argument("the text has " + std::to_string(tokens.size()) +
                                    " tokens, fewer than one chunk of " + std::to_string(n_ctx));
    }
    const int64_t n_vocab = evaluator.n_vocab();
    PerplexityResult result;
    double total_nll = 0;
    std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
        if (bos) chunk[0] = *bos;
        const std::span<const float> logits = evaluator.evaluate(chunk, 0, /*all_logits=*/true);
        double chunk_nll = 0;
        const int64_t first = n_ctx / 2;
        for (int64_t i = first; i < n_ctx - 1; ++i) {
            chunk_nll +=
                nll(logits.subspan(static_cast<size_t>(i * n_vocab), static_cast<size_t>(n_vocab)),
                    tokens[static_cast<size_t>(c * n_ctx + i + 1)]);
        }
        const int64_t scored = n_ctx - 1 - first;
        total_nll += chunk_nll;
        result.scored_tokens += scored;
        result.chunks = c + 1;
        on_chunk({c, chunk_nll / static_cast<double>(scored),
                  std::exp(total_nll / static_cast<double>(result.scored_tokens))});
    }
    result.perplexity = std::exp(total_nll / static_cast<double>(result.scored_tokens));
    return result;
}

}  // namespace pensieve::engine
