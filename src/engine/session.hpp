// One conversation's worth of generation on one sequence: prefill a prompt
// (reusing the KV entries of the longest prefix it shares with the previous
// prompt), then sample, detokenize and stop. The CLI's run/chat/bench/
// perplexity use it directly; the server's scheduler (engine/scheduler, a
// later issue) batches many sequences instead.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.hpp"
#include "kernels/thread_pool.hpp"
#include "model/forward.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::engine {

// A prompt that does not fit the context: names both numbers.
class ContextError : public std::runtime_error {
  public:
    ContextError(int64_t prompt_tokens, int64_t n_ctx);
    int64_t prompt_tokens;
    int64_t n_ctx;
};

struct SessionConfig {
    int64_t n_ctx = 4096;   // tokens of context (prompt + output)
    int64_t n_batch = 256;  // prompt tokens per forward call
    int n_threads = 0;      // 0: PENSIEVE_THREADS or all hardware threads
};

enum class StopReason {
    EndOfGeneration,  // the model produced an end-of-generation token
    MaxTokens,
    StopSequence,
    ContextFull,
    Cancelled,  // the text callback returned false
};
std::string_view stop_reason_name(StopReason reason);

struct GenerateRequest {
    std::vector<int32_t> prompt;
    SamplingParams sampling;
    int64_t max_tokens = 256;
    std::vector<std::string> stop;  // stop strings (not included in the output)
    // Polled before every forward step (prefill chunks included); returning
    // true cancels, so a vanished client costs at most one step.
    std::function<bool()> cancelled;
};

struct GenerateResult {
    StopReason reason = StopReason::EndOfGeneration;
    std::optional<std::string> stop_sequence;
    std::vector<int32_t> output;  // generated ids (the end-of-generation token excluded)
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;   // prompt tokens whose KV was reused
    double prefill_seconds = 0;  // prompt evaluation up to the first logits
    double decode_seconds = 0;   // the rest
};

class Session {
  public:
    Session(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
            const SessionConfig& config);

    // Streams text pieces (valid UTF-8, stop strings held back) to on_text;
    // returning false from on_text cancels. Throws ContextError when the
    // prompt leaves no room to generate.
    GenerateResult generate(const GenerateRequest& request,
                            const std::function<bool(std::string_view)>& on_text);

    // Evaluates tokens at positions [start, start + n) of the sequence and
    // returns logits [n][n_vocab] for all of them (all_logits) or only the
    // last row. Positions >= start are overwritten; earlier ones are kept.
    std::span<const float> evaluate(std::span<const int32_t> tokens, int64_t start, bool all_logits,
                                    const std::function<bool()>& cancelled = nullptr);

    void reset() { cached_.clear(); }
    int64_t n_ctx() const { return config_.n_ctx; }
    int64_t n_vocab() const { return forward_.n_vocab(); }
    kernels::ThreadPool& pool() { return pool_; }

  private:
    const model::Model& model_;
    const tokenizer::Tokenizer& tokenizer_;
    SessionConfig config_;
    kernels::ThreadPool pool_;
    model::KvCache kv_;
    model::Forward forward_;
    std::vector<int32_t> cached_;  // tokens whose K/V sit at positions 0..size-1
    std::vector<model::BatchToken> batch_;
    std::vector<float> all_logits_;  // [n][n_vocab] when evaluate() wants every row
};

}  // namespace pensieve::engine
