// OpenAI request bodies (POST /v1/chat/completions and /v1/completions)
// translated into the normalised conversation every route generates from
// (api::MessagesRequest): system/developer messages become the system
// prompt, assistant tool_calls become tool_use blocks (their JSON-string
// arguments parsed), tool messages become tool_result blocks, functions
// become tools with an input_schema, response_format becomes the structured
// output schema. The translated body is then checked by the same validation
// as an Anthropic one, within the same bounds (api/limits.hpp). What the
// server cannot honour (n > 1, logprobs, image or audio parts, echo) is a 400
// naming the field, never silently ignored.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "api/limits.hpp"
#include "api/messages_request.hpp"

namespace pensieve::api {

struct OpenAiRequest {
    MessagesRequest core;        // what the shared generation path runs
    bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
};

// POST /v1/chat/completions. Throws ApiError (400) as parse_messages_request.
OpenAiRequest parse_chat_completions_request(std::string_view body,
                                             const RequestLimits& limits = {});

// POST /v1/completions: a raw prompt, no chat template.
OpenAiRequest parse_completions_request(std::string_view body, const RequestLimits& limits = {});

// The same over bodies already parsed within `limits` (the Ollama dialect
// translates its bodies into these).
OpenAiRequest chat_completions_from_json(const nlohmann::ordered_json& body,
                                         const RequestLimits& limits = {});
OpenAiRequest completions_from_json(const nlohmann::ordered_json& body,
                                    const RequestLimits& limits = {});

// An error message of the shared validation with the Anthropic fields it
// names ("stop_sequences.0: ...", "tools.2.input_schema: ...") spelled as the
// OpenAI body has them ("stop.0", "tools.2.function.parameters"); messages
// that name OpenAI fields already are returned as they are.
std::string openai_field_names(std::string message);

// OpenAI's legacy completions default when max_tokens is absent.
inline constexpr int64_t kCompletionsDefaultMaxTokens = 16;

}  // namespace pensieve::api
