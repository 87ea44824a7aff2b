// Prefill with prefix reuse, then the decode loop: sample → detokenize →
// stop checks → next forward.
#include "engine/session.hpp"

#include <algorithm>
#include <chrono>

#include "engine/reply.hpp"

namespace pensieve::engine {

namespace {

constexpr int32_t kSeq = 0;  // the session's one sequence

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

model::KvCacheConfig kv_config(const model::HParams& hp, int64_t n_ctx) {
    constexpr int64_t kBlockTokens = 16;
    return {hp.n_layer, hp.kv_dim(), (n_ctx + kBlockTokens - 1) / kBlockTokens, kBlockTokens};
}

}  // namespace

ContextError::ContextError(int64_t prompt, int64_t ctx)
    : std::runtime_error("prompt is " + std::to_string(prompt) +
                         " tokens long, but the context is " + std::to_string(ctx) + " tokens"),
      prompt_tokens(prompt),
      n_ctx(ctx) {}

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::EndOfGeneration:
            return "end_of_generation";
        case StopReason::MaxTokens:
            return "max_tokens";
        case StopReason::StopSequence:
            return "stop_sequence";
        case StopReason::ContextFull:
            return "context_full";
        case StopReason::Cancelled:
            return "cancelled";
    }
    return "unknown";
}

Session::Session(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                 const SessionConfig& config)
    : model_(model),
      tokenizer_(tokenizer),
      config_(config),
      pool_(config.n_threads),
      kv_(kv_config(model.hparams(), config.n_ctx)),
      forward_(model, pool_, config.n_batch, config.n_ctx) {
    if (!kv_.reserve(kSeq, config.n_ctx)) throw std::logic_error("KV cache sized too small");
}

std::span<const float> Session::evaluate(std::span<const int32_t> tokens, int64_t start,
                                         bool all_logits, const std::function<bool()>& cancelled) {
    const auto n = static_cast<int64_t>(tokens.size());
    if (n == 0) throw std::invalid_argument("evaluate: no tokens");
    if (start < 0 || start + n > config_.n_ctx) throw ContextError(start + n, config_.n_ctx);
    cached_.resize(
        static_cast<size_t>(std::min<int64_t>(start, static_cast<int64_t>(cached_.size()))));
    const int64_t n_vocab = forward_.n_vocab();
    if (all_logits) all_logits_.resize(static_cast<size_t>(n * n_vocab));
    std::span<const float> last;
    for (int64_t off = 0; off < n; off += config_.n_batch) {
        if (cancelled && cancelled()) return {};
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
        cached_.insert(cached_.end(), tokens.begin() + off, tokens.begin() + off + len);
    }
    if (all_logits) return all_logits_;
    return last;
}

GenerateResult Session::generate(const GenerateRequest& request,
                                 const std::function<bool(std::string_view)>& on_text) {
    GenerateResult result;
    const auto& prompt = request.prompt;
    result.prompt_tokens = static_cast<int64_t>(prompt.size());
    if (prompt.empty()) throw std::invalid_argument("empty prompt");
    if (result.prompt_tokens >= config_.n_ctx)
        throw ContextError(result.prompt_tokens, config_.n_ctx);

    // Reuse the KV of the common prefix; at least the last prompt token is
    // evaluated again, since its logits are needed.
    size_t common = 0;
    while (common < cached_.size() && common + 1 < prompt.size() &&
           cached_[common] == prompt[common]) {
        ++common;
    }
    result.cached_tokens = static_cast<int64_t>(common);
    const auto t0 = std::chrono::steady_clock::now();
    std::span<const float> logits = evaluate(
        std::span(prompt).subspan(common), static_cast<int64_t>(common), false, request.cancelled);
    result.prefill_seconds = seconds_since(t0);

    const auto t1 = std::chrono::steady_clock::now();
    Sampler sampler(request.sampling);
    ReplyBuilder reply(tokenizer_, request, config_.n_ctx);
    std::vector<int32_t> history(prompt.begin(), prompt.end());
    auto finish = [&](StopReason reason) {
        GenerateResult out = std::move(reply.result());
        out.reason = reason;
        out.cached_tokens = result.cached_tokens;
        out.prefill_seconds = result.prefill_seconds;
        out.decode_seconds = seconds_since(t1);
        return out;
    };
    for (;;) {
        if (logits.empty()) return finish(StopReason::Cancelled);  // evaluate saw the cancel
        const int32_t token = sampler.sample(logits, history);
        const ReplyBuilder::Step step = reply.add(token);
        if (!step.text.empty() && !on_text(step.text)) return finish(StopReason::Cancelled);
        if (step.stop) return finish(*step.stop);
        history.push_back(token);
        logits = evaluate(std::span(&token, 1), static_cast<int64_t>(history.size()) - 1, false,
                          request.cancelled);
    }
}

}  // namespace pensieve::engine
