// The vocabulary of generation, shared by everything that asks for it (the
// CLI, the server's job channel, the API dialects) and the scheduler that
// does it: one request, one result, why it stopped. There is one generation
// path, engine::Scheduler; these types are its interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/grammar/token_constraint.hpp"
#include "engine/sampler.hpp"

namespace pensieve::engine {

// A prompt that does not fit the context: names both numbers.
class ContextError : public std::runtime_error {
  public:
    ContextError(int64_t prompt_tokens, int64_t n_ctx);
    int64_t prompt_tokens;
    int64_t n_ctx;
};

enum class StopReason {
    EndOfGeneration,  // the model produced an end-of-generation token
    MaxTokens,
    StopSequence,
    ContextFull,
    Cancelled,  // the caller cancelled (text callback returned false, or `cancelled`)
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
    // Constrained decoding (tool calls, structured output): restricts each
    // sampled token; null: unconstrained. Used by this request's sequence only.
    std::shared_ptr<grammar::TokenConstraint> constraint;
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

}  // namespace pensieve::engine
