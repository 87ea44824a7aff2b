// One sequence through the forward pass, n_batch tokens per call.
#include "engine/evaluator.hpp"

#include <algorithm>
#include <stdexcept>

namespace pensieve::engine {

namespace {

constexpr int32_t kSeq = 0;  // the evaluator's one sequence

model::KvCacheConfig kv_config(const model::HParams& hp, const EvaluatorConfig& config) {
    return {hp.n_layer, hp.n_head_kv, hp.head_dim, model::KvCache::blocks_for(config.n_ctx),
            config.kv_type};
}

}  // namespace

Evaluator::Evaluator(const model::Model& model, const EvaluatorConfig& config)
    : config_(config),
      pool_(config.n_threads),
      kv_(kv_config(model.hparams(), config)),
      forward_(model, pool_, config.n_batch, config.n_ctx) {
    if (!kv_.reserve(kSeq, config.n_ctx)) throw std::logic_error("KV cache sized too small");
}

std::span<const float> Evaluator::evaluate(std::span<const int32_t> tokens, int64_t start,
                                           bool all_logits) {
    const auto n = static_cast<int64_t>(tokens.size());
    if (n == 0) throw std::invalid_argument("evaluate: no tokens");
    if (start < 0 || start + n > config_.n_ctx) throw ContextError(start + n, config_.n_ctx);
    const int64_t n_vocab = forward_.n_vocab();
    if (all_logits) all_logits_.resize(static_cast<size_t>(n * n_vocab));
    std::span<const float> last;
    for (int64_t off = 0; off < n; off += config_.n_batch) {
        const int64_t len = std::min(config_.n_batch, n - off);
        batch_.clear();
        for (int64_t i = off; i < off + len; ++i) {
            const bool want = all_logits || i == n - 1;
            batch_.push_back(
                {tokens[static_cast<size_t>(i)], static_cast<int32_t>(start + i), kSeq, want});
        }
        last = forward_.run(batch_, kv_);
        if (all_logits) {
            std::copy(last.begin(), last.end(), all_logits_.begin() + off * n_vocab);
        }
    }
    if (all_logits) return all_logits_;
    return last;
}

}  // namespace pensieve::engine
