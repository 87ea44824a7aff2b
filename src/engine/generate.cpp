// Names and messages for the generation vocabulary.
#include "engine/generate.hpp"

namespace pensieve::engine {

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

}  // namespace pensieve::engine
